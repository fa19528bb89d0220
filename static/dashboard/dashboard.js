// Dashboard behaviour without a framework: confirmation dialogs and the copy button of a new secret.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
      if (dialog && typeof dialog.showModal === "function") { dialog.showModal(); }
      return;
    }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) { closer.closest("dialog").close(); return; }
    if (event.target.closest("[data-reload]")) { window.location.reload(); return; }
    var copier = event.target.closest("[data-copy]");
    if (copier) { copy(document.getElementById(copier.getAttribute("data-copy")), copier); }
  });

  function copy(input, button) {
    var state = document.getElementById("copy-state");
    function done(ok) {
      button.textContent = ok ? "Copied" : "Copy";
      if (state) { state.textContent = ok ? "Copied to the clipboard." : "Select the secret and copy it with Ctrl+C."; }
    }
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(function () { done(true); }, function () { done(document.execCommand("copy")); });
    } else {
      done(document.execCommand("copy"));
    }
  }
})();
// "Type the name to confirm": the dialog's submit button waits for the exact text.
document.addEventListener("input", function (event) {
  var input = event.target.closest("[data-confirm-text]");
  if (!input) { return; }
  var button = document.getElementById(input.getAttribute("data-confirm-button"));
  if (button) { button.disabled = input.value !== input.getAttribute("data-confirm-text"); }
});
