"""Driving the crew app in the browser tests: a network cable between the browser and the
service that a test can unplug, the browser's own offline mode, and what the app keeps in
the tablet's IndexedDB.

What really makes the browser offline. Chrome's offline mode (DevTools Protocol
``Network.emulateNetworkConditions`` with ``offline: true``) applies to the target it is
sent to: sent to the page (Selenium's ``execute_cdp_cmd`` talks to the page's target only),
it turns ``navigator.onLine`` false, fires ``offline``/``online`` and fails the page's own
requests, but the service worker is another target whose ``fetch()`` still reaches the
server: a worker refreshing its cache behind the page, or answering a navigation from the
network, would quietly get through. Rather than attach to every worker target as it starts
(workers stop when idle and start again as new targets), the tests also unplug the
``Cable`` (tools/cable.py): a TCP relay the browser reaches the service through, which,
unplugged, closes its connections and every new one at once. Together: the page believes
it is offline (as a tablet in a dead zone does) and nothing in the browser, page or
worker, reaches the service. The Auth emulator stand-in is reached directly (not through
the cable): offline, the page's own requests to it fail all the same; the service worker
never calls it."""

from selenium.webdriver.common.by import By

from tests.web.console import wait


def browser_offline(browser, offline: bool):
    """Chrome's offline mode for the page's target (see the module's docstring)."""
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )


def ready(browser, screen):
    """Waits for the app to have drawn ``screen`` (list, ticket, conflicts)."""
    wait(
        browser,
        lambda d: d.find_element(By.ID, "crew-main").get_attribute("data-ready") == screen,
    )


def stored(browser) -> dict:
    """What the app keeps in IndexedDB: the outbox's entries and the tickets (summaries)."""
    return browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const open = indexedDB.open("signale-crew");
        open.onerror = () => done({error: String(open.error)});
        open.onsuccess = () => {
          const db = open.result;
          const out = {};
          const tx = db.transaction(["outbox", "tickets"], "readonly");
          tx.objectStore("outbox").getAll().onsuccess = (e) => {
            out.outbox = e.target.result.map((x) => ({
              seq: x.seq, uid: x.uid, report: x.reportId, kind: x.kind, action: x.action,
              state: x.state, key: x.key, if_match: x.ifMatch ?? null,
              client_at: x.body ? x.body.client_at : x.clientAt,
              photo_bytes: x.blob ? x.blob.size : null,
              answer: x.answer ? x.answer.status : null,
              code: x.answer && x.answer.body ? x.answer.body.code || null : null}));
          };
          tx.objectStore("tickets").getAll().onsuccess = (e) => {
            out.tickets = e.target.result.map((r) => ({
              id: r.id, uid: r.uid, done: Boolean(r.done), version: r.version,
              status: r.item ? r.item.status : null, detail: Boolean(r.detail),
              history: Boolean(r.history)}));
          };
          tx.oncomplete = () => { db.close(); done(out); };
        };
        """
    )


def send_again(browser):
    """The tablet unsure what got through: every answered entry of the outbox is put back
    as waiting, exactly as stored (same key, body and If-Match), for the app to replay."""
    browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const open = indexedDB.open("signale-crew");
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction("outbox", "readwrite");
          const store = tx.objectStore("outbox");
          store.getAll().onsuccess = (e) => {
            for (const entry of e.target.result) {
              if (entry.state === "done" || entry.state === "conflict") {
                entry.state = "pending"; entry.nextAt = 0; store.put(entry);
              }
            }
          };
          tx.oncomplete = () => { db.close(); done(true); };
        };
        """
    )


def header_text(browser, element_id) -> str:
    found = browser.find_elements(By.ID, element_id)
    return found[0].text if found else ""
