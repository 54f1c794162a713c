"""From the page to the code: the built site's source archive runs a chapter from an empty folder.

These tests need the built book (``_build/html``), so they run with the browser tests
(``make test-browser``, after the strict build), though they drive no browser: every chapter page
and the landing page link to the archive that ``_ext/source_archive.py`` put in the site, and
chapter 00, executed from the unpacked archive with the book's environment, imports the unpacked
``lib``, not the repository's. (A reader installs it with ``make book`` in the unpacked folder, as
its READ-ME-FIRST.md says; here ``PYTHONPATH`` points the book's environment at it instead.)
"""

from __future__ import annotations

import html.parser
import os
import pathlib
import subprocess
import sys
import urllib.parse
import zipfile

import pytest

pytestmark = pytest.mark.browser

ROOT = pathlib.Path(__file__).resolve().parents[2]
HTML = pathlib.Path(os.environ.get("BOOK_HTML") or ROOT / "_build" / "html").resolve()
ARCHIVE = "how-models-generalize-source.zip"
FOLDER = "how-models-generalize"
CHAPTER = "chapters/00_how_to_read_and_run.ipynb"
# Executing chapter 00 takes about 10 s of CPU; this bounds it on a busy machine.
TIMEOUT = 300


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href" and value]


def _pages():
    chapters = sorted(ROOT.glob("chapters/*.ipynb"))
    return ["intro.html"] + [f"chapters/{p.stem}.html" for p in chapters]


@pytest.fixture(scope="module")
def archive():
    path = HTML / ARCHIVE
    if not (HTML / "index.html").is_file():
        pytest.skip(f"no built book in {HTML}: run `make test-build` (or `make book`) first")
    assert path.is_file(), f"the built book has no {ARCHIVE}: is _ext/source_archive.py enabled?"
    return path


@pytest.mark.parametrize("page", _pages())
def test_every_chapter_page_links_to_the_archive(archive, page):
    path = HTML / page
    assert path.is_file(), f"{page} is not in the built book"
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    targets = {
        (path.parent / urllib.parse.urlsplit(href).path).resolve()
        for href in parser.hrefs
        if not urllib.parse.urlsplit(href).scheme
    }
    assert archive.resolve() in targets, f"{page} does not link to {ARCHIVE}"


def test_the_archive_runs_chapter_00_from_an_empty_folder(archive, tmp_path):
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        assert names[0] == f"{FOLDER}/READ-ME-FIRST.md", names[:3]
        readme = zipped.read(names[0]).decode()
        assert "make book" in readme and "make test" in readme
        assert all(name.startswith(f"{FOLDER}/") for name in names)
        assert not [n for n in names if "/.venv/" in n or "/_build/" in n or "/.git/" in n]
        zipped.extractall(tmp_path)
    root = tmp_path / FOLDER
    env = dict(os.environ, PYTHONPATH=str(root))
    env.pop("OPENBLAS_CORETYPE", None)

    where = subprocess.run(
        [sys.executable, "-c", "import lib; print(lib.__file__)"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    assert pathlib.Path(where).resolve().is_relative_to(root.resolve()), (
        f"lib was imported from {where}, not from the unpacked archive"
    )

    jupyter = pathlib.Path(sys.executable).with_name("jupyter")
    executed = tmp_path / "executed"
    run = subprocess.run(
        [
            str(jupyter),
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            f"--ExecutePreprocessor.timeout={TIMEOUT}",
            "--output-dir",
            str(executed),
            CHAPTER,
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT + 60,
    )
    assert run.returncode == 0, (
        f"chapter 00 failed from the unpacked archive:\n{run.stderr[-3000:]}"
    )
    assert (executed / pathlib.Path(CHAPTER).name).is_file()
