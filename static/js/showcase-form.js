// Showcase form: sessions are added, copied a week later and removed at once. Everything
// works without this file: the same buttons post the form back and the page returns with
// the session added, copied or removed, and everything typed kept.
(function () {
  "use strict";

  var section = document.querySelector("[data-sessions]");
  if (!section) { return; }
  var rows = section.querySelector("[data-session-rows]");
  var template = document.getElementById("slots-template");
  var total = document.getElementById("id_slots-TOTAL_FORMS");
  var most = document.getElementById("id_slots-MAX_NUM_FORMS");
  var status = section.querySelector("[data-sessions-status]");
  if (!rows || !template || !total || !status) { return; }
  var DETAILS = ["starts_at", "ends_at", "capacity", "location", "notes"];

  function say(text) {
    // Emptied first so the same words twice are announced twice.
    status.textContent = "";
    window.setTimeout(function () { status.textContent = text; }, 50);
  }

  function count() { return parseInt(total.value, 10) || 0; }

  function limit() { return (most && parseInt(most.value, 10)) || 20; }

  function allRows() { return Array.prototype.slice.call(rows.querySelectorAll("[data-session-row]")); }

  function input(row, name) {
    return row.querySelector('[name$="-' + name + '"]:not([type="hidden"])');
  }

  // Saved sessions come first and keep their numbers; new ones are numbered after them.
  function renumber() {
    allRows().forEach(function (row, index) {
      if (row.getAttribute("data-session-row") !== "new") { return; }
      var legend = row.querySelector("legend");
      if (legend) { legend.textContent = "Session " + (index + 1); }
      row.querySelectorAll("[data-session-number]").forEach(function (number) {
        number.textContent = String(index + 1);
      });
    });
  }

  function reindex(row, from, to) {
    var pattern = new RegExp("slots-" + from + "-", "g");
    [row].concat(Array.prototype.slice.call(row.querySelectorAll("*"))).forEach(function (element) {
      ["name", "id", "for", "aria-describedby"].forEach(function (attribute) {
        var value = element.getAttribute(attribute);
        if (value) { element.setAttribute(attribute, value.replace(pattern, "slots-" + to + "-")); }
      });
      if (element.tagName === "BUTTON" && /_session:\d+$/.test(element.value)) {
        element.value = element.value.replace(/\d+$/, String(to));
      }
    });
    row.id = "session-" + to;
  }

  function pad(number, width) { return String(number).padStart(width || 2, "0"); }

  // The same wall-clock time seven days on, as a datetime-local field holds it.
  function aWeekLater(value) {
    var parts = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || "");
    if (!parts) { return ""; }
    var day = new Date(Date.UTC(+parts[1], +parts[2] - 1, +parts[3] + 7, +parts[4], +parts[5]));
    return pad(day.getUTCFullYear(), 4) + "-" + pad(day.getUTCMonth() + 1) + "-" + pad(day.getUTCDate()) +
      "T" + pad(day.getUTCHours()) + ":" + pad(day.getUTCMinutes());
  }

  function addRow() {
    var index = count();
    if (index >= limit()) {
      say("A showcase has at most " + limit() + " sessions.");
      return null;
    }
    var holder = document.createElement("div");
    holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index)).trim();
    var row = holder.firstElementChild;
    rows.appendChild(row);
    total.value = String(index + 1);
    renumber();
    return row;
  }

  function focusFirst(row) {
    var first = input(row, "starts_at");
    if (first) { first.focus(); }
  }

  function duplicate(source) {
    var number = allRows().indexOf(source) + 1;
    var row = addRow();
    if (!row) { return; }
    DETAILS.forEach(function (name) {
      var from = input(source, name);
      var to = input(row, name);
      if (from && to) { to.value = /_at$/.test(name) ? aWeekLater(from.value) : from.value; }
    });
    focusFirst(row);
    say("Session " + count() + " added: session " + number + " a week later. Check its details.");
  }

  function remove(row) {
    var all = allRows();
    var index = all.indexOf(row);
    if (all.length <= 1) {
      say("A showcase needs at least one session.");
      return;
    }
    row.remove();
    // Sessions after it move up one place, so the form's numbering has no gap.
    all.slice(index + 1).forEach(function (later, offset) { reindex(later, index + offset + 1, index + offset); });
    total.value = String(count() - 1);
    renumber();
    var next = allRows()[Math.min(index, allRows().length - 1)];
    if (next) { focusFirst(next); }
    say("Session " + (index + 1) + " removed.");
  }

  section.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button || !section.contains(button)) { return; }
    if (button.hasAttribute("data-add-session")) {
      event.preventDefault();
      var row = addRow();
      if (row) {
        focusFirst(row);
        say("Session " + count() + " added: fill in its details.");
      }
    } else if (button.hasAttribute("data-duplicate-session")) {
      event.preventDefault();
      duplicate(button.closest("[data-session-row]"));
    } else if (button.hasAttribute("data-remove-session")) {
      event.preventDefault();
      remove(button.closest("[data-session-row]"));
    }
  });
}());
