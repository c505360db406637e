#!/usr/bin/env python3
"""it_browser.py - kreishub-web in a real browser: Debian's Chromium, headless, driven
by selenium (chromedriver) against a real hub that `kreishub up` runs on free ports.

It signs in through the form as a municipality (Dormagen) and as an admin and checks:
the catalogue's filters narrow the list step by step (Handlungsfeld 2, Gesuch, nur
offene, Volltext "Zwilling"); the digital twin's page tells the demo's story; a comment
published through the CLI appears on the open item page within 1 s without a reload
(Server-Sent Events); the form publishes an offer that `kreishub log` shows with
Dormagen as sender; /log and /audit refuse Dormagen's session; hostile titles show as
text and run nothing (no dialog, a clean console); posts without the CSRF token are
refused. It writes a screenshot of each page into KH_SHOTS (BUILD/screenshots).

Environment: KH_BIN_DIR (the build's bin), KH_SHOTS (where the screenshots go).
Chromium, chromedriver and python3-selenium are Debian packages that
`scripts/install-deps.sh --test` installs; without them the test fails and says so.
"""
import base64
import ctypes
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

S_DORMAGEN = "05162004"
S_PASSWORD = "geheim-im-browser-1"
S_SCRIPT = "<script>alert(1)</script>"
S_IMG = '"><img src=x onerror=alert(1)>'
S_DEADLINE = 100        # seconds for the whole run (ctest's timeout is 120)
S_WAIT = 15             # seconds an explicit wait allows on a loaded machine
S_LIVE_MAX = 1.0        # seconds from the CLI's return to the entry on the page

s_checks = 0
s_failed = 0


def check(name, cond, detail=""):
    """Counts a check named as a sentence; prints a FAIL line with detail if not cond.
    Returns cond."""
    global s_checks, s_failed
    s_checks += 1
    if not cond:
        s_failed += 1
        print(f"FAIL {name}: {detail}", flush=True)
    return bool(cond)


def note(text):
    print(f"it_browser: {text}", flush=True)


class Abort(Exception):
    """Ends the run early: a step the rest depends on failed (already counted)."""


# ------------------------------------------------------------------- processes

def s_die_with_parent():
    """In a child before exec: SIGTERM when the test process dies (even by kill -9),
    so that no hub outlives a killed test."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)        # PR_SET_PDEATHSIG


def s_start(argv, err_path, env=None):
    """Starts argv with stdout piped, stderr into err_path. Returns the Popen."""
    err = open(err_path, "wb")
    try:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, env=env,
                                stdin=subprocess.DEVNULL, preexec_fn=s_die_with_parent)
    finally:
        err.close()


def s_await_ready(proc, name, err_path, timeout=30):
    """Reads proc's stdout until its READY line. Returns its key=value pairs as a dict;
    raises Abort (after a FAIL with its stderr) if none comes within timeout s."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    until = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < until:
        if not sel.select(until - time.monotonic()):
            break
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        buf += chunk
        whole = buf[:buf.rfind(b"\n") + 1]     # a line that has not ended may go on
        for line in whole.decode(errors="replace").splitlines():
            if line.startswith("READY "):
                sel.close()
                return dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
    sel.close()
    with open(err_path, errors="replace") as f:
        err = f.read()[-2000:]
    check(f"{name} says READY", False, f"within {timeout} s nothing; stdout '{buf[-500:]}', "
          f"stderr:\n{err}")
    raise Abort()


def s_stop(proc, name, timeout=15):
    """SIGTERM, then waits. Returns the exit status (None if it had to be killed)."""
    if proc is None or proc.poll() is not None:
        return proc.returncode if proc else None
    proc.terminate()
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        note(f"{name} had to be killed")
        return None


class Hub:
    """A hub that `kreishub up` runs in a temporary directory: broker, recorder and
    kreishub-web, each on a free port."""

    def __init__(self, bin_dir):
        self.bin = bin_dir
        self.dir = tempfile.mkdtemp(prefix="kh-browser-")
        self.data = os.path.join(self.dir, "data")
        self.users = os.path.join(self.data, "web-users")
        self.certs = os.path.join(self.data, "certs")
        self.up = None
        self.ready = {}
        self.url = None

    def program(self, name):
        return os.path.join(self.bin, name)

    def env(self, who="admin"):
        """The environment of a CLI command speaking for who (an AGS or 'admin')."""
        env = self.env_plain()
        env.update(KREISHUB_ENDPOINT=self.ready["client"], KREISHUB_LIVE=self.ready["live"],
                   KREISHUB_SERVER_CERT=self.ready["server_cert"],
                   KREISHUB_CERT=os.path.join(self.certs, f"{who}.cert_secret"))
        return env

    def cli(self, who, *args, timeout=30):
        """Runs `kreishub ARGS` speaking for who. Returns (exit status, stdout+stderr)."""
        run = subprocess.run([self.program("kreishub"), *args], env=self.env(who),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=timeout)
        return run.returncode, run.stdout.decode(errors="replace")

    def start(self):
        """Makes the certificates and two web users, starts the hub (broker, recorder,
        web node) on free ports. Raises Abort if it does not start."""
        rc, out = self.cli_plain("up", "--dir", self.data, "--certs-only")
        check("kreishub up --certs-only makes the certificates", rc == 0, out)
        pw = os.path.join(self.dir, "pw")
        with open(pw, "w") as f:
            f.write(S_PASSWORD + "\n")
        for name, ags, role in (("dormagen", S_DORMAGEN, "municipality"),
                                ("admin", "05162", "admin")):
            rc, out = self.cli_plain("web-user", "add", name, "--ags", ags, "--role", role,
                                     "--users", self.users, "--password-file", pw)
            check(f"web-user add {name} works", rc == 0, out)
        any_port = "tcp://127.0.0.1:!"
        err = os.path.join(self.dir, "up.err")
        self.up = s_start([self.program("kreishub"), "up", "--dir", self.data, "--client",
                           any_port, "--live", any_port, "--recorder", any_port, "--web",
                           "127.0.0.1:!"], err, env=self.env_plain())
        self.ready = s_await_ready(self.up, "kreishub up", err)
        if not check("kreishub up names its web page in READY", self.ready.get("web"),
                     f"{self.ready}"):
            raise Abort()
        self.url = self.ready["web"].rstrip("/")
        note(f"hub {self.ready['client']}, web {self.url}, dir {self.dir}")

    def env_plain(self):
        """The environment without the caller's KREISHUB_ settings."""
        env = dict(os.environ)
        for key in ("KREISHUB_CONFIG", "KREISHUB_ENDPOINT", "KREISHUB_LIVE", "KREISHUB_CERT",
                    "KREISHUB_SERVER_CERT", "KREISHUB_PLAIN", "KREISHUB_DIR", "KREISHUB_FROM",
                    "KREISHUB_RECORDER", "KREISHUB_WEB"):
            env.pop(key, None)
        return env

    def cli_plain(self, *args):
        """Runs `kreishub ARGS` with no hub named. Returns (status, stdout+stderr)."""
        run = subprocess.run([self.program("kreishub"), *args], env=self.env_plain(),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=60)
        return run.returncode, run.stdout.decode(errors="replace")

    def stop(self, keep):
        """Stops the hub (kreishub up stops the web node, the recorder, the broker);
        checks it stops cleanly. Removes the directory unless keep."""
        if self.up is not None:
            status = s_stop(self.up, "kreishub up", timeout=30)
            check("kreishub up stops cleanly on SIGTERM", status == 0, f"status {status}")
        if keep:
            note(f"kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def tail(self, name):
        """The end of the file name in the directory ("" if there is none)."""
        try:
            with open(os.path.join(self.dir, name), errors="replace") as f:
                return f.read()[-1500:]
        except OSError:
            return ""


def s_seq(out):
    """The seq a publishing command printed ('seq 42'), or None."""
    m = re.search(r"\bseq (\d+)", out)
    return int(m.group(1)) if m else None


def s_demo(hub):
    """Publishes the demo (raises Abort if it cannot)."""
    rc, out = hub.cli("admin", "demo", "--certs", hub.certs)
    if not check("the demo is published", rc == 0, out):
        raise Abort()


def s_items(hub):
    """Publishes the test's own items. Returns a dict of their seqs."""
    items = {}
    # Three requests in Handlungsfeld 2, one of them withdrawn: each filter narrows.
    for key, who, title in (
            ("drone", "05162016", "Gesucht: Drohnenbefliegung für den Digitalen Zwilling"),
            ("scanner", "05162012", "Gesucht: Großformatscanner für Bauakten"),
            ("aerial", "05162022", "Gesucht: Luftbilder für den Digitalen Zwilling")):
        rc, out = hub.cli(who, "publish", "request", "--from", who, "--title", title,
                          "--hf", "2", "--description", "Für den Browsertest.")
        items[key] = s_seq(out)
        check(f"the request '{title}' is published", rc == 0 and items[key], out)
    rc, out = hub.cli("05162022", "withdraw", str(items["aerial"]), "--text", "erledigt")
    check("Meerbusch withdraws its request", rc == 0, out)
    rc, out = hub.cli(S_DORMAGEN, "publish", "offer", "--from", S_DORMAGEN, "--title", S_SCRIPT,
                      "--hf", "3", "--description", S_IMG)
    items["script"] = s_seq(out)
    check("an offer titled with a script tag is published", rc == 0 and items["script"], out)
    rc, out = hub.cli("05162008", "publish", "idea", "--from", "05162008", "--title", S_IMG,
                      "--hf", "3")
    items["img"] = s_seq(out)
    check("an idea titled with an attribute breaker is published", rc == 0 and items["img"],
          out)
    rc, out = hub.cli("05162016", "withdraw", str(items["script"]), "--text", "fremd")
    check("Kaarst may not withdraw Dormagen's offer (audited)", rc == 2, f"rc {rc}: {out}")
    return items


# ------------------------------------------------------------------- the browser

def s_prerequisites():
    """Finds Chromium and chromedriver and imports selenium. Returns the two paths;
    raises Abort, saying what to install, if one is missing."""
    try:
        import selenium  # noqa: F401 (only whether it is there)
    except ImportError as e:
        check("python3-selenium is installed", False, f"{e} (for {sys.executable}); "
              "run scripts/install-deps.sh --test (Debian: python3-selenium)")
        raise Abort()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_exe = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
    if not check("chromium is installed", chromium, "no chromium on PATH: run "
                 "scripts/install-deps.sh --test (Debian: chromium)"):
        raise Abort()
    if not check("chromedriver is installed", driver_exe, "no chromedriver on PATH: run "
                 "scripts/install-deps.sh --test (Debian: chromium-driver)"):
        raise Abort()
    return chromium, driver_exe


def s_browser(work, chromium, driver_exe):
    """Starts headless Chromium through chromedriver. Returns the driver; raises Abort
    if it does not start."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    # --no-sandbox: the test runs as root (CI), where Chromium's sandbox refuses to start.
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000", "--lang=de-DE", "--no-first-run",
                "--disable-extensions", "--disable-background-networking",
                f"--user-data-dir={os.path.join(work, 'chromium')}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # A dialog that a hostile text opened is accepted when the next command comes, so
    # that the run goes on and says where; the hook below has counted it.
    opts.set_capability("unhandledPromptBehavior", "accept")
    service = Service(executable_path=driver_exe,
                      log_path=os.path.join(work, "chromedriver.log"))
    started = time.monotonic()
    try:
        driver = webdriver.Chrome(service=service, options=opts)
    except Exception as e:      # selenium's WebDriverException and the like
        check("headless Chromium starts", False, f"{type(e).__name__}: {e}")
        raise Abort()
    note(f"Chromium started in {time.monotonic() - started:.1f} s "
         f"({driver.capabilities.get('browserVersion', '?')})")
    driver.set_page_load_timeout(S_WAIT * 2)
    driver.set_script_timeout(S_WAIT)
    # Counts alert/confirm/prompt calls in the tab's sessionStorage, which outlives a
    # navigation, before any page script runs, and lets the dialogs open.
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": """
        ['alert', 'confirm', 'prompt'].forEach(function (name) {
            var real = window[name];
            window[name] = function () {
                try {
                    var n = Number(sessionStorage.getItem('khDialogs') || 0);
                    sessionStorage.setItem('khDialogs', String(n + 1));
                } catch (e) { }
                return real.apply(window, arguments);
            };
        });"""})
    return driver


class Page:
    """The driver and what the checks share: the web node's URL, the screenshots."""

    def __init__(self, driver, url, shots):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
        self.d = driver
        self.url = url
        self.shots = shots
        self.By = By
        self.Wait = WebDriverWait
        self.opened = []                # the dialogs that opened: "PATH: text"
        self.where = ""                 # the path last loaded

    def guard(self, step, again=True):
        """Runs step(); a dialog that opens meanwhile (a script ran) is noted in
        self.opened and accepted, and step is run again if again (a few times).
        Returns what step returned (None if it was not run again)."""
        from selenium.common.exceptions import UnexpectedAlertPresentException
        for _ in range(5):
            try:
                return step()
            except UnexpectedAlertPresentException as e:
                self.opened.append(f"{self.where}: {e.alert_text}")
                self.dialog_open()
                if not again:
                    return None
        return step()

    def go(self, path):
        """Loads path; returns the HTTP status of the navigation."""
        self.where = path
        self.guard(lambda: self.d.get(self.url + path), again=False)
        return self.guard(self.status)

    def status(self):
        return self.d.execute_script(
            "var n = performance.getEntriesByType('navigation')[0];"
            "return n ? n.responseStatus : 0;")

    def wait(self, what, cond, timeout=S_WAIT):
        """Waits until cond(driver) is true. Returns its value, or None after a FAIL."""
        from selenium.common.exceptions import (NoSuchElementException,
                                                StaleElementReferenceException,
                                                TimeoutException)
        try:
            return self.guard(lambda: self.Wait(
                self.d, timeout, poll_frequency=0.05, ignored_exceptions=(
                    NoSuchElementException, StaleElementReferenceException)).until(cond))
        except TimeoutException:
            check(what, False, f"not within {timeout} s on {self.d.current_url}")
            return None

    def submit(self, button, what):
        """Clicks button and waits until the next page has replaced this one (a mark
        on the window is gone) and has loaded."""
        from selenium.common.exceptions import (UnexpectedAlertPresentException,
                                                WebDriverException)

        def loaded(d):
            try:
                return d.execute_script("return window.__khOld === undefined"
                                        " && document.readyState === 'complete';")
            except UnexpectedAlertPresentException:
                raise
            except WebDriverException:  # asked while the page changes
                return False
        self.d.execute_script("window.__khOld = true;")
        self.where = f"after {what}"
        button.click()
        self.wait(f"{what}: the next page has loaded", loaded)

    def css(self, selector):
        return self.d.find_elements(self.By.CSS_SELECTOR, selector)

    def text(self, selector):
        found = self.css(selector)
        return found[0].text if found else ""

    def shot(self, name, whole=False):
        """Writes a screenshot of the page as web-NAME.png into the screenshot
        directory: what the window shows, or the whole page (at most 2400 px high)."""
        path = os.path.join(self.shots, f"web-{name}.png")
        if whole:
            size = self.d.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
            clip = {"x": 0, "y": 0, "width": size["width"],
                    "height": min(size["height"], 2400), "scale": 1}
            data = self.d.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True, "clip": clip})["data"]
            with open(path, "wb") as f:
                f.write(base64.b64decode(data))
            ok = True
        else:
            ok = self.d.save_screenshot(path)
        check(f"a screenshot of the {name} page is written", ok and os.path.getsize(path) > 10000,
              path)

    def sign_in(self, name):
        """Signs name in through the sign-in form. Returns True if the catalogue shows."""
        self.d.delete_all_cookies()
        self.go("/login")
        self.css("input[name=name]")[0].send_keys(name)
        self.css("input[name=password]")[0].send_keys(S_PASSWORD)
        self.submit(self.css("form.login button")[0], f"signing {name} in")
        return self.wait(f"{name} is signed in", lambda d: "Angemeldet: " + name in
                         self.text("header .who")) is not None

    def rows(self):
        """The catalogue's rows as (seq, type, title, hf, status) tuples (read in one
        script: a wait polls it)."""
        return [tuple(r) for r in self.d.execute_script("""
            return Array.from(document.querySelectorAll('#items tbody tr[data-seq]'),
                function (tr) {
                    var td = tr.querySelectorAll('td');
                    return [Number(tr.dataset.seq), td[1].innerText, td[2].innerText,
                            td[5].innerText, td[4].innerText];
                });""")]

    def timeline(self):
        """The item page's timeline as (AGS, text) pairs."""
        return [tuple(e) for e in self.d.execute_script("""
            return Array.from(document.querySelectorAll('#timeline li[data-seq]'),
                function (li) {
                    var ags = li.querySelector('.who .ags');
                    return [ags ? ags.textContent : '', li.innerText];
                });""")]

    def console(self):
        """The browser's console entries since the last call."""
        return self.d.get_log("browser")

    def dialogs(self):
        """How often a page of this tab called alert, confirm or prompt."""
        return int(self.d.execute_script("return sessionStorage.getItem('khDialogs') || 0;"))

    def dialog_open(self):
        """True if a dialog (alert, confirm, prompt) is open; it is accepted."""
        from selenium.common.exceptions import NoAlertPresentException
        try:
            alert = self.d.switch_to.alert
            alert.accept()
            return True
        except NoAlertPresentException:
            return False


# ------------------------------------------------------------------- the checks

def test_sign_in_page(p):
    """Without a session the catalogue sends the browser to the sign-in form."""
    p.d.delete_all_cookies()
    p.go("/")
    check("the catalogue without a session leads to the sign-in form",
          "/login" in p.d.current_url and p.css("form.login input[name=password]"),
          p.d.current_url)
    p.shot("login")
    check("the page names its icon (no /favicon.ico: a 404 in every console)",
          p.css("head link[rel=icon]"), "none")


def test_demo_catalogue(p):
    """The demo's catalogue as a signed-in municipality sees it (the README's picture)."""
    p.go("/")
    s_own_resources(p, "the catalogue")
    titles = [r[2] for r in p.rows()]
    check("the catalogue shows the demo's open items", len(titles) == 14
          and titles[0].startswith("Digitaler Zwilling"), f"{titles}")
    check("its owners are named next to their AGS", "05162020 Korschenbroich" in
          p.text("#items"), p.text("#items")[:300])
    p.shot("catalogue")


def test_cookie(p):
    """The session cookie is HttpOnly and SameSite=Strict: no script of the page sees it."""
    cookies = {c["name"]: c for c in p.d.get_cookies()}
    session = cookies.get("kh_session", {})
    check("the session cookie is HttpOnly and SameSite=Strict", session.get("httpOnly")
          and session.get("sameSite") == "Strict", f"{list(cookies.values())}")
    check("no script sees it", "kh_session" not in p.d.execute_script("return document.cookie;"),
          "document.cookie shows it")


def s_own_resources(p, where):
    """Checks that the page loaded nothing from elsewhere (the hub runs offline)."""
    urls = p.d.execute_script("return performance.getEntriesByType('resource')"
                              ".map(function (e) { return e.name; });")
    check(f"{where} loads its resources from the node only", urls
          and all(u.startswith(p.url + "/") for u in urls), f"{urls}")


def test_catalogue(p, items):
    """The filter form narrows the list step by step; each row fits every filter."""
    from selenium.webdriver.support.ui import Select
    p.go("/")
    all_rows = p.rows()
    check("the catalogue lists the demo's items and ours", len(all_rows) >= 18,
          f"{len(all_rows)} rows")
    steps = (("Handlungsfeld 2", lambda: Select(p.css("#f-hf")[0]).select_by_value("2"),
              lambda r: r[3] == "2"),
             ("type Gesuch", lambda: Select(p.css("#f-type")[0]).select_by_value("request"),
              lambda r: r[3] == "2" and r[1] == "Gesuch"),
             ("open only", lambda: p.css("input[name=open]")[0].click(),
              lambda r: r[3] == "2" and r[1] == "Gesuch" and r[4] != "zurückgezogen"),
             ("full text Zwilling", lambda: p.css("#f-q")[0].send_keys("Zwilling"),
              lambda r: r[3] == "2" and r[1] == "Gesuch" and "Zwilling" in r[2]))
    before = all_rows
    for name, act, fits in steps:
        act()
        p.submit(p.css("form.filters button[type=submit]")[0], name)
        # The search index follows the log after a pause: reload until it has ours.
        rows = p.wait(f"the filter '{name}' answers with our request", lambda d: p.rows()
                      if any(r[0] == items["drone"] for r in p.rows()) else p.d.refresh())
        rows = rows or []
        check(f"the filter '{name}' narrows the list", 0 < len(rows) < len(before),
              f"{len(rows)} rows after {len(before)}")
        check(f"every row fits '{name}' and those before", all(fits(r) for r in rows),
              f"{rows}")
        before = rows
    check("the four filters leave exactly the open drone request",
          [r[0] for r in before] == [items["drone"]], f"{before}")
    check("the form keeps the chosen filters",
          Select(p.css("#f-hf")[0]).first_selected_option.get_attribute("value") == "2"
          and p.css("input[name=open]")[0].is_selected()
          and p.css("#f-q")[0].get_attribute("value") == "Zwilling", "a filter was lost")


def test_item(p):
    """The twin's page: decided, Neuss declined then joined, seven joins on 30.03.2022,
    the funding comment, opened from the catalogue's link."""
    p.go("/?q=Zwilling&type=idea")
    links = [a for a in p.css("#items a") if a.text.startswith("Digitaler Zwilling")]
    if not check("the catalogue links the digital twin", links, "no link"):
        return None
    p.submit(links[0], "the twin's link")
    check("the twin's page opens", "/item/" in p.d.current_url and p.css("#timeline"),
          p.d.current_url)
    check("its heading is the twin's title", p.text("h1").startswith("Digitaler Zwilling"),
          p.text("h1"))
    check("its status is decided since 30.03.2022",
          p.text("dd.status").startswith("beschlossen (seit 30.03.2022"), p.text("dd.status"))
    timeline = p.timeline()
    entries = [text for ags, text in timeline]
    neuss = [text for ags, text in timeline if ags == "05162024"]
    check("Neuss declined, then joined", len(neuss) == 2 and "sagt ab" in neuss[0]
          and "beteiligt sich" in neuss[1], f"{neuss}")
    joins = [e for e in entries if "30.03.2022" in e and "beteiligt sich" in e]
    check("seven municipalities joined on 30.03.2022", len(joins) == 7, f"{len(joins)}: {joins}")
    decided = [i for i, e in enumerate(entries) if "Status: beschlossen" in e]
    order = [entries.index(neuss[0]) if neuss else -1, decided[0] if decided else -1,
             entries.index(joins[0]) if joins else -1,
             entries.index(neuss[-1]) if len(neuss) == 2 else -1]
    check("in order: Neuss declines, the Kreistag decides, seven join, Neuss joins",
          -1 not in order and order == sorted(order), f"{order}: {entries}")
    check("the funding comment is there",
          any("kommentierte" in e and "420.000 EUR" in e for e in entries), f"{entries}")
    parts = [tr.text for tr in p.css("table.participants tbody tr")]
    check("eight participants, all joined", len(parts) == 8
          and all("beteiligt" in t for t in parts), f"{parts}")
    p.shot("item", whole=True)
    s_own_resources(p, "the item page")
    return p.d.current_url


def test_live(p, hub, item_url):
    """A comment published through the CLI appears on the open page within 1 s, with
    no reload (a mark set on the window survives)."""
    p.go(item_url[len(p.url):])
    p.d.execute_script("window.__khMark = 'kept';")
    before = len(p.timeline())
    seq = re.search(r"/item/(\d+)", item_url).group(1)
    # The first comment proves the stream is there; the second one is timed, by the
    # page itself: an observer of the timeline notes the wall clock when it shows.
    for n, text in enumerate(("Live-Test: erster Kommentar", "Live-Test: zweiter Kommentar")):
        p.d.execute_script("""
            var text = arguments[0], timeline = document.getElementById('timeline');
            window.__khShown = 0;
            new MutationObserver(function (changes, observer) {
                if (timeline.textContent.indexOf(text) >= 0) {
                    window.__khShown = Date.now();
                    observer.disconnect();
                }
            }).observe(timeline, { childList: true, subtree: true });""", text)
        started = time.time()
        rc, out = hub.cli(S_DORMAGEN, "comment", seq, "--text", text)
        returned = time.time()
        check(f"Dormagen's comment {n + 1} is stored", rc == 0, out)
        shown = p.wait(f"comment {n + 1} appears on the open page",
                       lambda d: d.execute_script("return window.__khShown;"))
        if n == 1 and shown:
            took = shown / 1000 - returned
            note(f"live: the comment showed {took * 1000:.0f} ms after the CLI returned "
                 f"({(shown / 1000 - started) * 1000:.0f} ms after it was started)")
            check("a comment shows within 1 s", took <= S_LIVE_MAX, f"{took:.3f} s")
    check("the page was not reloaded", p.d.execute_script("return window.__khMark;") == "kept",
          "the mark is gone")
    after = p.timeline()
    check("the timeline grew by the two comments", len(after) == before + 2,
          f"{before} -> {len(after)}")
    check("the new entry names Dormagen", after and after[-1][0] == S_DORMAGEN
          and "Dormagen" in after[-1][1] and "kommentierte" in after[-1][1], f"{after[-1:]}")


def test_form(p, hub):
    """The form publishes an offer as Dormagen; `kreishub log` shows it with Dormagen
    as sender."""
    from selenium.webdriver.support.ui import Select
    title = f"Web-Test: Radzählstellen gemeinsam auswerten {os.getpid()}"
    p.go("/")
    links = p.css("header nav a[href='/new']")
    if not check("the header links the form for a new item", links, p.text("header")):
        return
    p.submit(links[0], "the link 'Neuer Eintrag'")
    check("the form says who sends", "05162004 Dormagen" in p.text("form.item-form"),
          p.text("form.item-form")[-200:])
    Select(p.css("select[name=type]")[0]).select_by_value("offer")
    p.css("input[name=title]")[0].send_keys(title)
    p.css("textarea[name=description]")[0].send_keys("Über das Formular veröffentlicht.")
    Select(p.css("select[name=hf]")[0]).select_by_value("3")
    p.submit(p.css("form.item-form button")[0], "publishing an offer")
    check("the form answers 200", p.status() == 200, f"{p.status()}: {p.text('main')}")
    check("its answer links to the new item", p.css("main a[href^='/item/']"),
          p.text("main")[:300])
    p.shot("new")
    rc, out = hub.cli("admin", "log", "--type", "offer", "--format", "json")
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    ours = [r for r in rows if (r.get("title") or r.get("body", {}).get("title")) == title]
    check("kreishub log shows the offer", rc == 0 and len(ours) == 1, f"rc {rc}: {out[-600:]}")
    if ours:
        check("with Dormagen as sender", ours[0].get("from") == S_DORMAGEN, f"{ours[0]}")


def s_act(p, seq, kind, value, note):
    """On item seq's page follows the link to act on it and sends the form of kind
    (respond, status) with value and note. Returns the answer's status (0 if the
    link or form is missing)."""
    from selenium.webdriver.support.ui import Select
    p.go(f"/item/{seq}")
    links = p.css("main a[href^='/act?item=']")
    if not check(f"item {seq}'s page links the forms to act on it", links, p.text("main")[:300]):
        return 0
    p.submit(links[0], "the link to act")
    forms = [f for f in p.css("form[action='/act']")
             if f.find_element(p.By.NAME, "kind").get_attribute("value") == kind]
    if not check(f"the {kind} form is there", forms, p.text("main")[:300]):
        return 0
    Select(forms[0].find_element(p.By.NAME, "value")).select_by_value(value)
    forms[0].find_element(p.By.NAME, "text").send_keys(note)
    p.submit(forms[0].find_element(p.By.TAG_NAME, "button"), f"the {kind} form")
    return p.status()


def test_act(p, items):
    """Through the item page's forms Dormagen joins Kaarst's request, which then names
    it; changing that request's status is Kaarst's, and the hub's refusal is told."""
    status = s_act(p, items["drone"], "respond", "join", "Dormagen fliegt mit.")
    check("joining is stored", status == 200 and "Gespeichert" in p.text("main"),
          f"{status}: {p.text('main')[:300]}")
    p.go(f"/item/{items['drone']}")
    parts = [tr.text for tr in p.css("table.participants tbody tr")]
    check("the item names Dormagen as joined", any("05162004 Dormagen" in t
                                                   and "beteiligt" in t for t in parts),
          f"{parts}")
    check("its timeline too", any(ags == S_DORMAGEN and "Dormagen fliegt mit." in text
                                  for ags, text in p.timeline()), f"{p.timeline()[-2:]}")
    status = s_act(p, items["drone"], "status", "decided", "Beschlossen?")
    check("a status change of another's item is refused with the hub's NOT_OWNER",
          status == 403 and "NOT_OWNER" in p.text("main"), f"{status}: {p.text('main')[:300]}")


def s_fetch_post(p, path, body):
    """POSTs body (a urlencoded form) to path with the browser's fetch, its cookies
    included. Returns the status."""
    return p.d.execute_async_script("""
        var done = arguments[arguments.length - 1];
        fetch(arguments[0], { method: 'POST', credentials: 'same-origin', redirect: 'manual',
                              headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
                              body: arguments[1] })
            .then(function (r) { done(r.type === 'opaqueredirect' ? 303 : r.status); })
            .catch(function (e) { done(-1); });""", path, body)


def test_csrf(p, hub):
    """A post without the session's CSRF token, or with a forged one, is refused; the
    same post with the form's token goes through (so it is the token that counts)."""
    p.go("/new")
    token = p.css("input[name=csrf]")[0].get_attribute("value")
    form = "type=offer&hf=1&title="
    status = s_fetch_post(p, "/new", form + urllib.parse.quote("CSRF-Test ohne Token"))
    check("a post without the CSRF token is 403", status == 403, f"{status}")
    status = s_fetch_post(p, "/new", "csrf=" + "0" * len(token) + "&" + form
                          + urllib.parse.quote("CSRF-Test falsches Token"))
    check("a post with a forged token is 403", status == 403, f"{status}")
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in p.d.get_cookies())
    request = urllib.request.Request(
        p.url + "/new", method="POST", headers={"Cookie": cookies},
        data=(form + urllib.parse.quote("CSRF-Test urllib")).encode())
    try:
        status = urllib.request.urlopen(request, timeout=S_WAIT).status
    except urllib.error.HTTPError as e:
        status = e.code
    check("a plain POST with the session cookie but no token is 403", status == 403,
          f"{status}")
    status = s_fetch_post(p, "/new", "csrf=" + token + "&" + form
                          + urllib.parse.quote("CSRF-Test mit Token"))
    check("the same post with the form's token is taken", status in (200, 303), f"{status}")
    rc, out = hub.cli("admin", "log", "--type", "offer", "--format", "json")
    check("only the post with the token was published", rc == 0 and "CSRF-Test mit Token" in out
          and "ohne Token" not in out and "falsches Token" not in out
          and "CSRF-Test urllib" not in out, out[-600:])


def test_admin_only(p):
    """Dormagen's session gets 403 for the log, its exports and the audit."""
    for path in ("/log", "/audit"):
        status = p.go(path)
        check(f"{path} refuses a municipality's session", status == 403
              and "Kein Zugriff" in p.text("h1") and not p.css("table"),
              f"{status}: {p.text('main')[:200]}")
        check(f"{path}'s error page names its icon too", p.css("head link[rel=icon]"), "none")
    status = p.d.execute_async_script("""
        var done = arguments[arguments.length - 1];
        fetch('/log.csv').then(function (r) { done(r.status); }, function () { done(-1); });""")
    check("/log.csv refuses it too", status == 403, f"{status}")


def s_clean(p, where):
    """Checks that no dialog opened, no alert was called and the console is clean."""
    check(f"no dialog is open on {where}", not p.dialog_open(), "one is")
    check(f"no dialog opened on {where} or before", not p.opened, f"{p.opened}")
    calls = p.dialogs()
    check(f"nothing called alert on {where} or before", calls == 0, f"{calls} calls")
    entries = p.console()
    check(f"the console is clean on {where}", not entries, f"{entries}")


def test_hostile(p, items, admin):
    """Hostile titles and descriptions show as text and execute nothing."""
    both = (S_SCRIPT, S_IMG)
    if not admin:
        # The checks can fail: a script's console line and a dialog are both seen.
        p.go("/")
        p.d.execute_script("console.error('kh-probe');")
        check("the console log is read", any("kh-probe" in e["message"] for e in p.console()),
              "the probe's line is missing")
        calls = p.dialogs()
        p.d.execute_script("setTimeout(function () { alert('kh-probe'); }, 0);")
        p.wait("a probe's dialog is seen", lambda d: p.dialog_open())
        check("and counted", p.dialogs() == calls + 1, f"{calls} -> {p.dialogs()}")
        p.d.execute_script("sessionStorage.setItem('khDialogs', arguments[0]);", str(calls))
        pages = ((f"/item/{items['script']}", both), (f"/item/{items['img']}", (S_IMG,)),
                 ("/?hf=3", both))
    else:
        pages = (("/log?q=alert", both), ("/log?type=offer&type=idea", both))
    for path, texts in pages:
        p.go(path)
        p.wait(f"{path} has loaded", lambda d: d.execute_script(
            "return document.readyState") == "complete")
        body = p.text("main")
        for text in texts:
            check(f"{path} shows {text} as text", text in body, body[:300])
        check(f"{path} has no injected element",
              not p.css("main img, main script, body > script:not([src])")
              and not p.css("[onerror]"), "one is there")
        s_clean(p, path)
    if not admin:
        p.go(f"/item/{items['script']}")
        check("the item's heading is the literal title", p.text("h1") == S_SCRIPT, p.text("h1"))
        check("its description is the literal text", any(dd.text == S_IMG for dd in
                                                         p.css("dl.facts dd")), "not found")
        check("the page title too", p.d.title.startswith(S_SCRIPT), p.d.title)
        p.shot("item-hostile")
        s_clean(p, "the hostile item")


def test_sign_out(p):
    """The header's sign-out button ends the session: its cookie opens nothing more."""
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in p.d.get_cookies())
    p.go("/")
    buttons = p.css("header form[action='/logout'] button")
    if not check("the header has a sign-out button", buttons, p.text("header")):
        return
    p.submit(buttons[0], "signing out")
    p.go("/")
    check("after signing out the catalogue leads to the sign-in form",
          "/login" in p.d.current_url, p.d.current_url)
    request = urllib.request.Request(p.url + "/", headers={"Cookie": cookie})
    opener = urllib.request.build_opener(s_NoRedirect())
    try:
        status = opener.open(request, timeout=S_WAIT).status
    except urllib.error.HTTPError as e:
        status = e.code
    check("the old session cookie is refused", status in (303, 403), f"{status}")


class s_NoRedirect(urllib.request.HTTPRedirectHandler):
    """Lets urllib report a redirect instead of following it."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def test_admin_pages(p):
    """As the admin: the log, the statistics and the audit, with screenshots."""
    p.go("/")
    check("the admin's header has no form for a new item (an admin publishes nothing)",
          not p.css("header nav a[href='/new']") and p.css("header nav a[href='/audit']"),
          p.text("header"))
    check("the log is served to the admin", p.go("/log") == 200, f"{p.status()}")
    check("it lists messages", len(p.css("tr[data-seq]")) >= 30,
          f"{len(p.css('tr[data-seq]'))} rows")
    details = p.css("details")
    if check("its rows expand", details, "no <details>"):
        details[0].click()
        check("a row opens to its body", details[0].get_attribute("open") is not None,
              "it stays closed")
    p.shot("log")
    check("the statistics are served", p.go("/stats") == 200, f"{p.status()}")
    check("with their charts", len(p.css("svg")) >= 3, f"{len(p.css('svg'))} charts")
    s_own_resources(p, "the statistics")
    p.shot("stats")
    check("the audit is served to the admin", p.go("/audit") == 200, f"{p.status()}")
    check("it shows Kaarst's refused withdrawal", "05162016" in p.text("main")
          and "NOT_OWNER" in p.text("main"), p.text("main")[:400])
    p.shot("audit")
    s_clean(p, "the admin's pages")


# ------------------------------------------------------------------- main

def s_run(hub, shots):
    chromium, driver_exe = s_prerequisites()
    hub.start()
    s_demo(hub)
    driver = s_browser(hub.dir, chromium, driver_exe)
    try:
        p = Page(driver, hub.url, shots)
        test_sign_in_page(p)
        if not p.sign_in("dormagen"):
            raise Abort()
        test_demo_catalogue(p)
        test_cookie(p)
        items = s_items(hub)
        test_catalogue(p, items)
        item_url = test_item(p)
        if item_url:
            test_live(p, hub, item_url)
        test_form(p, hub)
        test_act(p, items)
        test_csrf(p, hub)
        test_admin_only(p)
        test_hostile(p, items, admin=False)
        test_sign_out(p)
        if not p.sign_in("admin"):
            raise Abort()
        test_admin_pages(p)
        test_hostile(p, items, admin=True)
        check("no page called alert, confirm or prompt in the whole run", p.dialogs() == 0
              and not p.opened, f"{p.dialogs()} calls, {p.opened}")
    finally:
        driver.quit()


def s_timeout(signum, frame):
    raise TimeoutError(f"the test ran out of its {S_DEADLINE} s")


def main():
    bin_dir = os.environ.get("KH_BIN_DIR")
    shots = os.environ.get("KH_SHOTS") or os.path.join(os.getcwd(), "screenshots")
    if not bin_dir or not os.path.exists(os.path.join(bin_dir, "kreishub-web")):
        print(f"FAIL KH_BIN_DIR ({bin_dir}) holds no kreishub-web", flush=True)
        return 1
    os.makedirs(shots, exist_ok=True)
    signal.signal(signal.SIGALRM, s_timeout)
    signal.signal(signal.SIGTERM, s_timeout)
    signal.alarm(S_DEADLINE)
    started = time.monotonic()
    hub = Hub(bin_dir)
    try:
        s_run(hub, shots)
    except Abort:
        pass
    except Exception as e:          # a step that threw: say which, with its trace
        import traceback
        traceback.print_exc(file=sys.stdout)
        check("the run completes", False, f"{type(e).__name__}: {e}")
    finally:
        signal.alarm(0)
        started_up = hub.up is not None
        if s_failed and started_up:
            note(f"kreishub up's stderr:\n{hub.tail('up.err')}")
        hub.stop(keep=s_failed > 0 and started_up)
    note(f"{time.monotonic() - started:.1f} s, screenshots in {shots}")
    print(f"it_browser: {s_checks} checks, {s_failed} failed", flush=True)
    return 1 if s_failed else 0


if __name__ == "__main__":
    sys.exit(main())
