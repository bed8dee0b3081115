// Optional: the quick-exit link works without this file. With scripts on, leaving also replaces
// this page in the tab's history, and the Escape key leaves at once.
(function () {
  "use strict";
  var link = document.getElementById("quick-exit");
  if (!link) { return; }
  function leave(event) {
    if (event) { event.preventDefault(); }
    try { document.body.innerHTML = ""; } catch (e) { /* leave anyway */ }
    window.location.replace(link.href);
  }
  link.addEventListener("click", leave);
  document.addEventListener("keydown", function (event) {
    // Escape that only cancels an input method's composition (CJK and other IMEs) is not a request to leave.
    if (event.isComposing || event.keyCode === 229) { return; }
    if (event.key === "Escape" || event.key === "Esc") { leave(event); }
  });
}());
