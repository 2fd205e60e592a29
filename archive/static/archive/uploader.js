/* Drag-and-drop uploader for scans. Progressive enhancement of a plain multi-file form:
 * without JavaScript the form posts all files at once and the server shows a result page.
 * With it, files can also be dropped on the zone; each file is sent in its own request with
 * its own progress bar and outcome (a ZIP lists the outcome of every scan in it), and the
 * checklist and document list of the case file are refreshed when all are done. A ZIP or a long
 * PDF is filed by a background job: its row follows the job's progress (archive/job_views.py
 * job_status) until the job lists the outcome of each file.
 * No dependencies; everything is reachable by keyboard (the native file input and button). */
(function () {
  "use strict";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  function refreshCaseFile() {
    var ids = ["casefile-checklist", "casefile-documents"];
    if (!ids.some(function (id) { return document.getElementById(id); })) return Promise.resolve();
    return fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ids.forEach(function (id) {
          var old = document.getElementById(id), next = fresh.getElementById(id);
          if (old && next) old.replaceWith(document.importNode(next, true));
        });
      });
  }

  function showResults(row, results) {
    var list = el("ul", { class: "archive-result__list" });
    results.forEach(function (r) {
      var item = el("li", { "data-status": r.status });
      item.appendChild(el("span", { class: "archive-result__name" }, r.name));
      item.appendChild(el("strong", { class: "archive-result__label" }, r.label));
      var msg = el("span", { class: "archive-result__message" }, r.message || "");
      if (r.document_id && row.viewBase) {
        var link = el("a", { href: row.viewBase.replace("/0/", "/" + r.document_id + "/") }, " 查看");
        msg.appendChild(link);
      }
      item.appendChild(msg);
      list.appendChild(item);
    });
    row.status.textContent = results.length === 1 ? results[0].label : "完成（" + results.length + " 个文件）";
    if (results.length === 1) {
      row.node.setAttribute("data-status", results[0].status);
      row.message.textContent = results[0].message || "";
    } else {
      row.message.textContent = "";
      row.node.appendChild(list);
    }
  }

  function followJob(row, job) {
    row.status.textContent = "后台归档中…";
    row.progress.value = 0;
    row.node.appendChild(el("a", { href: job.url, class: "archive-result__job" }, "任务详情"));
    return new Promise(function (resolve) {
      function poll() {
        fetch(job.status_url, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (s) {
            if (!s) { window.setTimeout(poll, 5000); return; }
            row.progress.value = s.percent;
            row.message.textContent = s.message || "";
            if (!s.finished) { window.setTimeout(poll, 1000); return; }
            if (s.outcomes && s.outcomes.length) {
              showResults(row, s.outcomes);
            } else {
              row.node.setAttribute("data-status", s.state === "done" ? "filed" : "rejected");
              row.status.textContent = s.state_label;
            }
            if (s.error) row.message.textContent = s.error;
            resolve();
          })
          .catch(function () { window.setTimeout(poll, 5000); });
      }
      poll();
    });
  }

  function uploadOne(form, file, row) {
    return new Promise(function (resolve) {
      var data = new FormData();
      data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
      data.append("doc_type", form.querySelector("[name=doc_type]").value);
      data.append("files", file, file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) row.progress.value = Math.round((100 * e.loaded) / e.total);
      };
      xhr.upload.onload = function () { row.progress.value = 100; row.status.textContent = "处理中…"; };
      xhr.onload = function () {
        var payload = null;
        try { payload = JSON.parse(xhr.responseText); } catch (e) { payload = null; }
        if (xhr.status === 200 && payload && payload.jobs && payload.jobs.length) {
          followJob(row, payload.jobs[0]).then(resolve);
          return;
        }
        if (xhr.status === 200 && payload && payload.results) {
          showResults(row, payload.results);
        } else {
          row.node.setAttribute("data-status", "rejected");
          row.status.textContent = "失败";
          row.message.textContent = xhr.status === 413 ? "文件过大" : "上传失败（HTTP " + xhr.status + "）";
        }
        resolve();
      };
      xhr.onerror = function () {
        row.node.setAttribute("data-status", "rejected");
        row.status.textContent = "失败";
        row.message.textContent = "网络错误，请重试";
        resolve();
      };
      xhr.send(data);
    });
  }

  function uploadAll(form, files) {
    var results = form.querySelector("[data-results]");
    var button = form.querySelector("button[type=submit]");
    var rows = Array.prototype.map.call(files, function (file) {
      var node = el("li", { "data-status": "pending" });
      var row = { node: node, viewBase: form.dataset.viewBase };
      node.appendChild(el("span", { class: "archive-result__name" }, file.name));
      row.progress = el("progress", { max: "100", value: "0", "aria-label": file.name + " 上传进度" });
      node.appendChild(row.progress);
      var text = el("span");
      row.status = el("strong", { class: "archive-result__label" }, "等待上传");
      row.message = el("span", { class: "archive-result__message" });
      text.appendChild(row.status);
      text.appendChild(document.createTextNode(" "));
      text.appendChild(row.message);
      node.appendChild(text);
      results.appendChild(node);
      return { file: file, row: row };
    });
    button.disabled = true;
    var chain = Promise.resolve();
    rows.forEach(function (item) {
      chain = chain.then(function () {
        item.row.status.textContent = "上传中…";
        return uploadOne(form, item.file, item.row);
      });
    });
    return chain.then(refreshCaseFile).then(function () {
      button.disabled = false;
      form.querySelector("input[type=file]").value = "";
      form.dispatchEvent(new CustomEvent("archive:uploaded", { bubbles: true }));
    });
  }

  function enhance(form) {
    if (!window.FormData || !window.XMLHttpRequest || !window.fetch) return;
    var zone = form.querySelector("[data-dropzone]");
    var hint = form.querySelector("[data-drop-hint]");
    var input = form.querySelector("input[type=file]");
    if (hint) hint.hidden = false;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (input.files.length) uploadAll(form, input.files);
    });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add("is-dragover"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.remove("is-dragover"); });
    });
    zone.addEventListener("drop", function (e) {
      if (e.dataTransfer && e.dataTransfer.files.length) uploadAll(form, e.dataTransfer.files);
    });
  }

  function init() {
    document.querySelectorAll("form[data-archive-uploader]").forEach(enhance);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
