// Copy buttons for read-only fields such as the calendar address. Without this file the
// address is still in a read-only field that can be selected and copied by hand; the button
// stays hidden until this script can make it work.
(function () {
  "use strict";

  function announce(field, text) {
    var container = field.closest(".copy-field");
    var status = container && container.querySelector(".copy-status");
    if (status) { status.textContent = text; }
  }

  function copy(field) {
    field.focus();
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(field.value);
    }
    return new Promise(function (resolve, reject) {
      // Older browsers and plain-http addresses: copy the selection.
      if (document.execCommand && document.execCommand("copy")) { resolve(); } else { reject(); }
    });
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      copy(field).then(
        function () { announce(field, "Copied."); },
        function () { announce(field, "Press Ctrl+C (or Cmd+C) to copy the selected address."); }
      );
    });
  });
})();
