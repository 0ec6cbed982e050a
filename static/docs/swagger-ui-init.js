// Starts Swagger UI on /docs. A file rather than an inline script: the page's
// Content-Security-Policy allows scripts from this origin only.
window.addEventListener("load", () => {
  const container = document.getElementById("swagger-ui-container");
  window.ui = SwaggerUIBundle({
    url: container.dataset.specUrl,
    dom_id: "#swagger-ui-container",
    // The online validator's badge is an image from another site, which the policy refuses.
    validatorUrl: null,
    ...JSON.parse(container.dataset.config || "{}"),
  });
});
