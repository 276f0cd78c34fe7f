// Run page: poll the run's progress while it is active and update the bar and the counts;
// reload once when the run stops being active, so the buttons and the items table follow.
(function () {
  "use strict";
  var panel = document.getElementById("run-progress-panel");
  if (!panel) { return; }
  var url = panel.getAttribute("data-progress-url");
  var active = panel.getAttribute("data-active") === "true";
  var bar = document.getElementById("run-progress");
  var text = document.getElementById("run-progress-text");
  var statusEl = document.getElementById("run-status");
  var counts = panel.querySelectorAll("[data-count]");

  function render(p) {
    bar.max = Math.max(p.total, 1);
    bar.value = p.finished;
    bar.textContent = p.percent + "%";
    text.textContent = p.finished + " of " + p.total + " items (" + p.percent + "%)";
    statusEl.textContent = p.status_label;
    statusEl.className = "status status-" + p.status;
    counts.forEach(function (el) {
      var key = el.getAttribute("data-count");
      if (Object.prototype.hasOwnProperty.call(p.counts, key)) { el.textContent = p.counts[key]; }
    });
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
        window.setTimeout(tick, 1000);
      })
      .catch(function () { window.setTimeout(tick, 3000); });
  }

  if (active) { window.setTimeout(tick, 1000); }
})();
