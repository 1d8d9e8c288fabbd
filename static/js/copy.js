// Copy buttons: <button data-copy="ID"> copies the text of the element ID.
// Without JavaScript the button stays hidden and the text is there to select.
(function () {
  "use strict";

  function select(element) {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copy(element) {
    const text = element.textContent;
    // The Clipboard API needs a secure origin (https or localhost); elsewhere the
    // selected text is copied the old way.
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    select(element);
    return document.execCommand("copy") ? Promise.resolve() : Promise.reject();
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    const target = document.getElementById(button.dataset.copy);
    if (!target) return;
    const label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      copy(target).then(
        function () { button.textContent = "Copied"; },
        function () { select(target); button.textContent = "Press Ctrl+C"; }
      ).finally(function () {
        setTimeout(function () { button.textContent = label; }, 2000);
      });
    });
  });
})();
