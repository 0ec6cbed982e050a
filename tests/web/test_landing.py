"""The landing page at ``/`` as an HTTP client sees it (app/web): French first, English by
``?lang=en`` or Accept-Language, links that all lead somewhere, served as a page (a strict
Content-Security-Policy, never in a frame), and the API's JSON answers untouched."""

import re

import pytest

from app.ops.headers import PAGE_CONTENT_SECURITY_POLICY


def links(page: str) -> list[str]:
    return re.findall(r'<a\b[^>]*\bhref="([^"]+)"', page)


@pytest.mark.parametrize(
    ("query", "accept_language", "lang"),
    [
        ("", None, "fr"),
        ("", "en-GB,en;q=0.9", "en"),
        ("", "de-DE,de;q=0.9", "fr"),
        ("?lang=en", None, "en"),
        ("?lang=fr", "en-GB,en;q=0.9", "fr"),
        ("?lang=de", "en", "en"),
    ],
)
def test_the_page_is_french_first_english_when_asked_by_link_or_by_the_browser(
    client, query, accept_language, lang
):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = client.get(f"/{query}", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Content-Language"] == lang
    assert "Accept-Language" in response.headers["Vary"]
    page = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in page
    other = "en" if lang == "fr" else "fr"
    # The other language is one link away, named in its own language.
    assert f'href="/?lang={other}"' in page and f'lang="{other}"' in page
    assert ("Documentation de l’API" in page) == (lang == "fr")
    assert ("API documentation" in page) == (lang == "en")


def test_every_link_of_the_page_leads_somewhere_the_apps_first(client):
    page = client.get("/").get_data(as_text=True)
    found = links(page)
    assert found == [
        "#contenu",
        "/?lang=en",
        "/report/",
        "/console/",
        "/crew/",
        "/docs",
        "/openapi.json",
        "/v1/opendata/files",
        "/v1/opendata/catalog",
    ]
    assert 'id="contenu"' in page
    stylesheets = re.findall(r'<link[^>]*href="([^"]+)"', page)
    for url in [*(u for u in found if u.startswith("/")), *stylesheets]:
        assert client.get(url).status_code == 200, url


def test_the_page_is_served_under_a_strict_policy_and_keeps_to_it(client):
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert policy == PAGE_CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    assert "unsafe" not in policy and "http" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = response.get_data(as_text=True)
    # Nothing inline for the policy to refuse; everything the page loads is this origin's.
    assert "<script" not in page and "<style" not in page and " style=" not in page
    assert not re.search(r"\son\w+=", page)
    assert re.findall(r'<link[^>]*href="([^"]+)"', page) == ["/static/shared/signale.css"]


def test_the_api_keeps_its_json_answers_beside_the_page(client):
    for path in ("/v1/nothing-here", "/consoles", "/index.html"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json", path
        assert "Content-Security-Policy" not in response.headers, path
    # The page is no operation of the API: its document does not name it.
    assert "/" not in client.get("/openapi.json").get_json()["paths"]
