"""Security headers on every answer.

- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` everywhere: a
  JSON answer is never run as a script or a page, and no URL of ours (with its report ids
  and filters) goes to another site.
- ``Cache-Control: no-store`` on every answer computed for a signed-in caller (``/v1/me*``,
  a reporter's own report, contact details, staff views...) unless the view chose its own
  caching: what was answered to one person is kept by no cache, the browser's included.
- On ``/docs``, a Content-Security-Policy allowing only this origin's scripts, styles and
  calls (the Swagger UI is served from the swagger-ui-bundle package, started by a file:
  app/templates/swagger_ui.html).
- In production, ``Strict-Transport-Security``.
"""

from flask import g, request

DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        # Swagger UI's icons are data: images.
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
# flask-smorest's endpoint for the Swagger UI page (OPENAPI_SWAGGER_UI_PATH).
DOCS_ENDPOINT = "api-docs.openapi_swagger_ui"


def init_app(app) -> None:
    hsts = None
    if app.config["SIGNALE_ENV"] == "production":
        hsts = f"max-age={int(app.config['HSTS_MAX_AGE_SECONDS'])}; includeSubDomains"

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        if "identity" in g and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
        if request.endpoint == DOCS_ENDPOINT:
            headers["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        if hsts:
            headers["Strict-Transport-Security"] = hsts
        return response
