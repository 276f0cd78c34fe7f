/* Swagger UI initialiser for /api/docs/, a static file rather than drf-spectacular's inline
   script (the app's Content-Security-Policy allows no inline script). Its settings come from
   the data attributes of #swagger-ui. */
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") { return; }
  var data = root.dataset;
  var settings = {};
  try { settings = JSON.parse(data.settings || "{}"); } catch (e) { settings = {}; }

  // "Try it out" with the session cookie: unsafe methods need Django's CSRF header.
  function requestInterceptor(request) {
    var method = (request.method || "GET").toUpperCase();
    if (method !== "GET" && method !== "HEAD" && request.credentials === "same-origin" && data.csrfHeader) {
      request.headers[data.csrfHeader] = data.csrfToken;
    }
    return request;
  }

  window.ui = window.SwaggerUIBundle(Object.assign({
    url: data.schemaUrl,
    dom_id: "#swagger-ui",
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor: requestInterceptor
  }, settings));
}());
