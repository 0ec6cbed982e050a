"""Debian's headless Chromium driven by Selenium through Debian's chromedriver, as the
browser tests and the console's benchmark use it: French pages first, the page's console
log kept, nothing downloaded (Selenium is given both binaries and told to stay offline, so
its selenium-manager never looks for a browser or driver of its own)."""

import os

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tools.launcher import CHROMEDRIVER, CHROMIUM


def chromium(
    profile: str, window: tuple[int, int], *, performance_log: bool = False
) -> webdriver.Chrome:
    """A new headless Chromium with its profile in the ``profile`` directory;
    ``performance_log``: the page's DevTools events kept too (``get_log("performance")``)."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        f"--window-size={window[0]},{window[1]}",
    ):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "fr-FR,fr"})
    logs = {"browser": "ALL", **({"performance": "ALL"} if performance_log else {})}
    options.set_capability("goog:loggingPrefs", logs)
    before = os.environ.get("SE_OFFLINE")
    os.environ["SE_OFFLINE"] = "true"
    try:
        return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    finally:
        if before is None:
            del os.environ["SE_OFFLINE"]
        else:
            os.environ["SE_OFFLINE"] = before
