"""The browser tests' real service and browser: gunicorn as `make run` starts it, on a free
port, and Debian's headless Chromium driven by Selenium through Debian's chromedriver.

Nothing is downloaded: Selenium is given both binaries and told to stay offline
(``SE_OFFLINE``), so its selenium-manager never looks for a browser or driver of its own."""

import os
import tempfile
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ID
from tests.feeds.conftest import feed_source  # noqa: F401 (the feeds' stand-in source)
from tests.servers import gunicorn
from tools.auth_standin import AuthStandIn
from tools.browser import chromium
from tools.launcher import CHROMEDRIVER, CHROMIUM

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "static" / "node_modules" / "axe-core" / "axe.min.js"
WINDOW = (1280, 1100)


@pytest.fixture(scope="module")
def service_url(app, database_url, tmp_path_factory):
    """The base URL of a gunicorn serving Signale on the suite's (migrated) database."""
    with gunicorn(database_url, tmp_path_factory.mktemp("media"), workers=2) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium asking for French pages first, as a browser of the control room."""
    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), "make test installs chromium"
    assert AXE.exists(), "make test installs static/node_modules (npm ci)"
    profile = tempfile.TemporaryDirectory(prefix="signale-chromium-")
    driver = chromium(profile.name, WINDOW)
    try:
        driver.set_page_load_timeout(60)
        driver.set_script_timeout(60)
        yield driver
    finally:
        driver.quit()
        profile.cleanup()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """Where screenshots of each screen go: ``SIGNALE_SCREENSHOTS`` if set (never the
    checkout, unless someone says so), else a temporary directory."""
    folder = os.environ.get("SIGNALE_SCREENSHOTS")
    if not folder:
        return tmp_path_factory.mktemp("screenshots")
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- the console's service: gunicorn with the Auth emulator stand-in ----------------------


@pytest.fixture(scope="module")
def standin():
    server = AuthStandIn(PROJECT_ID).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """The console's service's photo storage (a temporary directory)."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def console_url(app, database_url, media, standin):
    env = {"FIREBASE_AUTH_EMULATOR_HOST": standin.host}
    with gunicorn(database_url, media, workers=2, env=env) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def leave_the_console(browser):
    """After each test, the console is closed before the tables are emptied: a page still
    calling the API (its live stream, a refresh) would hold locks the truncation waits for."""
    yield
    browser.get("about:blank")
