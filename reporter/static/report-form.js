// Optional: the report form works without this file, where the online details are a collapsed block
// anyone can open. With scripts on, that block and "Add another place" appear only when the incident
// happened online or both, and open by themselves then.
(function () {
  "use strict";
  var wrap = document.getElementById("online-wrap");
  var more = document.getElementById("add-place");
  var kinds = document.querySelectorAll("input[name='incident_kind']");
  if (!wrap || !kinds.length) { return; }
  function update(opening) {
    var chosen = document.querySelector("input[name='incident_kind']:checked");
    var online = !chosen || chosen.value !== "offline";
    wrap.hidden = !online;
    if (more) { more.hidden = !online; }
    if (opening && online && chosen) { wrap.open = true; }
  }
  Array.prototype.forEach.call(kinds, function (input) {
    input.addEventListener("change", function () { update(true); });
  });
  update(false);
}());
