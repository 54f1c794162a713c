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
import http.server
import importlib.util
import os
import pathlib
import shutil
import threading

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
