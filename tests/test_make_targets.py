"""Each command the README tells a reader to run works, run as a reader runs it.

``make test-make`` (part of ``make test``) runs this module; plain ``pytest`` leaves it out
(marker ``make_targets``), since it starts JupyterLab and executes a chapter. The other commands
are exercised elsewhere: ``make test`` builds the book with ``make book`` (``test-build`` is that
target) and the student edition with ``make student``, both with warnings as errors, and builds
``make pdf`` where TeX Live is installed (``.ci/run``, which runs ``make test``, installs it).

Here, every command runs on this machine only, within a time limit:

- ``make lab`` on a free port of 127.0.0.1, with no browser, answers ``/api/status`` and lists the
  chapters, and stops when asked;
- ``make outputs NOTEBOOKS=...`` stores fresh outputs in a copy of chapter 00;
- ``make format`` fixes a badly formatted file in a copy of the project, which ``make test-lint``
  then passes; ``make clean`` removes ``_build`` from a copy and keeps the rest;
- ``make book`` and ``make test``'s strict build are the same command, and ``make help`` names
  every command.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.make_targets

ROOT = pathlib.Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
STAMP = VENV / ".installed-stamp"
# What ruff checks and formats (the Makefile's LINTED), and what `make format` needs beside it.
LINTED = ("lib", "tests", "_ext", "scripts", "chapters")
# What a copy of the project leaves out, as the student edition does.
NOT_COPIED = shutil.ignore_patterns(
    ".git", "_build", ".venv", "__pycache__", "*.egg-info", ".ipynb_checkpoints", ".*_cache"
)


def _command(*arguments):
    """make with this project's environment, which it never re-installs (-o marks the stamp old)."""
    return ["make", "--no-print-directory", "-o", str(STAMP), f"VENV={VENV}", *arguments]


def _reader_environment(**extra):
    """This process's environment without what a running make passes down to its children (make
    test runs this file inside make -j5): each command runs as a reader runs it, from a shell."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return dict(env, **extra)


def _make(*arguments, cwd=ROOT, timeout=120, succeed=True):
    """Run make in ``cwd``, within ``timeout`` seconds; fail unless it succeeds (or, with
    ``succeed=False``, unless it fails). Returns what it printed."""
    command = _command(*arguments)
    result = subprocess.run(
        command,
        cwd=cwd,
        env=_reader_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert (result.returncode == 0) == succeed, (
        f"`{' '.join(command)}` in {cwd} failed ({result.returncode}):\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


@pytest.fixture(scope="module", autouse=True)
def environment():
    if not (VENV / "bin" / "python").is_file() or not STAMP.is_file():
        pytest.skip("no environment in .venv: run `make book` (or `make .venv/.installed-stamp`)")


def _project_copy(tmp_path, names):
    copy = tmp_path / "project"
    copy.mkdir()
    for name in names:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=NOT_COPIED)
        else:
            shutil.copy2(source, copy / name)
    return copy


# --- make lab ------------------------------------------------------------------------------------


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url, token, timeout=5, method="GET"):
    request = urllib.request.Request(
        url, method=method, headers={"Authorization": f"token {token}"}
    )
    # No proxy, whatever the environment says: the server is on the loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=timeout) as response:
        return response.status, response.read()


def test_make_lab_serves_the_chapters_on_the_loopback_and_stops(tmp_path):
    port, token = _free_port(), secrets.token_hex(16)
    # Jupyter's configuration for this run only, in a folder of its own: the loopback, this port
    # or none, no browser. (JupyterLab's settings and workspaces go there too, not to ~/.jupyter.)
    config = tmp_path / "jupyter-config"
    config.mkdir()
    server = {"ip": "127.0.0.1", "port": port, "port_retries": 0, "open_browser": False}
    # Jupyter refuses to run as root (as in a CI container) unless told to, as a reader must be.
    server["allow_root"] = os.geteuid() == 0
    (config / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": server}))
    env = _reader_environment(
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"),
        JUPYTER_TOKEN=token,
        BROWSER="true",  # should anything still try to open a browser, it runs `true`
    )
    log = tmp_path / "lab.log"
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as output:
        lab = subprocess.Popen(
            _command("lab"),
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so that it can be stopped whole
        )
    try:
        status, deadline = None, time.monotonic() + 120
        while status is None and time.monotonic() < deadline:
            assert lab.poll() is None, f"make lab exited ({lab.returncode}):\n{log.read_text()}"
            try:
                status = json.loads(_get(f"{base}/api/status", token)[1])
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        assert status is not None, f"make lab did not answer within 120 s:\n{log.read_text()}"
        assert "started" in status, status
        _, body = _get(f"{base}/api/contents/", token)
        names = {item["name"] for item in json.loads(body)["content"]}
        chapters = {path.name for path in (ROOT / "chapters").glob("*.ipynb")}
        assert chapters <= names, f"make lab does not serve chapters/: it lists {sorted(names)}"
        _get(f"{base}/api/shutdown", token, method="POST")
        assert lab.wait(timeout=60) == 0, f"make lab stopped with an error:\n{log.read_text()}"
    finally:
        if lab.poll() is None:
            os.killpg(lab.pid, signal.SIGTERM)
            try:
                lab.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(lab.pid, signal.SIGKILL)
                lab.wait(timeout=20)


# --- make outputs --------------------------------------------------------------------------------


def test_make_outputs_stores_fresh_outputs_in_the_notebooks_named(tmp_path):
    chapter = ROOT / "chapters" / "00_how_to_read_and_run.ipynb"
    original = chapter.read_bytes()
    stored = json.loads(original)
    cleared = json.loads(chapter.read_text(encoding="utf-8"))
    for cell in cleared["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    copy = tmp_path / chapter.name
    copy.write_text(json.dumps(cleared, indent=1), encoding="utf-8")
    _make("outputs", f"NOTEBOOKS={copy}", timeout=300)
    fresh = json.loads(copy.read_text(encoding="utf-8"))

    def shape(notebook):
        # A kernel may send one cell's printed text in one piece or in several (it depends on
        # when the stream is flushed), so consecutive pieces of one stream count as one output.
        shapes = []
        for cell in notebook["cells"]:
            if cell["cell_type"] != "code":
                continue
            kinds = []
            for o in cell["outputs"]:
                kind = (o["output_type"], o.get("name"), sorted(o.get("data", {})))
                if not (kinds and kind[0] == "stream" and kinds[-1] == kind):
                    kinds.append(kind)
            shapes.append(kinds)
        return shapes

    assert shape(fresh) == shape(stored), "make outputs did not store the chapter's outputs"
    counts = [c["execution_count"] for c in fresh["cells"] if c["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1)), f"not run in order: {counts}"
    assert chapter.read_bytes() == original, "make outputs NOTEBOOKS=... changed another notebook"


# --- make format, make clean ---------------------------------------------------------------------

BADLY_FORMATTED = "import sys\nimport os\nx=[1,2 ,3]\nprint( os.sep,sys.argv,x )\n"
FORMATTED = "import os\nimport sys\n\nx = [1, 2, 3]\nprint(os.sep, sys.argv, x)\n"


def test_make_format_fixes_what_make_test_lint_rejects(tmp_path):
    copy = _project_copy(tmp_path, (*LINTED, "pyproject.toml", "Makefile"))
    bad = copy / "scripts" / "badly_formatted.py"
    bad.write_text(BADLY_FORMATTED)
    _make("test-lint", cwd=copy, succeed=False)
    _make("format", cwd=copy)
    assert bad.read_text() == FORMATTED
    _make("test-lint", cwd=copy)


def test_make_clean_removes_the_build_and_keeps_the_rest(tmp_path):
    copy = _project_copy(tmp_path, ("Makefile",))
    kept = ["chapters/00.ipynb", ".venv/bin/python", "README.md"]
    for name in [*kept, "_build/html/index.html", "_build/.jupyter_cache/x"]:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_text(name)
    _make("clean", cwd=copy)
    assert not (copy / "_build").exists()
    assert all((copy / name).read_text() == name for name in kept)


# --- make book, make help ------------------------------------------------------------------------


def test_make_tests_strict_build_is_make_book_with_warnings_as_errors():
    book = _make("-n", "book")
    assert _make("-n", "test-build") == book
    build = next(line for line in book.splitlines() if "jupyter-book build" in line)
    assert re.search(r"\s-W\b", build) and re.search(r"\s-n\b", build), build
    # make test-browser builds both books before it loads their pages.
    browser = _make("-n", "test-browser")
    assert build in browser and "_build/student/src" in browser, browser


def test_make_help_names_every_command_the_readme_names():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = {"book", "test", "student", "pdf", "lab", "outputs", "format", "clean"}
    assert named <= set(re.findall(r"`make ([a-z-]+)", readme)), "the README names these"
    shown = _make("help")
    missing = sorted(name for name in named if f"make {name} " not in shown)
    assert not missing, f"make help does not describe: {missing}"
