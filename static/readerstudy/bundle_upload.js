// Bundle upload page: poll the job's progress while it is active and move the bar; reload
// once it is finished, so the page shows what was imported or every problem.
(function () {
  "use strict";
  var panel = document.getElementById("upload-panel");
  if (!panel || panel.getAttribute("data-active") !== "true") { return; }
  var url = panel.getAttribute("data-progress-url");
  var bar = document.getElementById("upload-progress");
  var stage = document.getElementById("upload-stage");
  var statusEl = document.getElementById("upload-status");

  function render(p) {
    bar.value = p.progress;
    bar.textContent = p.progress + "%";
    stage.textContent = p.progress + "%" + (p.stage ? " · " + p.stage : "");
    statusEl.textContent = p.status_label;
    statusEl.className = "status status-" + p.status;
  }

  function tick() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (p) {
        render(p);
        if (!p.active) { window.location.reload(); return; }
        window.setTimeout(tick, 700);
      })
      .catch(function () { window.setTimeout(tick, 3000); });
  }

  window.setTimeout(tick, 500);
})();
