"""Fixtures for the browser test: the built book served on localhost, and Debian's Chromium.

Run with ``make test-browser`` (which builds the book and the student edition first), or
``pytest -m browser tests/browser`` on a built book. Without a browser, or without a built book,
every test here is skipped with a message that says what is missing.

Nothing here downloads a browser: Playwright drives the Chromium that Debian's ``chromium`` package
installs (``.ci/run`` installs it on a fresh machine). The server listens on 127.0.0.1 only, on a
free port, and stops when the test session ends; the browser aborts, and the tests report, any
request that would leave the machine.
"""

from __future__ import annotations

import contextlib
import functools
import html.parser
import http.server
import importlib.util
import os
import pathlib
import re
import shutil
import threading
import urllib.parse

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The built book; BOOK_HTML=/path/to/html checks a book built elsewhere.
HTML = pathlib.Path(os.environ.get("BOOK_HTML") or ROOT / "_build" / "html").resolve()
# The student edition's book (make student); STUDENT_HTML=/path/to/html checks one built elsewhere.
STUDENT_HTML = pathlib.Path(
    os.environ.get("STUDENT_HTML") or ROOT / "_build" / "student" / "_build" / "html"
).resolve()


def _axe_script():
    # axe-core's axe.min.js as shipped inside the PyPI package axe-playwright-python (pinned in
    # requirements.txt); only the script is used, so the package's Python code is never imported.
    spec = importlib.util.find_spec("axe_playwright_python")
    if spec is None or not spec.submodule_search_locations:
        return pathlib.Path("axe-playwright-python-is-not-installed")
    return pathlib.Path(list(spec.submodule_search_locations)[0]) / "axe.min.js"


AXE = _axe_script()

# Where Debian's chromium package puts the browser; CHROMIUM overrides it.
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")

# A local port where nothing listens (the discard service's number): see CHROMIUM_ARGS.
CLOSED_PORT = 9

# The flags that let headless Chromium run as root on a machine with no network but the loopback:
# without the background-networking ones it keeps trying, and failing, to reach Google's hosts.
CHROMIUM_ARGS = [
    # Every request to another host goes to a proxy on a closed local port and fails there
    # (ERR_PROXY_CONNECTION_FAILED), so no page request leaves the machine and the test reports it;
    # Chromium never sends the loopback through a proxy. (Playwright's own request routing would do
    # the same but turns off the HTTP cache, which makes every page slower to load.)
    f"--proxy-server=http://127.0.0.1:{CLOSED_PORT}",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# The width at which the book is checked: a laptop screen at 100% zoom.
VIEWPORT = {"width": 1280, "height": 900}


def chromium_path():
    """The Chromium executable to drive, or None when none is installed."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if pathlib.Path(explicit).is_file() else None
    for candidate in CHROMIUM_CANDIDATES:
        if pathlib.Path(candidate).is_file():
            return candidate
    return shutil.which("chromium")


# The path under which the server also offers axe-core, so that the browser caches it across pages.
AXE_URL_PATH = "/__axe-core__/axe.min.js"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the built book, and axe-core at AXE_URL_PATH; a 404 is reported by the test, not printed."""

    def translate_path(self, path):
        if path.split("?", 1)[0] == AXE_URL_PATH:
            return str(AXE)
        return super().translate_path(path)

    def log_message(self, format, *args):  # noqa: A002 - the name is the base class's
        pass


@pytest.fixture(scope="session")
def book_html():
    """The folder of the built book, or a skip that says how to build it."""
    if not (HTML / "index.html").is_file():
        pytest.skip(f"no built book in {HTML}: run `make test-build` (or `make book`) first")
    return HTML


@pytest.fixture(scope="session")
def server(book_html):
    """Base URL of an HTTP server on 127.0.0.1 over the built book, in a thread; stopped at the end."""
    with _serving(book_html) as url:
        yield url


@pytest.fixture(scope="session")
def student_server():
    """Base URL of a server like ``server``'s over the student edition's book (make student)."""
    if not (STUDENT_HTML / "index.html").is_file():
        pytest.skip(f"no student book in {STUDENT_HTML}: run `make student` first")
    with _serving(STUDENT_HTML) as url:
        yield url


@contextlib.contextmanager
def _serving(folder):
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="book-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


# Console messages that only restate a failed request (each test reports the request itself, with
# its URL and status).
NETWORK_CONSOLE_MESSAGE = re.compile(r"^Failed to load resource\b")

META_REFRESH = re.compile(
    r'<meta\s+http-equiv="refresh"\s+content="\d+;\s*url=([^"]+)"', re.IGNORECASE
)


def meta_refresh(html, page_name):
    """The URL (as written) that a built page redirects to with <meta http-equiv="refresh">, or None."""
    match = META_REFRESH.search((html / page_name).read_text(encoding="utf-8"))
    return match.group(1).strip() if match else None


@contextlib.contextmanager
def _watched_page(context, server, html, page_name, record, timeout_ms):
    """Open ``page_name`` of the book in ``html`` served at ``server`` in a new tab of ``context``,
    recording into ``record`` (its lists ``console_errors``, ``page_errors``, ``bad_responses``,
    ``failed_requests``, ``outside_requests``) what went wrong while it loaded; follow a
    <meta http-equiv="refresh"> to the page it lands on (Jupyter Book's index.html). Yields the tab
    and the redirect as ``(as written, absolute URL)`` or None; closes the tab afterwards."""
    page = context.new_page()
    page.set_default_timeout(timeout_ms)

    def on_console(message):
        if message.type == "error" and not NETWORK_CONSOLE_MESSAGE.match(message.text):
            location = message.location or {}
            record.console_errors.append(
                f"{message.text} ({location.get('url', '')}:{location.get('lineNumber', '')})"
            )

    def on_response(response):
        if response.url.startswith(server) and response.status >= 400:
            record.bad_responses.append(f"HTTP {response.status} {response.url}")

    def on_request_failed(request):
        if request.url.startswith(server):
            record.failed_requests.append(f"{request.failure or 'failed'}: {request.url}")
        else:
            record.outside_requests.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", lambda error: record.page_errors.append(str(error)))
    page.on("response", on_response)
    page.on("requestfailed", on_request_failed)
    try:
        url = server + page_name
        page.goto(url, wait_until="load")
        redirect = meta_refresh(html, page_name)
        if redirect is not None:
            redirect = (redirect, urllib.parse.urljoin(url, redirect))
            page.wait_for_url(redirect[1], wait_until="load")
        yield page, redirect
    finally:
        page.close()


def _page_visits(new_record, visit):
    """A function that visits each page once, by ``visit(page_name, record)`` into
    ``new_record(page_name)``, and returns the record; a visit that raised fails every test of
    its page (the record keeps the error in ``load_error``), and is not retried by each."""

    @functools.cache
    def load(page_name):
        record = new_record(page_name)
        try:
            visit(page_name, record)
        except Exception as error:
            record.load_error = f"{type(error).__name__}: {error}"
        return record

    def loaded(page_name):
        record = load(page_name)
        assert record.load_error is None, f"{page_name}: the visit failed: {record.load_error}"
        return record

    return loaded


@pytest.fixture(scope="session")
def page_visits():
    """``page_visits(new_record, visit)``: see ``_page_visits``."""
    return _page_visits


@pytest.fixture(scope="session")
def watched_page():
    """``watched_page(context, server, html, page_name, record, timeout_ms)``: a context manager
    that loads a page of a built book with listeners on (the main book's and the student edition's
    tests share it)."""
    return _watched_page


class _Anchors(html.parser.HTMLParser):
    """The ids (and old-style <a name=...>) of an HTML file: the targets a #fragment can name."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is not None and (name == "id" or (tag == "a" and name == "name")):
                self.ids.add(value)


@functools.cache
def _anchors(path):
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8"))
    return frozenset(parser.ids)


def _unresolved(references, server, html):
    """What in ``references`` (dicts of tag, raw attribute, absolute URL or None), collected from a
    page of the book in ``html`` served at ``server``, does not resolve: an invalid URL, a file that
    does not exist, or a #fragment that names no id in its file. Other hosts are not checked."""
    problems = set()
    base_path = urllib.parse.urlsplit(server).path
    for reference in references:
        url, shown = reference["url"], f"<{reference['tag']}> {reference['raw']!r}"
        if url is None:
            problems.add(f"{shown} is not a valid URL")
            continue
        if not url.startswith(server):
            continue  # another host or scheme (mailto:, data:): not this book's to resolve
        parts = urllib.parse.urlsplit(url)
        path = urllib.parse.unquote(parts.path)
        relative = path[len(base_path) :] if path.startswith(base_path) else path.lstrip("/")
        target = html / relative
        if relative == "" or relative.endswith("/"):
            target = target / "index.html"
        fragment = urllib.parse.unquote(parts.fragment)
        if not target.is_file():
            problems.add(f"{shown} -> {target.relative_to(html).as_posix()} does not exist")
        elif fragment and target.suffix == ".html" and fragment not in _anchors(target):
            problems.add(f"{shown} -> no id {fragment!r} in {target.relative_to(html).as_posix()}")
    return sorted(problems)


@pytest.fixture(scope="session")
def unresolved_references():
    """``unresolved_references(references, server, html)``: the references of a visited page that
    do not resolve in the built book (shared by the main book's and the student edition's tests)."""
    return _unresolved


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium driven by Playwright, or a skip that says what is missing."""
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "no Chromium installed: the browser test needs Debian's chromium package "
            "(`apt-get install chromium`, which .ci/run does), or CHROMIUM=/path/to/chromium"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="playwright is not installed: run `make` to install requirements.txt",
    )
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def axe_url(server):
    """Where a page can load axe-core's axe.min.js (from the axe-playwright-python package), or None
    when it is not installed: then only the accessibility tests skip."""
    return server.rstrip("/") + AXE_URL_PATH if AXE.is_file() else None


@pytest.fixture(scope="session")
def context(browser, server):
    """One browser context for the session, at a laptop's width; the proxy in CHROMIUM_ARGS keeps
    every request on this machine."""
    ctx = browser.new_context(viewport=VIEWPORT, base_url=server, service_workers="block")
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With BROWSER_REQUIRED=1 (set by .ci/run, which installs Chromium), a skip is a failure:
    in CI a missing browser, book or axe-core must not pass quietly."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("BROWSER_REQUIRED") == "1" and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"BROWSER_REQUIRED=1, but this test was skipped: {report.longrepr}"
