// Starts Swagger UI on the /docs page. The page lists its documents in the
// JSON block #swagger-ui-config (not a script the browser runs), so the
// page needs no inline script and works under script-src 'self'.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("swagger-ui-config").textContent);
  var opts = {
    dom_id: "#swagger-ui",
    layout: cfg.layout,
    deepLinking: true,
    showExtensions: true,
    persistAuthorization: true,
    // The default sends the document's URL to validator.swagger.io for a
    // badge: a request to another host that fails on a closed network.
    validatorUrl: null,
  };
  if (cfg.layout === "StandaloneLayout") {
    // Several documents: the standalone preset's top bar selects one.
    opts.urls = cfg.urls;
    opts.presets = [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset];
    opts.plugins = [SwaggerUIBundle.plugins.DownloadUrl];
  } else {
    opts.url = cfg.urls[0].url;
    opts.presets = [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset];
  }
  window.ui = SwaggerUIBundle(opts);
})();
