"""From the page to the code: a source archive of the book, linked from every chapter page.

Every HTML build of the book (``make book``, and the strict build of ``make test``) writes
``how-models-generalize-source.zip`` into the built site and puts one line at the top of the
landing page and of every page under ``chapters/`` that links to it and to chapter 00's steps.
Link and archive come from this one extension, so a new chapter gets both without anyone
remembering to add them (``tests/browser/test_source_archive_download.py`` checks every chapter page).

The archive holds the repository's tracked files (``git ls-files``, with their contents in the
working tree) under one folder, ``how-models-generalize/``, whose first file is a short
``READ-ME-FIRST.md`` with the two commands. It is the repository itself, so the helper package
keeps its import name ``lib``: ``make book`` inside the unpacked folder installs it into that
folder's ``.venv`` (``pip install -e .``), as in a clone. Where there is no ``.git`` (an unpacked
archive), the list of files is read from the ``SOURCE_FILES`` list the archive carries, so
``make book`` works from an unpacked archive too. A source tree that is neither (the student
edition's, under ``_build/student/src``) gets no archive and no link: that edition withholds the
solutions, which the full sources contain.

Files are written in sorted order with a fixed timestamp, so the same sources give the same
archive byte for byte.
"""

from __future__ import annotations

import html
import pathlib
import stat
import subprocess
import zipfile

ARCHIVE = "how-models-generalize-source.zip"
FOLDER = "how-models-generalize"
MANIFEST = "SOURCE_FILES"
README = "READ-ME-FIRST.md"
# A fixed time for every entry (zip cannot store times before 1980).
TIMESTAMP = (1980, 1, 1, 0, 0, 0)

README_TEXT = """\
# How Models Generalize: Executable Essays (source)

This folder is the book's repository: the chapters (`chapters/`), the helper package they import
as `lib` (`lib/`), the tests and the build. You need Python 3.11 or newer and `make`.

```bash
make book   # create .venv, install the pinned packages and `lib`, run every chapter, build the HTML
make test   # every test: unit tests, each chapter against a fresh run, a strict build, the browser
```

Then `make lab` opens the chapters in JupyterLab with the same environment: open a notebook in
`chapters/` and choose *Run > Restart Kernel and Run All Cells*. Chapter 00 ("How to read and run
this book") and README.md say more.
"""


def source_files(root: pathlib.Path) -> list[str] | None:
    """The book's files under ``root`` (relative POSIX paths, sorted), or None if ``root`` is not
    the top of the book's sources (neither a git work tree's top nor an unpacked archive)."""
    root = pathlib.Path(root).resolve()
    if (root / ".git").exists():
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        files = [name for name in listed.split("\0") if name]
    elif (root / MANIFEST).is_file():
        files = (root / MANIFEST).read_text(encoding="utf-8").split("\n")
    else:
        return None
    # A tracked file deleted in the working tree is left out.
    return sorted(name for name in files if name and (root / name).is_file())


def write_archive(root: pathlib.Path, destination: pathlib.Path) -> pathlib.Path | None:
    """Write the archive of ``root``'s sources to the folder ``destination``; return its path, or
    None if ``root`` is not the top of the book's sources."""
    root = pathlib.Path(root).resolve()
    files = source_files(root)
    if files is None:
        return None
    destination = pathlib.Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    target = destination / ARCHIVE
    partial = target.with_suffix(".zip.part")
    listed = [name for name in files if name not in (README, MANIFEST)]
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _add(archive, README, README_TEXT.encode(), 0o644)
        _add(archive, MANIFEST, ("\n".join([README, MANIFEST, *listed]) + "\n").encode(), 0o644)
        for name in listed:
            path = root / name
            mode = 0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644
            _add(archive, name, path.read_bytes(), mode)
    partial.replace(target)
    return target


def _add(archive: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(f"{FOLDER}/{name}", date_time=TIMESTAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (stat.S_IFREG | mode) << 16
    archive.writestr(info, data)


def _write(app) -> None:
    app.source_archive = None
    if app.builder.format != "html":
        return
    written = write_archive(pathlib.Path(app.srcdir), pathlib.Path(app.outdir))
    app.source_archive = written.name if written else None


def _linked(app, pagename: str) -> bool:
    return pagename == app.config.root_doc or pagename.startswith("chapters/")


def _add_link(app, pagename, templatename, context, doctree):
    if not getattr(app, "source_archive", None) or not _linked(app, pagename):
        return
    if "body" not in context:
        return
    archive = html.escape(context["pathto"](app.source_archive, 1))
    steps = html.escape(
        # On chapter 00 itself pathto gives "#": keep only the page part.
        context["pathto"]("chapters/00_how_to_read_and_run").split("#")[0] + "#how-to-run-a-chapter"
    )
    context["body"] = (
        '<p class="source-archive">Run this book yourself: '
        f'<a class="source-archive-link" href="{archive}" download>download its source</a> '
        f'(a zip of the repository) and follow <a href="{steps}">the steps in chapter 00</a>.</p>\n'
        + context["body"]
    )


def setup(app):
    app.connect("builder-inited", _write)
    app.connect("html-page-context", _add_link)
    # env_version: a change to what this writes into pages rebuilds every page.
    return {
        "version": "1.0",
        "env_version": 1,
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
