"""Absolute URLs of the service: all of them under PUBLIC_BASE_URL.

Never from the request: its Host header is the client's to choose, and a link built from it
points wherever the client said (cached for everyone, or written in a file the next night).
The views, the nightly exports and the CLI build them here, the same way.
"""

from urllib.parse import urlsplit

from flask import current_app


def public_base(config=None) -> str:
    """PUBLIC_BASE_URL without its trailing slash: ``https://signale.metropole-dijon.fr``."""
    return (config or current_app.config)["PUBLIC_BASE_URL"].rstrip("/")


def public_url(path: str, config=None) -> str:
    """The absolute URL of ``path`` (relative to the service's root)."""
    return f"{public_base(config)}/{path.lstrip('/')}"


def public_url_for(endpoint: str, **values) -> str:
    """``url_for(endpoint, **values)``, absolute under PUBLIC_BASE_URL (its path included)."""
    base = urlsplit(public_base())
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)
