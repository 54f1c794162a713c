"""The chapters as a student reads them in JupyterLab: numbers shown, no raw MyST markup.

``make lab`` opens the chapters in JupyterLab with jupyterlab-myst (pinned in requirements.txt),
which renders MyST roles and directives in markdown cells. This test starts that JupyterLab from
the book's environment on 127.0.0.1, on a free port, with a random token, loads it once in headless
Chromium, and opens in it, one after another (JupyterLab's own ``docmanager:open`` command), every
chapter and the student edition of each (written by ``scripts/student_edition.py``'s
``strip_solutions`` into a temporary folder), and checks that every markdown
cell is rendered, that the rendered text shows every number the chapter's prose types, and that
none of it is raw role or directive syntax (``{glue``, ``{cite``, ``{term``, a fence opening with
a brace, ``:::{``) or a glossary target left in angle brackets (a ``{term}`` role broken across
two lines, which jupyterlab-myst does not join). Each notebook is opened without a kernel (nothing is
executed, and markdown renders without one) and closed before the next opens; the server is stopped at the end. (Loading JupyterLab once, not once
a notebook, is what keeps this test to about a minute of the time budget of ``make test``.)

The notebooks are copied into a temporary folder that the server serves, so opening them cannot
change the repository. Nothing is executed: the stored outputs are what a student sees first.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.browser

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from prose_numbers import prose_numbers  # noqa: E402

# Every chapter, as JupyterLab shows it and as the student edition shows it.
CHAPTERS = sorted(p.name for p in (ROOT / "chapters").glob("*.ipynb"))

# Bounded waits (seconds): the server's start, a notebook's rendering.
SERVER_START = 90
RENDER = 90

RAW_MARKUP = [
    ("a glue role", re.compile(r"\{glue")),
    ("a citation role", re.compile(r"\{cite")),
    ("a glossary role", re.compile(r"\{term")),
    ("a fence opening with a brace", re.compile(r"^\s*(```|~~~)\s*\{", re.M)),
    ("a colon fence", re.compile(r":::\s*\{")),
    ("a glossary target in angle brackets", re.compile(r"[a-z] <[a-z][a-z -]*>")),
]

# The text of every markdown cell as JupyterLab renders it, dropdowns opened (innerText leaves out
# the hidden editors, and what a closed dropdown hides).
# All of it in the open notebook's panel only (window.__notebook, set by OPEN).
RENDERED_TEXT = """() => {
    const panel = window.__notebook.node;
    panel.querySelectorAll('.jp-MarkdownCell details').forEach(d => { d.open = true; });
    return Array.from(panel.querySelectorAll('.jp-MarkdownCell .jp-Cell-inputArea'))
    .map(e => e.innerText).join('\\n'); }"""
RENDERED_COUNT = (
    "() => window.__notebook.node.querySelectorAll('.jp-MarkdownCell.jp-mod-rendered').length"
)
# JupyterLab's application object (exposed by --LabApp.expose_app_in_browser), once it has started.
APP_READY = "() => window.jupyterapp !== undefined"
RESTORED = "async () => { await window.jupyterapp.restored; }"
# Open a notebook as File > Open does, in the main area, and keep its panel at hand. No kernel is
# started: markdown renders without one, and nothing is executed.
OPEN = """async (path) => {
    const panel = await window.jupyterapp.commands.execute(
        'docmanager:open', {path: path, factory: 'Notebook', kernelPreference: {shouldStart: false}});
    await panel.context.ready;
    await panel.revealed;
    window.jupyterapp.shell.activateById(panel.id);
    window.__notebook = panel;
}"""
# Close it (and shut down its kernel, should one have started).
CLOSE = """async () => {
    const panel = window.__notebook;
    window.__notebook = undefined;
    if (!panel) return;
    if (panel.sessionContext.session) await panel.sessionContext.shutdown();
    panel.dispose();
}"""


def _student_edition():
    spec = importlib.util.spec_from_file_location(
        "student_edition", ROOT / "scripts" / "student_edition.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _without_math(markdown: str) -> str:
    # Numbers inside $...$ render as MathJax/KaTeX glyphs, one per character; they are not checked.
    markdown = re.sub(r"\$\$.*?\$\$", " ", markdown, flags=re.S)
    markdown = re.sub(r"\\begin\{(\w+\*?)\}.*?\\end\{\1\}", " ", markdown, flags=re.S)
    return re.sub(r"(?<!\\)\$[^$\n]+\$", " ", markdown)


def _expected_numbers(notebook: dict) -> set[str]:
    return {
        number.rstrip("%")
        for cell in notebook["cells"]
        if cell["cell_type"] == "markdown"
        for number in prose_numbers(_without_math("".join(cell["source"])))
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A folder with the notebooks to open, and JupyterLab serving it: (base URL, token, folder)."""
    folder = tmp_path_factory.mktemp("jupyterlab")
    notebooks = folder / "notebooks"
    notebooks.mkdir()
    for name in CHAPTERS:
        shutil.copy(ROOT / "chapters" / name, notebooks / name)
    strip_solutions = _student_edition().strip_solutions
    for name in CHAPTERS:
        chapter = json.loads((ROOT / "chapters" / name).read_text(encoding="utf-8"))
        stripped, removed = strip_solutions(chapter)
        assert removed > 0, f"the student edition of {name} removed no solution"
        (notebooks / f"student_{name}").write_text(json.dumps(stripped), encoding="utf-8")

    # JupyterLab's own files in the temporary folder, and every cell rendered at once (JupyterLab
    # 4 otherwise renders only the cells near the viewport).
    settings = folder / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    env = dict(
        os.environ,
        JUPYTERLAB_SETTINGS_DIR=str(folder / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(folder / "workspaces"),
        JUPYTER_CONFIG_DIR=str(folder / "config"),
        JUPYTER_RUNTIME_DIR=str(folder / "runtime"),
    )
    port, token = _free_port(), secrets.token_hex(16)
    jupyter = pathlib.Path(sys.executable).with_name("jupyter")
    command = [
        str(jupyter),
        "lab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={notebooks}",
        "--LabApp.news_url=",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    ]
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited: {(folder / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer on {base} within {SERVER_START} s")
                time.sleep(0.5)
        yield base, token, notebooks
    finally:
        # The server and the kernels it started run in their own process group.
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        except ProcessLookupError:
            pass
        log.close()


# A screenshot of each notebook as JupyterLab shows it, this run's only.
SCREENSHOTS = ROOT / "_build" / "screenshots" / "jupyterlab"


@pytest.fixture(scope="module")
def lab_page(browser, served):
    """JupyterLab, loaded once in a browser tab, with no notebook open."""
    base, token, _ = served
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{base}/lab?token={token}&reset", timeout=SERVER_START * 1000)
        page.wait_for_function(APP_READY, timeout=SERVER_START * 1000)
        page.evaluate(RESTORED)
        yield page
    finally:
        context.close()


@pytest.mark.parametrize("name", CHAPTERS + [f"student_{name}" for name in CHAPTERS])
def test_a_notebook_reads_right_in_jupyterlab(served, lab_page, name):
    _, _, notebooks = served
    notebook = json.loads((notebooks / name).read_text(encoding="utf-8"))
    markdown_cells = sum(1 for cell in notebook["cells"] if cell["cell_type"] == "markdown")
    expected = _expected_numbers(notebook)

    lab_page.set_default_timeout(RENDER * 1000)
    lab_page.evaluate(OPEN, name)
    try:
        rendered, missing = _rendered(lab_page, markdown_cells, expected)
        lab_page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    finally:
        lab_page.evaluate(CLOSE)

    assert expected, f"{name}: found no prose numbers to look for"
    assert not missing, f"{name}: JupyterLab's rendered markdown does not show {missing}"
    raw = [
        (what, rendered[max(0, m.start() - 60) : m.end() + 60])
        for what, pattern in RAW_MARKUP
        for m in pattern.finditer(rendered)
    ]
    assert not raw, f"{name}: raw MyST markup in JupyterLab (what, where): {raw}"


def _rendered(lab_page, markdown_cells, expected):
    """The open notebook's rendered markdown once every cell is rendered and shows every expected
    number (or RENDER seconds have passed), and the expected numbers it does not show."""
    lab_page.wait_for_function(
        f"() => ({RENDERED_COUNT})() >= {markdown_cells}", timeout=RENDER * 1000, polling=200
    )
    # jupyterlab-myst renders each cell asynchronously: wait until every number is shown (or time
    # runs out, and the assertion below names what is missing).
    deadline = time.monotonic() + RENDER
    while True:
        rendered = lab_page.evaluate(RENDERED_TEXT)
        text = " ".join(rendered.split())
        missing = sorted(n for n in expected if n not in text.replace("\u2212", "-"))
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return rendered, missing
