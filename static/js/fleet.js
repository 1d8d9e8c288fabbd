/* The dashboard's fleet: a box that ticks every device of the page, the number ticked,
 * the pack list shown only for "Add to pack", and addresses without empty filters.
 * Without script the page works the same: tick the devices one by one; the pack is
 * read only for "Add to pack".
 */
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    /* Filters left empty stay out of the address: ?q=gw, not ?q=gw&status=&pack=… */
    var filters = document.querySelector("[data-fleet-filters]");
    if (filters) {
      filters.addEventListener("submit", function () {
        Array.prototype.forEach.call(filters.elements, function (field) {
          if (field.name && !field.value) { field.disabled = true; }
        });
      });
    }

    var form = document.querySelector("[data-fleet-bulk]");
    if (!form) { return; }
    var all = form.querySelector("[data-select-all]");
    var boxes = Array.prototype.slice.call(form.querySelectorAll('input[name="device"]'));
    var shown = form.querySelector('[data-field="selected"]');
    var action = form.querySelector('select[name="action"]');
    var pack = form.querySelector('select[name="pack"]');

    function count() {
      var ticked = boxes.filter(function (box) { return box.checked; }).length;
      if (shown) { shown.textContent = ticked ? ticked + " selected" : ""; }
      if (all) {
        all.checked = ticked > 0 && ticked === boxes.length;
        all.indeterminate = ticked > 0 && ticked < boxes.length;
      }
    }
    function packShown() {
      if (action && pack) { pack.closest("label").hidden = action.value !== "pack"; }
    }

    if (all) {
      all.hidden = false;
      all.addEventListener("change", function () {
        boxes.forEach(function (box) { box.checked = all.checked; });
        count();
      });
    }
    boxes.forEach(function (box) { box.addEventListener("change", count); });
    if (action) { action.addEventListener("change", packShown); }
    count();
    packShown();
  });
})();
