"""Every page of the student edition's book (``make student``), loaded in headless Chromium.

The student book is the book's own sources with the solutions removed, so its pages are checked
for what a change to a chapter could break there without breaking the book: no JavaScript error,
every request to the local server answers and none leaves the machine, every image loads, every
local ``href``/``src`` and ``#fragment`` resolves, and no solution is on the page (while each
chapter still sets its exercises). The accessibility audit, search and screenshots are the main
book's test's (``test_book_in_browser.py``): the pages are the same but for the solutions.

Run by ``make test-browser``, which builds both books first; ``STUDENT_HTML=/path/to/html``
checks a student book built elsewhere.
"""

from __future__ import annotations

import dataclasses
import functools
import html.parser
import os
import pathlib
import re
import urllib.parse

import pytest

pytestmark = pytest.mark.browser

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The same folder as conftest.py's STUDENT_HTML.
HTML = pathlib.Path(
    os.environ.get("STUDENT_HTML") or ROOT / "_build" / "student" / "_build" / "html"
).resolve()
NOT_PAGES = ("_static", "_sources")
PAGES = sorted(
    path.relative_to(HTML).as_posix()
    for path in HTML.rglob("*.html")
    if path.relative_to(HTML).parts[0] not in NOT_PAGES
) or ["index.html"]  # with no student book, one placeholder whose test skips and says why

_META_REFRESH = re.compile(
    r'<meta\s+http-equiv="refresh"\s+content="\d+;\s*url=([^"]+)"', re.IGNORECASE
)
# Console messages that only restate a failed request (reported with its URL by the asset test).
NETWORK_CONSOLE_MESSAGE = re.compile(r"^Failed to load resource\b")

_VISIT = """async () => {
  for (const image of document.images) image.loading = 'eager';
  await Promise.all(Array.from(document.images, (image) => image.complete ? null : new Promise(
    (done) => { image.addEventListener('load', done); image.addEventListener('error', done); })));
  const references = [];
  for (const [tag, attribute] of [['a', 'href'], ['link', 'href'], ['script', 'src'],
                                  ['img', 'src'], ['source', 'src'], ['iframe', 'src']]) {
    for (const element of document.querySelectorAll(`${tag}[${attribute}]`)) {
      const raw = element.getAttribute(attribute);
      let url = null;
      try { url = new URL(raw, document.baseURI).href; } catch (error) { url = null; }
      references.push({tag, raw, url});
    }
  }
  const article = document.querySelector('article') || document.body;
  return {
    references,
    brokenImages: Array.from(document.images).filter((i) => !i.complete || i.naturalWidth === 0)
      .map((i) => i.currentSrc || i.src),
    solutions: Array.from(document.querySelectorAll('[class*="solution"]'), (e) => e.outerHTML.slice(0, 160)),
    exercises: document.querySelectorAll('.exercise').length,
    text: article.innerText,
  };
}"""


@dataclasses.dataclass
class Visit:
    errors: list = dataclasses.field(default_factory=list)
    requests: list = dataclasses.field(default_factory=list)
    seen: dict | None = None
    load_error: str | None = None


@pytest.fixture(scope="session")
def student_visit(browser, student_server):
    """Load a page of the student book once and return what it did (cached for the session)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")

    @functools.cache
    def load(page_name):
        record, page = Visit(), context.new_page()
        page.set_default_timeout(60_000)

        def on_console(message):
            if message.type == "error" and not NETWORK_CONSOLE_MESSAGE.match(message.text):
                record.errors.append(f"console: {message.text}")

        def on_response(response):
            if response.url.startswith(student_server) and response.status >= 400:
                record.requests.append(f"HTTP {response.status} {response.url}")

        def on_request_failed(request):
            where = "" if request.url.startswith(student_server) else "another host: "
            record.requests.append(f"{where}{request.failure or 'failed'}: {request.url}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: record.errors.append(f"uncaught: {error}"))
        page.on("response", on_response)
        page.on("requestfailed", on_request_failed)
        try:
            url = student_server + page_name
            page.goto(url, wait_until="load")
            redirect = _META_REFRESH.search((HTML / page_name).read_text(encoding="utf-8"))
            if redirect:  # Jupyter Book's index.html: check the page it lands on
                target = urllib.parse.urljoin(url, redirect.group(1).strip())
                page.wait_for_url(target, wait_until="load")
            record.seen = page.evaluate(_VISIT)
        except Exception as error:  # reported by every test of this page
            record.load_error = f"{type(error).__name__}: {error}"
        finally:
            page.close()
        return record

    def loaded(page_name):
        record = load(page_name)
        assert record.load_error is None, f"{page_name}: the visit failed: {record.load_error}"
        return record

    try:
        yield loaded
    finally:
        context.close()


class _Ids(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        self.ids.update(v for n, v in attrs if v and (n == "id" or (tag == "a" and n == "name")))


@functools.cache
def _ids(path):
    parser = _Ids()
    parser.feed(path.read_text(encoding="utf-8"))
    return frozenset(parser.ids)


def _unresolved(references, server):
    problems = set()
    for reference in references:
        url, shown = reference["url"], f"<{reference['tag']}> {reference['raw']!r}"
        if url is None:
            problems.add(f"{shown} is not a valid URL")
            continue
        if not url.startswith(server):
            continue  # another host or scheme: not this book's to resolve
        parts = urllib.parse.urlsplit(url)
        relative = urllib.parse.unquote(parts.path)[len(urllib.parse.urlsplit(server).path) :]
        target = HTML / relative
        if relative == "" or relative.endswith("/"):
            target = target / "index.html"
        fragment = urllib.parse.unquote(parts.fragment)
        if not target.is_file():
            problems.add(f"{shown} -> {relative} does not exist")
        elif fragment and target.suffix == ".html" and fragment not in _ids(target):
            problems.add(f"{shown} -> no id {fragment!r} in {relative}")
    return sorted(problems)


def _fmt(lines):
    return "\n  " + "\n  ".join(lines)


@pytest.mark.parametrize("page", PAGES)
def test_student_page_loads_without_errors(student_visit, page):
    record = student_visit(page)
    problems = record.errors + record.requests
    problems += [f"image did not load: {src}" for src in record.seen["brokenImages"]]
    assert not problems, f"student edition, {page}:{_fmt(problems)}"


@pytest.mark.parametrize("page", PAGES)
def test_student_page_links_resolve(student_visit, student_server, page):
    problems = _unresolved(student_visit(page).seen["references"], student_server)
    assert not problems, f"student edition, {page}: references that do not resolve:{_fmt(problems)}"


@pytest.mark.parametrize("page", PAGES)
def test_student_page_shows_no_solution(student_visit, page):
    seen = student_visit(page).seen
    assert not seen["solutions"], f"student edition, {page}: solutions:{_fmt(seen['solutions'])}"
    assert "Solution to" not in seen["text"], f"student edition, {page}: a solution's title"
    if page.startswith("chapters/"):
        assert seen["exercises"] >= 1, f"student edition, {page}: no exercise is set"


def test_student_book_offers_no_solution_for_download():
    """The notebooks the student book offers (its _sources) hold no solution either."""
    sources = sorted((HTML / "_sources" / "chapters").glob("*.ipynb"))
    if not sources:
        pytest.skip(f"no student book in {HTML}: run `make student` first")
    leaking = [p.name for p in sources if "{solution" in p.read_text(encoding="utf-8")]
    assert not leaking, f"student edition: downloadable notebooks with solutions: {leaking}"


def test_student_book_has_no_instructors_guide():
    """The guide (with the discussion answers) is for the teacher: no page, and no link to one."""
    if not (HTML / "index.html").exists():
        pytest.skip(f"no student book in {HTML}: run `make student` first")
    assert not list(HTML.rglob("instructor_guide*")), "student edition: the guide was built"
    linking = [page for page in PAGES if "instructor_guide" in (HTML / page).read_text()]
    assert not linking, f"student edition: pages that link the instructor's guide: {linking}"
