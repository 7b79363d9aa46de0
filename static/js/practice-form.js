// Practice form enhancements. Everything works without this file: "Add another"
// buttons post the form back with one more empty row, and positions are typed in.
(function () {
  "use strict";

  function renumber(list) {
    var rows = list.querySelectorAll("[data-row]");
    rows.forEach(function (row, index) {
      var number = row.querySelector(".row-number");
      if (number) { number.textContent = String(index + 1); }
      var order = row.querySelector(".order-input");
      if (order) { order.value = String(index + 1); }
    });
  }

  function addMoveButtons(row) {
    var controls = row.querySelector(".row-controls");
    if (!controls || controls.querySelector(".move")) { return; }
    [["up", "Move up"], ["down", "Move down"]].forEach(function (pair) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button small move";
      button.textContent = pair[1];
      button.addEventListener("click", function () {
        var list = row.parentElement;
        if (pair[0] === "up" && row.previousElementSibling) {
          list.insertBefore(row, row.previousElementSibling);
        } else if (pair[0] === "down" && row.nextElementSibling) {
          list.insertBefore(row.nextElementSibling, row);
        }
        renumber(list);
        button.focus();
      });
      controls.appendChild(button);
    });
  }

  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    var prefix = button.getAttribute("data-add-row");
    var list = document.querySelector('[data-formset="' + prefix + '"]');
    var template = document.getElementById(prefix + "-template");
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    if (!list || !template || !total) { return; }
    list.querySelectorAll("[data-row]").forEach(addMoveButtons);
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var index = parseInt(total.value, 10);
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      var holder = document.createElement("div");
      holder.innerHTML = html.trim();
      var row = holder.firstElementChild;
      list.appendChild(row);
      total.value = String(index + 1);
      addMoveButtons(row);
      renumber(list);
      var first = row.querySelector("input:not([type=hidden]), textarea");
      if (first) { first.focus(); }
    });
  });

  var tagInput = document.getElementById("id_tags");
  document.querySelectorAll(".tag-suggestion").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!tagInput) { return; }
      var name = button.getAttribute("data-tag");
      var current = tagInput.value.split(",").map(function (t) { return t.trim(); }).filter(Boolean);
      if (current.indexOf(name) === -1) { current.push(name); }
      tagInput.value = current.join(", ");
    });
  });
})();
