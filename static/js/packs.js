/* A pack's page: live.js keeps each member's row live (the pack page joins the owner's
 * dashboard stream); this keeps the counts per status and the rollouts in step with them.
 *
 * When a member's status changes, the page is fetched again (at most every second) and its
 * counts and rollout sections are swapped in: the server renders them, so nothing is
 * formatted twice, and the read also judges a wave whose deadline has passed.
 */
(function () {
  "use strict";

  var SECTIONS = ['[data-field="counts"]', '[data-field="rollout"]', '[data-field="past-rollouts"]'];

  function refresh() {
    fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        SECTIONS.forEach(function (selector) {
          var now = document.querySelector(selector);
          var next = fresh.querySelector(selector);
          if (now && next) { now.replaceWith(document.importNode(next, true)); }
        });
        schedule();
      })
      .catch(function () { /* the next change tries again */ });
  }

  var timer = null;
  function soon() {
    if (timer) { return; }
    timer = setTimeout(function () { timer = null; refresh(); }, 1000);
  }

  /* A running wave is judged at its deadline even if no device reports: look again then. */
  var periodic = null;
  function schedule() {
    if (periodic) { clearInterval(periodic); periodic = null; }
    var status = document.querySelector('[data-field="rollout-status"]');
    if (status && status.textContent === "running") { periodic = setInterval(refresh, 30000); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var page = document.querySelector(".pack-page");
    var members = page && page.querySelector("table.members tbody");
    if (!members) { return; }
    new MutationObserver(soon).observe(members, { subtree: true, characterData: true, childList: true });
    schedule();
  });
})();
