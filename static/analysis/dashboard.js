/* Analysis dashboard: draw every figure from its JSON (plotly.js is served by the app). */
(function () {
  "use strict";
  var config = { displaylogo: false, responsive: true };
  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-figure"));
    if (!source || el.getAttribute("data-drawn")) {
      return;
    }
    var spec = JSON.parse(source.textContent);
    window.Plotly.newPlot(el, spec.data, spec.layout || {}, config).then(function () {
      el.setAttribute("data-drawn", "true");
    });
  }
  var plots = document.querySelectorAll("[data-figure]");
  if (!window.Plotly) {
    plots.forEach(function (el) {
      el.textContent = "The figure library did not load; use the downloads below.";
    });
    return;
  }
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
  } else {
    plots.forEach(draw);
  }
})();
