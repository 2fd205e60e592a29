// Polls a comparison run's status (its job's progress, review/views.py run_status) every 2 s
// and reloads the page when the run has ended.
(function () {
  var box = document.getElementById("run-progress");
  if (!box) return;
  var bar = box.querySelector("progress");
  var label = box.querySelector("[data-stage]");
  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        bar.value = s.progress;
        label.textContent = s.status_label + " " + s.stage + " " + s.progress + "%";
        if (s.status === "finished" || s.status === "failed" || s.status === "cancelled") { window.location.reload(); }
        else { setTimeout(poll, 2000); }
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
