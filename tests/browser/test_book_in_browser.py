"""Every page of the built book, loaded in headless Chromium as a reader would load it.

For each HTML page in ``_build/html`` (found by walking the folder, never from a list) this checks:

- no JavaScript error: no uncaught exception and no console error;
- every asset loads: every request to the local server answers below 400, none fails, and none
  goes to another host (the book must work offline: MathJax is bundled by sphinx-mathjax-offline);
- every image loads (``naturalWidth > 0``), and every figure in the text has alt text and a caption
  and is shown near its natural size, so that its lettering stays readable at 100% zoom;
- every local reference resolves: each ``href``/``src`` on the page that points at the book names
  a file that exists, and a ``#fragment`` names an ``id`` in that file;
- no accessibility violation of impact "serious" or "critical" according to axe-core (the
  axe.min.js shipped in the PyPI package axe-playwright-python, pinned in requirements.txt), with all its rules in the light theme and its colour
  contrast rule again in the dark theme, but for the named exclusions below (none at present).
  Lesser findings are printed (``pytest -s``) but do not fail.

And the search page finds each chapter by a word of its text, and every colour of the highlighted
code has enough contrast in both themes.

A full-page screenshot of every page is kept in ``_build/screenshots/`` (the search results in
``_build/screenshots/search/``) as an artifact of the run; look at them after a change of layout.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import shutil
import urllib.parse

import pytest

pytestmark = pytest.mark.browser

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The same folder as conftest.py's (which is not imported): BOOK_HTML=/path/to/html checks a book
# built elsewhere. The screenshots go beside it, in _build/screenshots for the usual build.
HTML = pathlib.Path(os.environ.get("BOOK_HTML") or ROOT / "_build" / "html").resolve()
SCREENSHOTS = HTML.parent / "screenshots"

# Generated folders that hold no pages of the book: _static has the theme's HTML template fragments
# (webpack-macros.html), _sources the copies of the sources offered for download.
NOT_PAGES = ("_static", "_sources")


def _pages():
    found = sorted(
        path.relative_to(HTML).as_posix()
        for path in HTML.rglob("*.html")
        if path.relative_to(HTML).parts[0] not in NOT_PAGES
    )
    # With no built book, one placeholder whose test skips and says how to build it.
    return found or ["index.html"]


PAGES = _pages()
CHAPTERS = [page for page in PAGES if page.startswith("chapters/")] or ["chapters/"]

# Accessibility rules that the theme, not the book, breaks, and that no setting, template or CSS of
# ours can fix. Each is (axe rule id, part of the CSS selector axe reports for the node, why).
# None at present: what the audit found is fixed at its source (see _ext/accessible_html.py,
# _templates/ and html_context in _config.yml).
AXE_EXCLUSIONS: list[tuple[str, str, str]] = []

# No CSSOM preload: axe 4.12 re-fetches each stylesheet's @import (Sphinx's theme CSS imports
# "../basic.css") relative to the page instead of the stylesheet, a request for a file that does
# not exist, which test_every_asset_loads would blame on the book. Only the rule
# css-orientation-lock reads the CSSOM, and the book's CSS locks no orientation.
AXE_OPTIONS = {"resultTypes": ["violations"], "preload": False}

# Impacts that fail the audit; "minor" and "moderate" findings are printed but do not fail.
FAILING_IMPACTS = ("serious", "critical")

# A figure shown at less than this fraction of its natural width has lettering too small to read
# at 100% zoom: the house style draws 11-point text at 100 dpi (about 15 px), and 0.75 of that is
# about 11 px. Make the figure narrower (figsize) rather than let the page shrink it.
MIN_FIGURE_SCALE = 0.75


@dataclasses.dataclass
class PageVisit:
    page: str
    url: str
    console_errors: list = dataclasses.field(default_factory=list)
    page_errors: list = dataclasses.field(default_factory=list)
    bad_responses: list = dataclasses.field(default_factory=list)
    failed_requests: list = dataclasses.field(default_factory=list)
    outside_requests: list = dataclasses.field(default_factory=list)
    images: list = dataclasses.field(default_factory=list)
    references: list = dataclasses.field(default_factory=list)
    axe_violations: list | None = None  # None: axe-core is not installed
    load_error: str | None = None  # the page did not load, or a step of the visit failed
    screenshot: pathlib.Path | None = None


_COLLECT_REFERENCES = """() => {
  const attributes = [['a', 'href'], ['area', 'href'], ['link', 'href'], ['script', 'src'],
                      ['img', 'src'], ['source', 'src'], ['iframe', 'src'], ['video', 'src'],
                      ['audio', 'src'], ['embed', 'src'], ['object', 'data']];
  const found = [];
  for (const [tag, attribute] of attributes) {
    for (const element of document.querySelectorAll(`${tag}[${attribute}]`)) {
      const raw = element.getAttribute(attribute);
      let url = null;
      try { url = new URL(raw, document.baseURI).href; } catch (error) { url = null; }
      found.push({tag, raw, url});
    }
  }
  return found;
}"""

_LOAD_EVERY_IMAGE = """async () => {
  for (const image of document.images) image.loading = 'eager';
  await Promise.all(Array.from(document.images, (image) => image.complete ? null : new Promise(
    (done) => { image.addEventListener('load', done); image.addEventListener('error', done); })));
}"""

_DESCRIBE_IMAGES = """() => Array.from(document.images, (image) => {
  const figure = image.closest('figure');
  const caption = figure ? figure.querySelector('figcaption') : null;
  return {
    src: image.currentSrc || image.src,
    alt: image.getAttribute('alt'),
    complete: image.complete,
    naturalWidth: image.naturalWidth,
    shownWidth: image.getBoundingClientRect().width,
    inText: image.closest('article') !== null,
    caption: caption ? caption.innerText.trim() : null,
  };
})"""

_SETTLE = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  await document.fonts.ready;
}"""

_RUN_AXE = """async ([context, options]) => {
  const result = await axe.run(context || document, options);
  return result.violations.map((violation) => ({
    id: violation.id, impact: violation.impact, help: violation.help, helpUrl: violation.helpUrl,
    nodes: violation.nodes.map((node) => ({
      target: node.target.join(' '), html: node.html, impact: node.impact, summary: node.failureSummary,
    })),
  }));
}"""


# The audit of each page leaves out the highlighted code: thousands of coloured spans per chapter
# that make axe several times slower, and whose colours come from one stylesheet, pygments.css,
# which test_code_colours_have_enough_contrast audits once, every token colour in both themes.
_BUT_CODE = {"exclude": [[".highlight"]]}

# So that a colour read right after switching to dark mode is the final one, not one mid-fade.
_NO_TRANSITIONS = (
    "*, *::before, *::after { transition: none !important; animation: none !important; }"
)


# JPEG cannot hold an image taller than 65,535 pixels: Chromium then writes an empty file. Longer
# pages are kept as PNG, which has no such limit (and takes about twice as long to encode).
JPEG_MAX_HEIGHT = 65_535


def _screenshot_path(page, *, suffix=".jpg"):
    return SCREENSHOTS / pathlib.PurePosixPath(page).with_suffix(suffix)


@pytest.fixture(scope="session")
def visit(context, server, axe_url, watched_page, page_visits):
    """Load a page once, with listeners on, and return what it did (cached for the session)."""
    # This run's screenshots only; the JupyterLab test's, in their own folder, are its to replace
    # (make test runs that test beside this one).
    for old in SCREENSHOTS.glob("*"):
        if old.name != "jupyterlab":
            shutil.rmtree(old) if old.is_dir() else old.unlink()

    def load(page_name, record):
        with watched_page(context, server, HTML, page_name, record, 20_000) as (page, redirect):
            if redirect is not None:
                # A redirect page (Jupyter Book's index.html): its target must resolve too.
                raw, target = redirect
                record.references.append({"tag": "meta", "raw": raw, "url": target})
            page.evaluate(_LOAD_EVERY_IMAGE)
            page.evaluate(_SETTLE)
            record.images = page.evaluate(_DESCRIBE_IMAGES)
            record.references += page.evaluate(_COLLECT_REFERENCES)
            # JPEG, not PNG: a chapter's full page is about 1280 x 30,000 pixels, which Chromium
            # encodes as PNG in twice the time (7.7 MB against 5.4 MB at quality 70, chapter 01).
            height = page.evaluate("() => document.documentElement.scrollHeight")
            jpeg = height <= JPEG_MAX_HEIGHT
            record.screenshot = _screenshot_path(page_name, suffix=".jpg" if jpeg else ".png")
            record.screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=record.screenshot,
                full_page=True,
                animations="disabled",
                **({"type": "jpeg", "quality": 70} if jpeg else {"type": "png"}),
            )
            if axe_url is not None:
                page.add_script_tag(url=axe_url)
                record.axe_violations = page.evaluate(_RUN_AXE, [_BUT_CODE, AXE_OPTIONS])
                # The theme's dark mode (a reader whose system prefers dark gets it): contrast again.
                page.add_style_tag(content=_NO_TRANSITIONS)
                page.evaluate("() => { document.documentElement.dataset.theme = 'dark'; }")
                dark = page.evaluate(
                    _RUN_AXE, [_BUT_CODE, AXE_OPTIONS | {"runOnly": ["color-contrast"]}]
                )
                record.axe_violations += [dict(v, id=f"{v['id']} (dark mode)") for v in dark]

    return page_visits(lambda page_name: PageVisit(page=page_name, url=server + page_name), load)


def _fmt(lines):
    return "\n  " + "\n  ".join(lines)


@pytest.mark.parametrize("page", PAGES)
def test_no_javascript_errors(visit, page):
    record = visit(page)
    errors = [f"uncaught: {e}" for e in record.page_errors] + [
        f"console: {e}" for e in record.console_errors
    ]
    assert not errors, f"{page}: JavaScript errors:{_fmt(errors)}"


@pytest.mark.parametrize("page", PAGES)
def test_every_asset_loads(visit, page):
    record = visit(page)
    problems = (
        record.bad_responses
        + record.failed_requests
        + [
            f"another host (blocked: the book must work offline, so bundle it in _static): {url}"
            for url in sorted(set(record.outside_requests))
        ]
    )
    assert not problems, f"{page}: requests that failed:{_fmt(problems)}"


@pytest.mark.parametrize("page", PAGES)
def test_every_image_loads(visit, page):
    record = visit(page)
    broken = [i["src"] for i in record.images if not i["complete"] or i["naturalWidth"] == 0]
    assert not broken, f"{page}: images that did not load:{_fmt(broken)}"


@pytest.mark.parametrize("page", PAGES)
def test_every_figure_has_alt_text_and_a_caption_and_is_readable(visit, page):
    record = visit(page)
    problems = []
    for image in (i for i in record.images if i["inText"]):
        name = image["src"].rsplit("/", 1)[-1]
        if not (image["alt"] or "").strip():
            problems.append(f"{name}: no alt text")
        if not image["caption"]:
            problems.append(f"{name}: not in a figure with a caption")
        if not image["naturalWidth"]:
            continue  # not loaded: test_every_image_loads reports it
        scale = image["shownWidth"] / image["naturalWidth"]
        if scale < MIN_FIGURE_SCALE:
            problems.append(
                f"{name}: shown at {scale:.0%} of its natural width ({image['shownWidth']:.0f} of "
                f"{image['naturalWidth']} px), below {MIN_FIGURE_SCALE:.0%}: its text is too small at 100% zoom"
            )
    assert not problems, f"{page}: figures:{_fmt(problems)}"


@pytest.mark.parametrize("page", PAGES)
def test_every_internal_link_resolves(visit, server, unresolved_references, page):
    record = visit(page)
    problems = unresolved_references(record.references, server, HTML)
    assert not problems, f"{page}: references that do not resolve:{_fmt(problems)}"


def _excluded(rule, node_target):
    return any(rule == r and selector in node_target for r, selector, _why in AXE_EXCLUSIONS)


@pytest.mark.parametrize("page", PAGES)
def test_no_serious_accessibility_violations(visit, page):
    record = visit(page)
    if record.axe_violations is None:
        pytest.skip(
            "axe-core is not installed: `pip install -r requirements.txt` (package axe-playwright-python)"
        )
    failing, noted = [], []
    for violation in record.axe_violations:
        for node in violation["nodes"]:
            impact = node["impact"] or violation["impact"]
            line = (
                f"[{impact}] {violation['id']}: {violation['help']} ({violation['helpUrl']})\n"
                f"      at {node['target']}: {node['html'][:160]}\n"
                f"      {(node['summary'] or '').replace(chr(10), ' ')[:300]}"
            )
            if impact in FAILING_IMPACTS and not _excluded(violation["id"], node["target"]):
                failing.append(line)
            else:
                noted.append(line)
    if noted:
        print(f"{page}: accessibility findings that do not fail the test:{_fmt(noted)}")
    assert not failing, (
        f"{page}: serious or critical accessibility violations (axe-core):{_fmt(failing)}"
    )


@pytest.mark.parametrize("page", PAGES)
def test_screenshot_is_kept(visit, page):
    record = visit(page)
    assert record.screenshot is not None and record.screenshot.stat().st_size > 0, (
        f"{page}: no screenshot"
    )


# --- search --------------------------------------------------------------------------------------

# Sphinx's English stop words (language_data.js), which the search ignores.
_STOP_WORDS = set(
    "a and are as at be but by for if in into is it near no not of on or such that the their then "
    "there these they this to was will with".split()
)


def _words(text, shortest):
    return [
        w
        for w in re.findall(r"[A-Za-z]+", text)
        if len(w) >= shortest and w.lower() not in _STOP_WORDS
    ]


def _search_words(page):
    """The longest word of the chapter's first paragraph of prose (or, failing that, of its title)."""
    source = (HTML / page).read_text(encoding="utf-8")
    article = source[source.find("<article") :]
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", article, re.S)
    title_words = _words(re.sub(r"<[^>]+>", " ", heading.group(1)), 3) if heading else []
    text_words = []
    for paragraph in re.findall(r"<p>(.*?)</p>", article, re.S):
        paragraph = re.sub(r'<span class="math[^"]*">.*?</span>', " ", paragraph, flags=re.S)
        text_words = _words(re.sub(r"<[^>]+>", " ", paragraph), 5)
        if text_words:
            break
    words = [max(found, key=len) for found in (text_words, title_words) if found]
    assert words, f"{page}: found no title or paragraph words to search for"
    return words[:1]


@pytest.mark.parametrize("page", CHAPTERS)
def test_search_finds_the_chapter(visit, context, page):
    if not (HTML / page).is_file():
        pytest.skip(f"no chapter pages in {HTML / 'chapters'}")
    for word in _search_words(page):
        tab = context.new_page()
        try:
            tab.goto(f"search.html?q={urllib.parse.quote(word)}", wait_until="load")
            tab.wait_for_function(
                "() => { const s = document.querySelector('#search-results .search-summary');"
                " return s !== null && s.innerText.trim().length > 0; }",
                timeout=20_000,
            )
            summary = tab.inner_text("#search-results .search-summary")
            found = tab.eval_on_selector_all(
                "#search-results ul.search li a",
                "(links) => links.map((a) => a.getAttribute('href'))",
            )
            shot = SCREENSHOTS / "search" / f"{pathlib.PurePosixPath(page).stem}-{word}.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=shot, animations="disabled")
        finally:
            tab.close()
        pages_found = {urllib.parse.urlsplit(href).path for href in found}
        assert page in pages_found, (
            f"searching for {word!r} (from {page}) did not list {page}: {summary!r}, found {sorted(pages_found)}"
        )


# --- the colours of highlighted code --------------------------------------------------------------

_TOKEN_COLOUR = re.compile(r"\.highlight \.([A-Za-z0-9]+) \{[^}]*(?<![-\w])color:")


def test_code_colours_have_enough_contrast(visit, context, axe_url):
    """Every token colour of pygments.css, light and dark, meets WCAG AA contrast on the code background."""
    if axe_url is None:
        pytest.skip(
            "axe-core is not installed: `pip install -r requirements.txt` (package axe-playwright-python)"
        )
    stylesheet = HTML / "_static" / "pygments.css"
    tokens = sorted(set(_TOKEN_COLOUR.findall(stylesheet.read_text(encoding="utf-8"))))
    assert tokens, f"found no token colours in {stylesheet}"
    sample = "".join(f'<span class="{token}">token_{token}</span>\n' for token in tokens)
    tab = context.new_page()
    try:
        tab.goto("intro.html", wait_until="load")
        tab.evaluate(
            """(sample) => {
              const block = document.createElement('div');
              block.id = 'token-sample';
              block.className = 'highlight';
              block.innerHTML = '<pre>' + sample + '</pre>';
              document.querySelector('article').prepend(block);
            }""",
            sample,
        )
        tab.add_style_tag(content=_NO_TRANSITIONS)
        tab.add_script_tag(url=axe_url)
        problems = []
        for theme in ("light", "dark"):
            tab.evaluate("(theme) => { document.documentElement.dataset.theme = theme; }", theme)
            for violation in tab.evaluate(
                _RUN_AXE,
                [{"include": [["#token-sample"]]}, AXE_OPTIONS | {"runOnly": ["color-contrast"]}],
            ):
                problems += [
                    f"{theme}: {node['html']}: {node['summary']}" for node in violation["nodes"]
                ]
    finally:
        tab.close()
    assert not problems, (
        f"code colours without enough contrast ({len(tokens)} tokens checked):{_fmt(problems)}"
    )
