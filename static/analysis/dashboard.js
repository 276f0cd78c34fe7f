/* Analysis dashboard: draw every figure from its JSON (plotly.js is served by the app).
 * Figures in view are drawn first; the rest follow one by one while the browser is idle, so
 * printing and full-page captures show every figure; a print started earlier draws the rest
 * first ("beforeprint"). */
(function () {
  "use strict";
  var config = { displaylogo: false, responsive: true };
  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-figure"));
    if (!source || el.getAttribute("data-drawing")) {
      return;
    }
    el.setAttribute("data-drawing", "true");
    var spec = JSON.parse(source.textContent);
    window.Plotly.newPlot(el, spec.data, spec.layout || {}, config).then(function () {
      el.setAttribute("data-drawn", "true");
    });
  }
  var plots = Array.prototype.slice.call(document.querySelectorAll("[data-figure]"));
  if (!window.Plotly) {
    plots.forEach(function (el) {
      el.textContent = "The figure library did not load; use the downloads below.";
    });
    return;
  }
  var later = window.requestIdleCallback || function (fn) { return window.setTimeout(fn, 50); };
  function drawRest() {
    var next = plots.filter(function (el) { return !el.getAttribute("data-drawing"); })[0];
    if (next) {
      draw(next);
      later(drawRest);
    }
  }
  window.addEventListener("beforeprint", function () {
    plots.forEach(draw);
    plots.forEach(function (el) { window.Plotly.Plots.resize(el); });
  });
  if ("IntersectionObserver" in window) {
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) {
          observer.unobserve(entry.target);
          draw(entry.target);
        }
      });
    }, { rootMargin: "400px" });
    plots.forEach(function (el) { observer.observe(el); });
    later(drawRest);
  } else {
    plots.forEach(draw);
  }
})();
