/* The case file page while OCR reads its scans (issue 15): every few seconds it asks the case
 * file's OCR progress (archive/documents/ocr_progress.py) and shows the pages read out of the
 * pages waiting, for the scans that were waiting when the page opened and for those uploaded
 * since, and each document's own state; no reload. While nothing waits it asks less and less
 * often (10 s, doubling to 5 min), so a page left open all day costs next to nothing, and an
 * upload on the page (uploader.js's archive:uploaded) brings it back at once. A file of its own:
 * the CSP allows no inline script. */
(function () {
  "use strict";
  var first = document.querySelector("[data-ocr-progress]");
  if (!first || !window.fetch) return;
  var url = first.getAttribute("data-ocr-progress");
  var tracked = {}; // version id -> true, every version seen waiting since the page opened
  var WAITING = { queued: true, reading: true };
  var BUSY = 2000, IDLE_FIRST = 10000, IDLE_LAST = 300000;
  var idle = IDLE_FIRST, timer = null;

  function label(v) {
    if (v.state === "reading") return v.label + " 第 " + v.pages_done + "/" + v.pages + " 页";
    return v.label;
  }

  function show(versions) {
    var pages = 0, done = 0, files = 0, waiting = 0;
    versions.forEach(function (v) {
      var span = document.querySelector('[data-ocr-version="' + v.id + '"]');
      if (span) span.textContent = label(v);
      if (WAITING[v.state]) tracked[v.id] = true;
      if (!tracked[v.id]) return;
      files += 1;
      pages += v.pages;
      done += v.pages_done;
      if (WAITING[v.state]) waiting += 1;
    });
    // Looked up each time: the uploader replaces the documents section after an upload.
    var box = document.querySelector("[data-ocr-progress]");
    if (!files || !box) return waiting > 0;
    box.hidden = false;
    if (waiting) {
      box.textContent = "正在识别扫描件：已识别 " + done + " / " + pages + " 页（" + files +
        " 份文件，" + waiting + " 份未完成）";
    } else {
      box.textContent = "识别完成：" + files + " 份文件，共 " + pages + " 页。";
      var again = document.createElement("a");
      again.href = window.location.pathname;
      again.textContent = "刷新页面查看识别结果";
      box.appendChild(again);
    }
    return waiting > 0;
  }

  function later(ms) {
    window.clearTimeout(timer);
    timer = window.setTimeout(poll, ms);
  }

  function rest() {
    later(idle);
    idle = Math.min(idle * 2, IDLE_LAST);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && show(data.versions)) {
          idle = IDLE_FIRST;
          later(BUSY);
        } else {
          rest();
        }
      })
      .catch(rest);
  }

  document.addEventListener("archive:uploaded", function () {
    idle = IDLE_FIRST;
    later(500);
  });
  poll();
})();
