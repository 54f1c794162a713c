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
import os
import pathlib

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
    console_errors: list = dataclasses.field(default_factory=list)
    page_errors: list = dataclasses.field(default_factory=list)
    bad_responses: list = dataclasses.field(default_factory=list)
    failed_requests: list = dataclasses.field(default_factory=list)
    outside_requests: list = dataclasses.field(default_factory=list)
    seen: dict | None = None
    load_error: str | None = None


@pytest.fixture(scope="session")
def student_visit(browser, student_server, watched_page, page_visits):
    """Load a page of the student book once and return what it did (cached for the session)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")

    def load(page_name, record):
        with watched_page(context, student_server, HTML, page_name, record, 60_000) as (page, _):
            record.seen = page.evaluate(_VISIT)

    try:
        yield page_visits(lambda _: Visit(), load)
    finally:
        context.close()


def _fmt(lines):
    return "\n  " + "\n  ".join(lines)


@pytest.mark.parametrize("page", PAGES)
def test_student_page_loads_without_errors(student_visit, page):
    record = student_visit(page)
    problems = [f"console: {e}" for e in record.console_errors]
    problems += [f"uncaught: {e}" for e in record.page_errors]
    problems += record.bad_responses + record.failed_requests
    problems += [f"another host: {url}" for url in record.outside_requests]
    problems += [f"image did not load: {src}" for src in record.seen["brokenImages"]]
    assert not problems, f"student edition, {page}:{_fmt(problems)}"


@pytest.mark.parametrize("page", PAGES)
def test_student_page_links_resolve(student_visit, student_server, unresolved_references, page):
    references = student_visit(page).seen["references"]
    problems = unresolved_references(references, student_server, HTML)
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
