// The leadership survey on a phone: one tension at a time, with "Previous" and "Next" and
// where the respondent is ("Tension 3 of 7"). Without this file, or on a wider screen,
// every tension is on the one page. Nothing is sent until "Save my answers".
(function () {
  "use strict";

  var form = document.querySelector("form[data-steps]");
  if (!form) { return; }
  var steps = Array.prototype.slice.call(form.querySelectorAll("[data-step]"));
  if (steps.length < 2) { return; }
  var narrow = window.matchMedia("(max-width: 40rem)");
  var actions = form.querySelector(".form-actions");
  var current = Math.max(0, steps.findIndex(function (step) { return step.hasAttribute("data-has-errors"); }));

  function button(text, className) {
    var element = document.createElement("button");
    element.type = "button";
    element.className = "button " + className;
    element.textContent = text;
    return element;
  }

  var nav = document.createElement("div");
  nav.className = "step-nav";
  var previous = button("Previous tension", "step-previous");
  var next = button("Next tension", "step-next");
  var status = document.createElement("p");
  status.className = "step-status";
  status.setAttribute("role", "status");
  nav.appendChild(previous);
  nav.appendChild(status);
  nav.appendChild(next);

  function show(index, moveFocus) {
    current = Math.min(Math.max(index, 0), steps.length - 1);
    steps.forEach(function (step, position) { step.hidden = position !== current; });
    status.textContent = "Tension " + (current + 1) + " of " + steps.length;
    previous.disabled = current === 0;
    next.disabled = current === steps.length - 1;
    if (moveFocus) {
      var heading = steps[current].querySelector("h2");
      if (heading) { heading.focus(); }
    }
  }

  previous.addEventListener("click", function () { show(current - 1, true); });
  next.addEventListener("click", function () { show(current + 1, true); });

  function apply() {
    if (narrow.matches) {
      form.classList.add("stepping");
      form.insertBefore(nav, actions);
      show(current, false);
    } else {
      form.classList.remove("stepping");
      steps.forEach(function (step) { step.hidden = false; });
      if (nav.parentNode) { nav.parentNode.removeChild(nav); }
    }
  }

  if (narrow.addEventListener) {
    narrow.addEventListener("change", apply);
  }
  apply();
})();
