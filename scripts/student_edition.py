"""Write the student edition: the chapters without their solutions, and a book built from them.

``make student`` runs this. It writes

- ``_build/student/notebooks/``: one notebook per chapter, identical to the book's except that
  every solution is removed (the cells from ``{solution-start}`` to ``{solution-end}``; a cell
  that holds text after the closing fence keeps that text);
- ``_build/student/src/``: a copy of the project (all but what ``EXCLUDED`` names) with those
  notebooks in place of the chapters and ``hide_solutions`` set for sphinx-exercise, from which
  ``make student`` builds the student HTML. The whole project is copied, not a list of the book's
  sources, so that whatever a page includes or links by a relative path (a ``{literalinclude}`` of
  ``../lib/...``, ``references.bib``, a figure beside a chapter) resolves as it does in the book.

The student notebooks keep the outputs the book stored: solutions come last in every chapter, so
each remaining cell computes what it computed in the book, whose outputs ``make test`` verifies
(``tests/test_student_edition.py`` checks that nothing after a removed solution is code).
The build therefore renders those stored outputs (``execute_notebooks: off``) rather than
running the chapters again.

Usage: ``python scripts/student_edition.py [PROJECT_ROOT]``.
"""

from __future__ import annotations

import copy
import json
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
    counts = {}
    for path in sorted(chapters.glob("*.ipynb")):
        student, counts[path.name] = strip_solutions(json.loads(path.read_text(encoding="utf-8")))
        text = json.dumps(student, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
        (notebooks / path.name).write_text(text, encoding="utf-8")
    shutil.copytree(notebooks, src / "chapters", dirs_exist_ok=True)
    return counts


if __name__ == "__main__":
    counts = write_edition(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "."))
    print(
        f"student notebooks: {sum(counts.values())} solutions removed from {len(counts)} chapters"
    )
