/* Page viewer: zoom, rotate, previous/next page without reloading. Without JavaScript the
 * previous/next links still work and the page image is shown fitted to the width.
 * Keyboard (with the image area focused): ←/→ or PageUp/PageDown pages, + and - zoom,
 * 0 fits the width, R rotates right, Shift+R rotates left. */
(function () {
  "use strict";
  var STEPS = [0.25, 0.33, 0.5, 0.67, 0.75, 1, 1.25, 1.5, 2, 3, 4];

  function init(viewer) {
    var img = viewer.querySelector("[data-page-image]");
    var stage = viewer.querySelector("[data-stage]");
    var label = viewer.querySelector("[data-page-label]");
    var zoomLabel = viewer.querySelector("[data-zoom-label]");
    var tools = viewer.querySelector("[data-js-tools]");
    var template = viewer.dataset.srcTemplate;
    var state = { page: +viewer.dataset.page, pages: +viewer.dataset.pages, zoom: null, rotation: 0 };
    if (tools) tools.hidden = false;

    function fitScale() {
      var natW = img.naturalWidth || 1, natH = img.naturalHeight || 1;
      var room = stage.clientWidth - 32;
      var across = state.rotation % 180 ? natH : natW;
      return Math.min(1, room / across);
    }

    function apply() {
      var scale = state.zoom === null ? fitScale() : state.zoom;
      var w = Math.round((img.naturalWidth || 0) * scale), h = Math.round((img.naturalHeight || 0) * scale);
      stage.classList.add("is-zoomed");
      img.style.width = w + "px";
      img.style.height = h + "px";
      img.style.transform = "rotate(" + state.rotation + "deg)";
      var d = state.rotation % 180 ? (w - h) / 2 : 0;
      img.style.margin = (d) + "px " + (-d) + "px";
      zoomLabel.textContent = state.zoom === null ? "适应宽度（" + Math.round(scale * 100) + "%）" : Math.round(scale * 100) + "%";
    }

    function zoom(direction) {
      var current = state.zoom === null ? fitScale() : state.zoom;
      var next = direction > 0
        ? STEPS.find(function (s) { return s > current + 0.001; }) || STEPS[STEPS.length - 1]
        : STEPS.slice().reverse().find(function (s) { return s < current - 0.001; }) || STEPS[0];
      state.zoom = next;
      apply();
    }

    function rotate(by) { state.rotation = (state.rotation + by + 360) % 360; apply(); }

    function setNav(el, page) {
      if (!el) return;
      var enabled = page >= 1 && page <= state.pages;
      el.classList.toggle("disabled", !enabled);
      el.setAttribute("aria-disabled", enabled ? "false" : "true");
      var params = new URLSearchParams(window.location.search);
      params.set("page", Math.min(Math.max(page, 1), state.pages));
      el.href = "?" + params.toString();
    }

    function go(page) {
      if (page < 1 || page > state.pages || page === state.page) return;
      state.page = page;
      img.src = template.replace("/999999/", "/" + page + "/");
      img.alt = img.alt.replace(/第 \d+ 页/, "第 " + page + " 页");
      label.textContent = "第 " + page + " / " + state.pages + " 页";
      var params = new URLSearchParams(window.location.search);
      params.set("page", page);
      window.history.replaceState(null, "", "?" + params.toString());
      setNav(viewer.querySelector("[data-prev]"), page - 1);
      setNav(viewer.querySelector("[data-next]"), page + 1);
    }

    viewer.addEventListener("click", function (e) {
      var t = e.target.closest("button, a");
      if (!t) return;
      if (t.matches("[data-prev]")) { e.preventDefault(); go(state.page - 1); }
      else if (t.matches("[data-next]")) { e.preventDefault(); go(state.page + 1); }
      else if (t.matches("[data-zoom-in]")) zoom(1);
      else if (t.matches("[data-zoom-out]")) zoom(-1);
      else if (t.matches("[data-fit]")) { state.zoom = null; apply(); }
      else if (t.matches("[data-actual]")) { state.zoom = 1; apply(); }
      else if (t.matches("[data-rotate-right]")) rotate(90);
      else if (t.matches("[data-rotate-left]")) rotate(-90);
    });
    stage.addEventListener("keydown", function (e) {
      var handled = true;
      if (e.key === "ArrowLeft" || e.key === "PageUp") go(state.page - 1);
      else if (e.key === "ArrowRight" || e.key === "PageDown") go(state.page + 1);
      else if (e.key === "+" || e.key === "=") zoom(1);
      else if (e.key === "-") zoom(-1);
      else if (e.key === "0") { state.zoom = null; apply(); }
      else if (e.key === "r" || e.key === "R") rotate(e.shiftKey ? -90 : 90);
      else handled = false;
      if (handled) e.preventDefault();
    });
    img.addEventListener("load", apply);
    window.addEventListener("resize", function () { if (state.zoom === null) apply(); });
    if (img.complete) apply();
  }

  function start() { document.querySelectorAll("[data-viewer]").forEach(init); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
