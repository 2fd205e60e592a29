/* OCR 核对 by keyboard. Outside a field: A submits the form (全部确认; a changed field is saved
 * as a correction), N goes to the next document, 1–7 focus the n-th field. Inside a field:
 * Enter saves (the browser submits the form), Esc leaves the field. The submit button says
 * whether anything was changed. Without JavaScript the page works with the mouse. */
(function () {
  "use strict";

  function typing(element) {
    var tag = element && element.tagName;
    return tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || (element && element.isContentEditable);
  }

  function init(root) {
    var form = root.querySelector("#ocr-form");
    var accept = root.querySelector("[data-accept]");
    var next = root.querySelector("[data-next]");
    var inputs = form ? Array.prototype.slice.call(form.querySelectorAll("[data-row] input, [data-row] select")) : [];
    var initial = inputs.map(function (input) { return input.value; });

    function changed() {
      return inputs.some(function (input, i) { return input.value !== initial[i]; });
    }

    function relabel() {
      if (!accept) return;
      accept.textContent = changed() ? accept.dataset.correctLabel : accept.dataset.acceptLabel;
    }

    inputs.forEach(function (input) {
      input.addEventListener("input", relabel);
      input.addEventListener("change", relabel);
    });

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (typing(event.target)) {
        if (event.key === "Escape") event.target.blur();
        return;
      }
      var key = event.key.toLowerCase();
      if (key === "a" && form && accept) {
        event.preventDefault();
        form.requestSubmit(accept);
      } else if (key === "n" && next) {
        event.preventDefault();
        window.location.assign(next.href);
      } else if (/^[1-9]$/.test(key) && inputs[+key - 1]) {
        event.preventDefault();
        inputs[+key - 1].focus();
        if (inputs[+key - 1].select) inputs[+key - 1].select();
      }
    });
  }

  document.querySelectorAll("[data-ocr-review]").forEach(init);
})();
