"""Of static/node_modules, only the files pages load are served; npm's manifests never."""

import pytest

from app.web.assets import PACKAGE_FILES


@pytest.mark.parametrize(
    "path",
    [
        "/static/node_modules/leaflet/dist/leaflet.js",
        "/static/node_modules/leaflet/dist/leaflet.css",
        "/static/node_modules/leaflet/dist/images/layers.png",
        "/static/node_modules/firebase/firebase-app-compat.js",
        "/static/node_modules/firebase/firebase-auth-compat.js",
        "/static/console/main.js",
        "/static/shared/signale.css",
    ],
)
def test_what_pages_load_is_served(client, path):
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/static/package.json",
        "/static/package-lock.json",
        "/static/README.md",
        "/static/node_modules/axe-core/axe.min.js",
        "/static/node_modules/leaflet/package.json",
        "/static/node_modules/firebase/firebase-firestore.js",
        "/static/node_modules/.package-lock.json",
        "/static/node_modules/leaflet/dist/leaflet.js.map/../../package.json",
    ],
)
def test_the_rest_of_the_packages_and_npm_s_manifests_are_not(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_every_listed_file_exists_once_npm_ci_has_run(app):
    from pathlib import Path

    packages = Path(app.static_folder) / "node_modules"
    for entry in PACKAGE_FILES:
        assert (packages / entry).exists(), entry
