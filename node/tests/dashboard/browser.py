#!/usr/bin/env python3
"""The live dashboard in headless Chromium, driven by Selenium.

    python3 browser.py CASE URL [OUTDIR]

Opens the dashboard a running `watt dev` serves at URL (its RPC address,
e.g. http://127.0.0.1:9944/) and performs one CASE (see CASES below). Prints
what it checked; exits 0 on success, 1 when the page did not do what the
dashboard promises (the message says what was expected, what the page
showed, and an excerpt of its visible text), 2 on a usage error, 3 when the
browser or its driver failed. OUTDIR, if given, receives screenshots (the
`screenshots` case, and a `<case>-failure.png` when a case fails).

Every case ends by checking that the browser's console logged no SEVERE
entry and that no JavaScript alert is open. Every wait is bounded: a case
gives up after CASE_BUDGET_S seconds at most.

Needs Debian's chromium and chromium-driver and the Python selenium package
(scripts/prereqs: ensure_selenium). The driver is /usr/bin/chromedriver,
named explicitly, and SE_OFFLINE=true: Selenium Manager never goes to the
network.
"""

import json
import os
import re
import sys
import time
import traceback

os.environ.setdefault("SE_OFFLINE", "true")

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    NoAlertPresentException,
    UnexpectedAlertPresentException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

CHROMIUM = os.environ.get("WATT_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("WATT_CHROMEDRIVER", "/usr/bin/chromedriver")

# No case may run longer than this (the Rust test starts `watt dev` first,
# and every case must finish well under 90 s in all).
CASE_BUDGET_S = 85.0
LAPTOP = (1366, 900)
PHONE = (390, 844)

STARTED = time.monotonic()


class Failure(Exception):
    """The page did not do what the dashboard promises."""


def log(msg):
    print(f"[{time.monotonic() - STARTED:5.1f}s] {msg}", flush=True)


def left():
    return CASE_BUDGET_S - (time.monotonic() - STARTED)


class Browser:
    def __init__(self, base, outdir):
        self.base = base if base.endswith("/") else base + "/"
        self.outdir = outdir
        self.console = []  # every browser log entry seen so far
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            f"--window-size={LAPTOP[0]},{LAPTOP[1]}",
        ]:
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # Leave an alert open (and say so), rather than dismiss it
        # silently: an alert is a failure this script must see.
        options.set_capability("unhandledPromptBehavior", "ignore")
        self.driver = webdriver.Chrome(
            service=Service(executable_path=CHROMEDRIVER), options=options
        )
        self.driver.set_page_load_timeout(30)
        self.driver.set_script_timeout(60)

    def quit(self):
        try:
            self.driver.quit()
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass

    # ----- reading the page ------------------------------------------------

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def text(self, selector):
        """The visible text of the first element matching `selector`, or None."""
        return self.js(
            "const e = document.querySelector(arguments[0]);"
            "return e ? e.innerText : null;",
            selector,
        )

    def state(self):
        return self.js(
            "return {url: location.href, page: document.body ? document.body.dataset.page : null,"
            " loaded: document.body ? document.body.dataset.loaded : null,"
            " text: document.body ? document.body.innerText : ''};"
        )

    def describe(self):
        """Where the browser is and what it shows, for a failure message."""
        try:
            alert = self.open_alert()
            if alert is not None:
                return f"a JavaScript alert is open: {alert!r}"
            s = self.state()
            text = re.sub(r"\n\s*\n+", "\n", s["text"] or "").strip()
            if len(text) > 1500:
                text = text[:1500] + " [...]"
            return (
                f"url {s['url']}, body data-page={s['page']!r} data-loaded={s['loaded']!r}\n"
                f"visible text:\n{text}"
            )
        except WebDriverException as e:
            return f"(the page could not be read: {e.msg})"

    def open_alert(self):
        """The text of the open JavaScript alert, or None."""
        try:
            return self.driver.switch_to.alert.text
        except NoAlertPresentException:
            return None

    def drain_console(self):
        try:
            entries = self.driver.get_log("browser")
        except UnexpectedAlertPresentException:
            return
        self.console.extend(entries)

    # ----- waiting and navigating --------------------------------------------

    def wait(self, what, check, timeout):
        """Polls `check()` until it returns something truthy; returns it.

        Gives up after `timeout` seconds (or when the case's budget runs
        out), failing with `what` was expected and what the page showed."""
        timeout = min(timeout, max(left(), 0.5))
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                last = check()
            except UnexpectedAlertPresentException:
                raise Failure(f"while waiting for {what}: a JavaScript alert opened: "
                              f"{self.open_alert()!r}") from None
            if last:
                return last
            if time.monotonic() >= deadline:
                raise Failure(
                    f"expected {what} within {timeout:.0f} s; the last value seen: {last!r}\n"
                    f"the page: {self.describe()}"
                )
            time.sleep(0.2)

    def wait_page(self, name, timeout=20):
        """Waits until body[data-page=name][data-loaded="1"]."""
        def ready():
            s = self.js(
                "return [document.body && document.body.dataset.page,"
                " document.body && document.body.dataset.loaded];"
            )
            return s[0] == name and s[1] == "1"
        self.wait(f'the {name} page (body data-page="{name}", data-loaded="1")', ready, timeout)

    def open(self, route, name, timeout=20):
        """A fresh load of the dashboard at `route` (`#/...`)."""
        self.driver.get(self.base + route)
        self.wait_page(name, timeout)

    def go(self, route, name, timeout=20):
        """Navigates inside the page app (location.hash = route), no reload.

        data-loaded is cleared first so that the new page's own "1" is
        what the wait sees (the app sets it once that page has rendered)."""
        self.js(
            "document.body.dataset.loaded = ''; location.hash = arguments[0];", route
        )
        self.wait_page(name, timeout)

    def search(self, query, name, timeout=20):
        """Types `query` into the header's search box and submits it."""
        form = self.driver.find_elements(By.CSS_SELECTOR, "form#search-form")
        if not form:
            raise Failure(f"expected form#search-form in the header; the page: {self.describe()}")
        box = self.driver.find_elements(By.CSS_SELECTOR, "form#search-form input#search")
        if not box:
            raise Failure(f"expected input#search inside form#search-form; the page: {self.describe()}")
        self.js("document.body.dataset.loaded = '';")
        box[0].clear()
        box[0].send_keys(query)
        box[0].send_keys(Keys.ENTER)
        self.wait_page(name, timeout)

    # ----- the page's own client ---------------------------------------------

    def send(self, body_js, what):
        """Signs and submits a body as dev-valley-coop with the page's
        @watt/client and waits until it is finalised; returns
        {id, height, coop, recipient}."""
        script = """
const done = arguments[arguments.length - 1];
(async () => {
  const { WattClient, devKey, bodies } = await import('@watt/client');
  const watt = new WattClient(location.origin);
  const coop = devKey('dev-valley-coop');
  const recipient = devKey('dashboard-recipient');
  const { tx, status } = await watt.sendTransaction(coop, (%s), { timeoutMs: 45000 });
  await watt.close();
  return { id: tx.id, status: status.status, height: status.height,
           coop: coop.account, recipient: recipient.account };
})().then(done, (e) => done({ error: String((e && e.stack) || e) }));
""" % body_js
        r = self.driver.execute_async_script(script)
        if not isinstance(r, dict) or r.get("error") or r.get("status") != "finalized":
            raise Failure(f"expected {what}, sent from the page with @watt/client, to finalise; got {r!r}")
        if not re.fullmatch(r"0x[0-9a-f]{64}", r["id"] or ""):
            raise Failure(f"expected the transaction id as 0x hex; got {r['id']!r}")
        log(f"sent {what} from the page: {r['id']} finalised at height {r['height']}")
        return r

    def screenshot(self, name):
        if not self.outdir:
            return
        path = os.path.join(self.outdir, name)
        self.driver.save_screenshot(path)
        log(f"saved {path}")

    # ----- the checks every case ends with -----------------------------------

    def finish(self):
        alert = self.open_alert()
        if alert is not None:
            raise Failure(f"expected no JavaScript alert; one is open: {alert!r}")
        self.drain_console()
        severe = [e for e in self.console if e.get("level") == "SEVERE"]
        if severe:
            lines = "\n".join(f"  {e.get('source', '')}: {e.get('message', '')}" for e in severe)
            raise Failure(f"expected no SEVERE entries in the browser console; got {len(severe)}:\n{lines}")
        log(f"no JavaScript alert open; console: {len(self.console)} entries, none SEVERE")


# --------------------------------------------------------------------------
# The cases.
# --------------------------------------------------------------------------

def case_overview(b):
    """The overview's finalised height follows the chain over the WebSocket,
    without a reload."""
    b.open("#/", "overview")
    b.wait('#connection to read "live"', lambda: (b.text("#connection") or "").strip() == "live", 20)
    log('#connection reads "live"')

    def height():
        t = (b.text("#finalized-height") or "").strip()
        return int(t) if re.fullmatch(r"\d+", t) else None

    h0 = b.wait("#finalized-height to show a height (digits only)", height, 15)
    log(f"#finalized-height: {h0}")
    b.js("window.__marker = 1;")
    h1 = b.wait(f"#finalized-height to grow past {h0} without a reload",
                lambda: (lambda h: h if h is not None and h > h0 else None)(height()), 20)
    marker = b.js("return window.__marker;")
    if marker != 1:
        raise Failure(f"expected window.__marker to survive (no reload); got {marker!r}")
    log(f"#finalized-height grew to {h1} live; window.__marker still 1 (no reload)")


def case_ridge_stops(b):
    """The ridge site runs short of credits and is shown stopped, with the reason."""
    b.open("#/site/2", "site")
    seen = []

    def stopped():
        s = (b.text("#site-status") or "").strip()
        if not seen or seen[-1] != s:
            seen.append(s)
            log(f"#site-status: {s!r}")
        return s.lower().startswith("stopped")

    b.wait('#site-status of site 2 (RIDGE-MINE) to start with "stopped"', stopped, 80)
    reason = (b.text("#site-reason") or "").strip()
    if not reason:
        raise Failure(f"expected #site-reason to say why site 2 stopped; it is empty\nthe page: {b.describe()}")
    if not re.search(r"shortfall|credit", reason, re.I):
        raise Failure(f"expected #site-reason to mention a shortfall or credits; got {reason!r}")
    log(f"#site-reason: {reason!r}")

    # The list of sites agrees.
    b.go("#/sites", "sites")
    sites = b.wait("elements with data-site on #/sites", lambda: b.js(
        "return [...document.querySelectorAll('[data-site]')].map((e) => ({"
        " site: e.dataset.site,"
        " status: (e.querySelector('.status') || {}).innerText,"
        " reason: (e.querySelector('.reason') || {}).innerText }));"), 10)
    for s in sites:
        st = (s["status"] or "").strip()
        if not re.match(r"(running|limited|stopped)", st):
            raise Failure(f'expected the .status of [data-site="{s["site"]}"] to start with running, '
                          f"limited or stopped; got {s['status']!r}")
    ridge = [s for s in sites if s["site"] == "2"]
    if not ridge:
        raise Failure(f'expected an element [data-site="2"] on #/sites; got sites {[s["site"] for s in sites]}')
    if not (ridge[0]["status"] or "").strip().startswith("stopped"):
        raise Failure(f'expected [data-site="2"] .status to start with "stopped"; got {ridge[0]["status"]!r}')
    if not re.search(r"shortfall|credit", ridge[0]["reason"] or "", re.I):
        raise Failure(f'expected [data-site="2"] .reason to mention a shortfall or credits; got {ridge[0]["reason"]!r}')
    log("#/sites: " + "; ".join(f"{s['site']}: {(s['status'] or '').strip()}" for s in sites))


def find_account_tx(b, acct, tx_hash, timeout=30):
    """Searches `acct` and waits (reloading) until #account-txs links `tx_hash`."""
    b.search(acct, "account")
    want = f"#/account/{acct}"
    h = b.js("return location.hash;")
    if h != want:
        raise Failure(f"expected searching {acct} to show {want}; the page went to {h!r}")
    deadline = time.monotonic() + min(timeout, max(left(), 1))
    while True:
        links = b.js(
            "const l = document.querySelector('#account-txs');"
            "return l ? [...l.querySelectorAll('a')].map((a) => a.innerText.trim()) : null;"
        )
        if links is None:
            raise Failure(f"expected #account-txs on {want}; the page: {b.describe()}")
        if tx_hash in links:
            log(f"#account-txs of {acct} links {tx_hash}")
            return
        if time.monotonic() >= deadline:
            raise Failure(f"expected #account-txs of {acct} to have a link whose text is {tx_hash} "
                          f"within {timeout} s; its links: {links}\nthe page: {b.describe()}")
        time.sleep(1.5)
        b.js("document.body.dataset.loaded = '';")
        b.driver.refresh()
        b.wait_page("account", 20)


def case_explorer(b):
    """A transfer sent from the page is found by its hash and by its recipient."""
    b.open("#/explorer", "explorer")
    r = b.send("bodies.transfer(recipient.account, 250)", "a transfer of 250 Wh to dashboard-recipient")
    b.search(r["id"], "tx")
    h = b.js("return location.hash;")
    if h != f"#/tx/{r['id']}":
        raise Failure(f"expected searching the hash to show #/tx/{r['id']}; the page went to {h!r}")
    shown = b.wait("#tx-hash to show the hash", lambda: (b.text("#tx-hash") or "").strip(), 10)
    if shown != r["id"]:
        raise Failure(f"expected #tx-hash to read {r['id']}; got {shown!r}")
    log(f"search {r['id'][:18]}... shows #/tx/ with #tx-hash = the hash")
    find_account_tx(b, r["recipient"], r["id"])


def case_feeder_alert(b):
    """The unexplained load on DEV-1/RIDGE is shown there, and not on DEV-1/NORTH."""
    b.open("#/feeder/DEV-1/RIDGE", "feeder")
    # The dev chain registers its feeders in its first blocks: until then
    # the page says there is no such feeder, and it follows the chain.
    status = b.wait("#feeder-status on #/feeder/DEV-1/RIDGE (once the chain has registered the feeder)",
                    lambda: (b.text("#feeder-status") or "").strip(), 15)
    log(f"#feeder-status of DEV-1/RIDGE: {status!r}")
    alerts = b.wait("#alerts of DEV-1/RIDGE to contain \"unexplained\" (live, no reload)",
                    lambda: (lambda t: t if "unexplained" in t.lower() else None)(b.text("#alerts") or ""), 60)
    log(f"#alerts of DEV-1/RIDGE: {alerts.strip()!r}")
    if not re.search(r"\d[\d,.]*\s*[kM]Wh", alerts):
        raise Failure(f"expected #alerts to give the unexplained amount in kWh or MWh; got {alerts!r}")

    b.go("#/feeder/DEV-1/NORTH", "feeder")
    b.wait("the page to name DEV-1/NORTH", lambda: "NORTH" in (b.text("#page") or ""), 10)
    north = b.text("#alerts")
    if north is None:
        raise Failure(f"expected #alerts on #/feeder/DEV-1/NORTH; the page: {b.describe()}")
    if "unexplained" in north.lower():
        raise Failure(f"expected no unexplained-load alert on DEV-1/NORTH; #alerts shows {north!r}")
    log(f"#alerts of DEV-1/NORTH: {north.strip()!r} (no unexplained load)")


def no_injection(b, where):
    n = b.js("return document.querySelectorAll('#page img').length;")
    if n != 0:
        html = b.js("return [...document.querySelectorAll('#page img')].map((e) => e.outerHTML);")
        raise Failure(f"expected no <img> in #page on {where} (chain text rendered as markup); got {n}: {html}")
    scripts = b.js("return document.querySelectorAll('#page script').length;")
    if scripts != 0:
        raise Failure(f"expected no <script> in #page on {where}; got {scripts}")
    alert = b.open_alert()
    if alert is not None:
        raise Failure(f"expected no JavaScript alert on {where}; one is open: {alert!r}")
    b.drain_console()
    severe = [e for e in b.console if e.get("level") == "SEVERE"]
    if severe:
        raise Failure(f"expected no console errors on {where}; got {severe}")
    log(f"{where}: no <img> or <script> in #page, no alert, no console error")


def case_xss(b):
    """Chain text with markup in it is shown as text, never run."""
    purpose = "<img src=x onerror=alert(1)>"
    beneficiary = "</script><script>alert(2)</script>"
    b.open("#/explorer", "explorer")
    r = b.send(f"bodies.retire(100, {json.dumps(beneficiary)}, {json.dumps(purpose)})",
               "a retirement whose beneficiary and purpose are markup")
    b.go(f"#/tx/{r['id']}", "tx")
    body = b.wait("#tx-body", lambda: b.text("#tx-body"), 10)
    for what, lit in [("purpose", purpose), ("beneficiary", beneficiary)]:
        if lit not in body:
            raise Failure(f"expected #tx-body to show the {what} literally, {lit!r}; its text: {body!r}")
    log("#tx-body shows the purpose and beneficiary as literal text")
    time.sleep(1)  # give an injected onerror a moment to fire
    no_injection(b, f"#/tx/{r['id'][:18]}...")

    b.go(f"#/account/{r['coop']}", "account")
    # The retirement is among the coop's recent transactions (or will be).
    deadline = time.monotonic() + min(30, max(left(), 1))
    while r["id"] not in (b.text("#account-txs") or ""):
        if time.monotonic() >= deadline:
            raise Failure(f"expected #account-txs of the coop to list {r['id']} within 30 s; "
                          f"the page: {b.describe()}")
        time.sleep(1.5)
        b.js("document.body.dataset.loaded = '';")
        b.driver.refresh()
        b.wait_page("account", 20)
    time.sleep(1)
    no_injection(b, f"#/account/{r['coop'][:14]}...")


PAGES = [
    ("overview", "#/", "overview"),
    ("zones", "#/zones", "zones"),
    ("zone", "#/zone/DEV-1", "zone"),
    ("feeders", "#/feeders", "feeders"),
    ("feeder", "#/feeder/DEV-1/RIDGE", "feeder"),
    ("sites", "#/sites", "sites"),
    ("site", "#/site/2", "site"),
    ("meters", "#/meters", "meters"),
    ("meter", "#/meter/1", "meter"),
    ("explorer", "#/explorer", "explorer"),
    ("block", None, "block"),
    ("tx", None, "tx"),
]


def case_screenshots(b):
    """Every page renders text, fits a phone's width, and (with OUTDIR) is photographed."""
    b.open("#/explorer", "explorer")
    r = b.send("bodies.transfer(recipient.account, 250)", "a transfer of 250 Wh to dashboard-recipient")
    # About 30 s of chain at 600x (five chain hours), so that charts have data.
    wait_s = 28 - (time.monotonic() - STARTED)
    if wait_s > 0:
        log(f"letting the chain run {wait_s:.0f} s more so that charts have data")
        time.sleep(wait_s)
    b.drain_console()
    routes = {"block": f"#/block/{r['height']}", "tx": f"#/tx/{r['id']}"}
    for name, route, page in PAGES:
        route = route or routes[name]
        b.driver.set_window_size(*LAPTOP)
        b.go(route, page)
        text = (b.text("#page") or "").strip()
        if len(text) < 40:
            raise Failure(f"expected #page on {route} to show at least 40 characters of text; "
                          f"got {len(text)}: {text!r}")
        time.sleep(0.3)
        b.screenshot(f"{name}-laptop.png")
        b.driver.set_window_size(*PHONE)

        def fits():
            w = b.js("return [document.documentElement.scrollWidth, window.innerWidth];")
            return w if w[1] <= PHONE[0] + 20 and w[0] <= w[1] + 1 else None

        try:
            b.wait(f"{route} to fit the phone's width", fits, 3)
        except Failure:
            sw, iw = b.js("return [document.documentElement.scrollWidth, window.innerWidth];")
            wide = b.js("""
const w = window.innerWidth;
return [...document.querySelectorAll('body *')]
  .filter((e) => e.getBoundingClientRect().right > w + 1)
  .slice(0, 8)
  .map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
       + (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\\s+/).join('.') : '')
       + ' (right edge ' + Math.round(e.getBoundingClientRect().right) + ' px)');
""")
            raise Failure(f"expected no horizontal overflow on {route} at {PHONE[0]}x{PHONE[1]}: "
                          f"document.documentElement.scrollWidth {sw} > window.innerWidth {iw} + 1; "
                          f"elements past the right edge: {wide}") from None
        b.screenshot(f"{name}-phone.png")
        log(f"{route}: {len(text)} characters of text; fits {PHONE[0]} px wide")
    b.driver.set_window_size(*LAPTOP)


CASES = {
    "overview": case_overview,
    "ridge_stops": case_ridge_stops,
    "explorer": case_explorer,
    "feeder_alert": case_feeder_alert,
    "xss": case_xss,
    "screenshots": case_screenshots,
}


def main(argv):
    if len(argv) not in (3, 4) or argv[1] not in CASES:
        print(f"usage: {argv[0]} CASE URL [OUTDIR]; CASE is one of {', '.join(CASES)}", file=sys.stderr)
        return 2
    case, url = argv[1], argv[2]
    outdir = argv[3] if len(argv) == 4 else None
    if outdir:
        os.makedirs(outdir, exist_ok=True)
    log(f"case {case} against {url}")
    try:
        b = Browser(url, outdir)
    except WebDriverException as e:
        print(f"could not start headless Chromium ({CHROMIUM}) with {CHROMEDRIVER}: {e.msg}\n"
              "(scripts/prereqs: ensure_selenium installs chromium, chromium-driver and selenium)",
              file=sys.stderr)
        return 3
    try:
        CASES[case](b)
        b.finish()
    except Failure as f:
        print(f"FAILED {case}: {f}", file=sys.stderr)
        if outdir:
            try:
                b.driver.save_screenshot(os.path.join(outdir, f"{case}-failure.png"))
            except WebDriverException:
                pass
        b.drain_console()
        if b.console:
            print("browser console:", file=sys.stderr)
            for e in b.console:
                print(f"  {e.get('level')} {e.get('source', '')}: {e.get('message', '')}", file=sys.stderr)
        return 1
    except UnexpectedAlertPresentException:
        print(f"FAILED {case}: expected no JavaScript alert; one opened: {b.open_alert()!r}", file=sys.stderr)
        return 1
    except WebDriverException as e:
        print(f"FAILED {case}: the browser or its driver failed: {e.msg}\n{traceback.format_exc()}\n"
              f"the page: {b.describe()}", file=sys.stderr)
        return 3
    finally:
        b.quit()
    log(f"case {case} passed in {time.monotonic() - STARTED:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
