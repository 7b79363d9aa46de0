// Follows a OneRoster upload while a job checks or imports it, without reloading the page: a
// page that reloads itself every few seconds sends a screen reader back to the top each time
// (WCAG 2.2.1). Every few seconds the page is asked again: while the job works, only the status
// region changes (and is announced only when its words change); once the job is done, the page's
// content becomes the new page (the preview to confirm, the problems, the result) and focus moves
// to its heading. Without this file the page reloads itself (a meta refresh inside <noscript>).
(function () {
  "use strict";

  var region = document.querySelector("[data-run-poll]");
  if (!region || !window.fetch || !window.DOMParser) { return; }
  var address = region.getAttribute("data-run-poll");
  var seconds = Number(region.getAttribute("data-poll-seconds")) || 5;
  // A few missed answers in a row (the network, a restart) end the following; Refresh remains.
  var MAX_FAILURES = 3;
  var failures = 0;

  function later() {
    window.setTimeout(ask, seconds * 1000);
  }

  function showDone(fresh) {
    var main = document.getElementById("main");
    var content = fresh.getElementById("main");
    if (!main || !content) { return; }
    var active = document.activeElement;
    var focusWasHere = !active || active === document.body || main.contains(active);
    main.innerHTML = content.innerHTML;
    document.title = fresh.title;
    var heading = main.querySelector("h1");
    if (focusWasHere && heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  }

  function giveUp() {
    var note = document.createElement("p");
    note.textContent = "This page could not ask how the work goes. Use Refresh to see.";
    region.appendChild(note);
  }

  function ask() {
    window.fetch(address, { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (response) {
        // Signed out meanwhile, the answer is the sign-in page: Refresh leads there.
        if (!response.ok || response.redirected) { throw new Error("status " + response.status); }
        return response.text();
      })
      .then(function (html) {
        failures = 0;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var still = fresh.querySelector("[data-run-poll]");
        if (!still) {
          showDone(fresh);
          return;
        }
        if (still.innerHTML !== region.innerHTML) { region.innerHTML = still.innerHTML; }
        later();
      })
      .catch(function () {
        failures += 1;
        if (failures < MAX_FAILURES) { later(); } else { giveUp(); }
      });
  }

  later();
})();
