"""Security headers on every answer.

- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` everywhere: a
  JSON answer is never run as a script or a page, and no URL of ours (with its report ids
  and filters) goes to another site.
- ``Cache-Control: no-store`` on every answer computed for a signed-in caller (``/v1/me*``,
  a reporter's own report, contact details, staff views...) unless the view chose its own
  caching: what was answered to one person is kept by no cache, the browser's included.
- On every web page, a Content-Security-Policy and ``X-Frame-Options: DENY``: a page runs
  nothing but what this origin serves, and is never shown inside another site's frame
  (clickjacking). ``/docs`` allows this origin's scripts, styles and calls (the Swagger UI
  is served from the swagger-ui-bundle package, started by a file:
  app/templates/swagger_ui.html); a blueprint of pages (app/web) is declared with
  :func:`serve_pages` and gets :data:`PAGE_CONTENT_SECURITY_POLICY` unless it says otherwise.
- In production, ``Strict-Transport-Security``.
"""

from collections.abc import Callable

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
# Signale's own pages: their stylesheets, images and scripts from this origin, nothing else
# (no inline script or style, no font, no call elsewhere).
PAGE_CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# flask-smorest's endpoint for the Swagger UI page (OPENAPI_SWAGGER_UI_PATH).
DOCS_ENDPOINT = "api-docs.openapi_swagger_ui"


def as_page(response, policy: str):
    """``response`` is a web page: ``policy`` applies to it, and no site may frame it
    (``frame-ancestors`` for today's browsers, ``X-Frame-Options`` for older ones)."""
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Frame-Options"] = "DENY"
    return response


def serve_pages(blueprint, policy: str | Callable[[], str] = PAGE_CONTENT_SECURITY_POLICY) -> None:
    """Every answer of ``blueprint`` is served as a web page under ``policy`` (a string, or
    a function computing it for the request: the web apps' depends on the configuration)."""
    policy_of = policy if callable(policy) else lambda: policy
    blueprint.after_request(lambda response: as_page(response, policy_of()))


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
            as_page(response, DOCS_CONTENT_SECURITY_POLICY)
        if hsts:
            headers["Strict-Transport-Security"] = hsts
        return response
