// Renders this server's own OpenAPI document. A separate file (not inline) so a strict
// Content-Security-Policy (script-src 'self') holds.
/* global SwaggerUIBundle */
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: document.getElementById("swagger-ui").dataset.spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    tryItOutEnabled: false,
    validatorUrl: null,
  });
});
