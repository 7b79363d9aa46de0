// The leadership survey on a phone: one tension at a time, with "Previous" and "Next", where
// the respondent is and whether the tension is answered or skipped ("Tension 3 of 7:
// skipped; your comment on it is kept"). Without this file, or on a wider screen, every
// tension is on the one page. Nothing is sent until "Save my answers".
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

  // Where the tension stands: answered, or skipped (its comment, if any, is kept with it).
  function state(step) {
    var answered = Array.prototype.some.call(
      step.querySelectorAll("input[type=radio]:checked"),
      function (radio) { return radio.value !== ""; }
    );
    if (answered) { return "answered"; }
    var comment = step.querySelector("textarea");
    return comment && comment.value.trim() ? "skipped; your comment on it is kept" : "skipped";
  }

  function describe() {
    status.textContent = "Tension " + (current + 1) + " of " + steps.length + ": " + state(steps[current]);
  }

  function show(index, moveFocus) {
    current = Math.min(Math.max(index, 0), steps.length - 1);
    steps.forEach(function (step, position) { step.hidden = position !== current; });
    describe();
    previous.disabled = current === 0;
    next.disabled = current === steps.length - 1;
    if (moveFocus) {
      var heading = steps[current].querySelector("h2");
      if (heading) { heading.focus(); }
    }
  }

  form.addEventListener("change", function () { if (form.classList.contains("stepping")) { describe(); } });
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
