"""Write the student edition: the chapters without their solutions, and a book built from them.

``make student`` runs this. It writes

- ``_build/student/notebooks/``: one notebook per chapter, identical to the book's except that
  every solution is removed (the cells from ``{solution-start}`` to ``{solution-end}``; a cell
  that holds text after the closing fence keeps that text);
- ``_build/student/src/``: a copy of the project (all but what ``EXCLUDED`` names) with those
  notebooks in place of the chapters, ``hide_solutions`` set for sphinx-exercise, and no
  instructor's guide (``TEACHER_ONLY``: it leaves the table of contents and the copy, and a link
  to it on another page keeps its text but loses the link), from which ``make student`` builds
  the student HTML and ``make pdf`` the student PDF. The whole project is copied, not a list of
  the book's sources, so that whatever a page includes or links by a relative path (a
  ``{literalinclude}`` of ``../lib/...``, ``references.bib``, a figure beside a chapter) resolves
  as it does in the book.

The student notebooks keep the outputs the book stored, and the build renders them
(``execute_notebooks: off``) rather than running the chapters again. That is sound because a
solution may sit anywhere (beside the idea it practises) only under the rules of the README's
"Exercises", which ``tests/test_student_edition.py`` enforces on every chapter: a solution that
some kept code cell follows draws no random numbers from the chapter's ``rng`` (only from
``exercise_rng(rng, label)``, which leaves it untouched) and assigns no name that a later kept
cell reads. Removing the solutions then leaves every kept cell computing what it computed in the
book, whose outputs ``make test`` verifies against a fresh run.

Usage: ``python scripts/student_edition.py [PROJECT_ROOT]``.
"""

from __future__ import annotations

import copy
import json
import os
import pathlib
import re
import shutil
import sys

import yaml

START = re.compile(r"^```\{solution-start\}", re.M)
END = re.compile(r"^```\{solution-end\}\s*\n```[ \t]*\n?", re.M)

# What the copy of the project leaves out (names matched at every depth, as in shutil's
# ignore_patterns): git's data, the builds and the environment, and everything .gitignore names
# (tests/test_student_edition.py checks that each .gitignore pattern is here).
EXCLUDED = (
    ".git",
    "_build",
    ".venv",
    "__pycache__",
    "*.egg-info",
    ".ipynb_checkpoints",
    ".pytest_cache",
    ".hypothesis",
    ".ruff_cache",
)

# Pages for the teacher only: the student edition leaves them out of its table of contents and
# its copy of the project, and unlinks links to them from the pages it keeps.
TEACHER_ONLY = ("reference/instructor_guide",)
# A markdown link [text](target), its target without a fragment or suffix.
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s#]+?)(?:\.md|\.ipynb)?(#[^)\s]*)?\)")


def strip_solutions(notebook: dict) -> tuple[dict, int]:
    """Return a copy of ``notebook`` without its gated solutions, and how many were removed.

    Everything from a ``{solution-start}`` fence to the end of its ``{solution-end}`` fence goes,
    whether the two sit in the same cell or many cells apart; text of a markdown cell before a
    start or after an end (the next exercise, say) stays.

    Raises
    ------
    ValueError
        If a ``{solution-start}`` has no ``{solution-end}`` after it, or an end comes first.
    """
    if not isinstance(notebook, dict) or "cells" not in notebook:
        raise TypeError(f"notebook must be a notebook dict with 'cells', got {type(notebook)}")
    student = copy.deepcopy(notebook)
    kept, removed, inside = [], 0, False
    for cell in student["cells"]:
        if cell["cell_type"] != "markdown":
            if not inside:
                kept.append(cell)
            continue
        text, survivors = "".join(cell["source"]), []
        while text:
            if inside:
                end = END.search(text)
                if end is None:
                    break
                inside, removed, text = False, removed + 1, text[end.end() :]
                continue
            start, end = START.search(text), END.search(text)
            if end is not None and (start is None or end.start() < start.start()):
                raise ValueError("a {solution-end} comes before its {solution-start}")
            if start is None:
                survivors.append(text)
                break
            survivors.append(text[: start.start()])
            inside, text = True, text[start.start() :]
        remaining = "".join(survivors).strip("\n")
        if remaining:
            cell["source"] = (remaining + "\n").splitlines(True)
            cell["source"][-1] = cell["source"][-1].rstrip("\n")
            kept.append(cell)
    if inside:
        raise ValueError("a {solution-start} has no {solution-end}")
    student["cells"] = kept
    return student, removed


def _student_config(text: str) -> str:
    config = yaml.safe_load(text)
    config["title"] = f"{config['title']} (student edition)"
    # Render the verified stored outputs; sphinx-exercise hides any solution directive left.
    config["execute"]["execute_notebooks"] = "off"
    config["sphinx"]["config"]["hide_solutions"] = True
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True)


def _student_toc(text: str) -> str:
    """The table of contents without the teacher's pages (and without a part they leave empty)."""
    toc = yaml.safe_load(text)
    parts = []
    for part in toc.get("parts", []):
        part["chapters"] = [c for c in part["chapters"] if c.get("file") not in TEACHER_ONLY]
        if part["chapters"]:
            parts.append(part)
    toc["parts"] = parts
    return yaml.safe_dump(toc, sort_keys=False, allow_unicode=True)


def unlink_teacher_pages(text: str, page: str) -> str:
    """``text`` of the page ``page`` (a path relative to the project, no suffix) with every link
    to a teacher's page replaced by the link's own text, so the sentence still reads."""
    folder = pathlib.PurePosixPath(page).parent

    def replace(match):
        target = match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            return match.group(0)  # a URL
        resolved = os.path.normpath((folder / target).as_posix())
        return match.group(1) if resolved in TEACHER_ONLY else match.group(0)

    return _LINK.sub(replace, text)


def _drop_teacher_pages(src: pathlib.Path) -> None:
    (src / "_toc.yml").write_text(_student_toc((src / "_toc.yml").read_text()))
    for page in TEACHER_ONLY:
        for suffix in (".md", ".ipynb"):
            (src / (page + suffix)).unlink(missing_ok=True)
    for path in src.rglob("*.md"):
        page = path.relative_to(src).with_suffix("").as_posix()
        text = path.read_text(encoding="utf-8")
        if (new := unlink_teacher_pages(text, page)) != text:
            path.write_text(new, encoding="utf-8")


def write_edition(root: pathlib.Path) -> dict[str, int]:
    """Write the student notebooks and source tree under ``root/_build/student``."""
    chapters = root / "chapters"
    if not chapters.is_dir():
        raise ValueError(f"root must hold a chapters/ folder, got {str(root)!r}")
    out = root / "_build" / "student"
    notebooks, src = out / "notebooks", out / "src"
    for folder in (notebooks, src):
        shutil.rmtree(folder, ignore_errors=True)
    notebooks.mkdir(parents=True)
    # The project as it is (a chapter's other files included), but for the chapters themselves.
    skip = shutil.ignore_patterns(*EXCLUDED)

    def ignore(folder, names):
        ignored = set(skip(folder, names))
        if pathlib.Path(folder).resolve() == chapters.resolve():
            ignored |= {name for name in names if name.endswith(".ipynb")}
        return ignored

    shutil.copytree(root, src, ignore=ignore)
    (src / "_config.yml").write_text(_student_config((root / "_config.yml").read_text()))
    _drop_teacher_pages(src)
    counts = {}
    for path in sorted(chapters.glob("*.ipynb")):
        student, counts[path.name] = strip_solutions(json.loads(path.read_text(encoding="utf-8")))
        for cell in student["cells"]:
            if cell["cell_type"] == "markdown":
                text = "".join(cell["source"])
                new = unlink_teacher_pages(text, f"chapters/{path.stem}")
                if new != text:
                    cell["source"] = new.splitlines(True)
        text = json.dumps(student, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
        (notebooks / path.name).write_text(text, encoding="utf-8")
    shutil.copytree(notebooks, src / "chapters", dirs_exist_ok=True)
    return counts


if __name__ == "__main__":
    counts = write_edition(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "."))
    print(
        f"student notebooks: {sum(counts.values())} solutions removed from {len(counts)} chapters"
    )
