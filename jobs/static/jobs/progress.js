// Polls a job's status (archive/job_views.py job_status) about once a second and updates the
// progress bar; with data-job-follow the page moves on to the job's result when it is done,
// unless the job lists the outcome of each file (扫描件归档): then the list is shown here.
(function () {
  "use strict";
  var root = document.querySelector("[data-job-status]");
  if (!root) return;
  var url = root.getAttribute("data-job-status");
  var follow = root.hasAttribute("data-job-follow");
  function part(name) { return root.querySelector("[data-job-" + name + "]"); }
  function show(element, visible) { if (element) element.hidden = !visible; }
  function render(s) {
    part("state").textContent = s.state_label;
    part("message").textContent = s.message;
    part("bar").value = s.percent;
    part("bar").textContent = s.percent + "%";
    part("percent").textContent = s.percent + "%";
    part("counts").textContent = s.total ? "（" + s.done + "/" + s.total + "）" : "";
    var error = part("error");
    error.textContent = s.error;
    show(error, !!s.error);
    var next = part("next");
    if (s.next) next.href = s.next;
    show(next, s.finished && !!s.next);
    var download = part("download");
    if (s.download) download.href = s.download;
    show(download, !!s.download);
    show(document.querySelector("[data-job-cancel]"), !s.finished);
    var outcomes = part("outcomes");
    if (outcomes && s.outcomes && s.outcomes.length) {
      var body = outcomes.querySelector("tbody");
      body.textContent = "";
      s.outcomes.forEach(function (o) {
        var row = document.createElement("tr");
        [o.name, o.label, o.message || ""].forEach(function (text, i) {
          var cell = document.createElement("td");
          if (i === 1) cell.appendChild(document.createElement("strong")).textContent = text;
          else cell.textContent = text;
          row.appendChild(cell);
        });
        body.appendChild(row);
      });
      show(outcomes, true);
    }
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (s) {
        if (!s) { window.setTimeout(poll, 5000); return; }
        render(s);
        if (!s.finished) { window.setTimeout(poll, 1000); return; }
        var listed = s.outcomes && s.outcomes.length;
        if (follow && s.state === "done" && s.next && !listed) window.location.assign(s.next);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  if (!root.hasAttribute("data-job-finished")) poll();
})();
