"""The student edition removes every solution and nothing else, and what is left runs as verified.

The chapters' own outputs are checked against a fresh run by nbval (``make test-notebooks``). A
student notebook is a chapter with its solutions cut out; if no code cell follows the first
removed solution, its code cells are a prefix of the chapter's, so they run exactly as the
verified chapter does up to the exercises. These tests check that structure for every chapter,
and :func:`strip_solutions` on small notebooks made here.
"""

import fnmatch
import json
import pathlib
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from scripts.student_edition import EXCLUDED, strip_solutions, write_edition

ROOT = pathlib.Path(__file__).parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))

START = "```{solution-start} ex-a\n:class: dropdown\n```\nThe answer is"
END = "```{solution-end}\n```"


def _notebook(*cells):
    return json.loads(json.dumps(new_notebook(cells=list(cells))))


def _sources(notebook):
    return ["".join(cell["source"]) for cell in notebook["cells"]]


def test_solution_cells_are_removed_and_text_after_the_end_fence_kept():
    nb = _notebook(
        new_markdown_cell("# Title"),
        new_code_cell("x = 1"),
        new_markdown_cell("```{exercise} A\n:label: ex-a\nDo it.\n```"),
        new_markdown_cell(START),
        new_code_cell("answer = 2 * x"),
        new_markdown_cell("So it is 2.\n\n" + END + "\n\nAnd more for students."),
    )
    student, removed = strip_solutions(nb)
    assert removed == 1
    assert _sources(student) == [
        "# Title",
        "x = 1",
        "```{exercise} A\n:label: ex-a\nDo it.\n```",
        "And more for students.",
    ]
    assert len(nb["cells"]) == 6, "the input notebook is left unchanged"


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ([new_markdown_cell(START), new_code_cell("y = 1")], "has no {solution-end}"),
        ([new_markdown_cell(END)], "comes before its {solution-start}"),
    ],
)
def test_unbalanced_solutions_are_rejected(cells, message):
    with pytest.raises(ValueError, match=message):
        strip_solutions(_notebook(*cells))


def test_one_cell_can_end_a_solution_set_the_next_exercise_and_start_its_solution():
    nb = _notebook(
        new_markdown_cell("```{exercise} A\n:label: ex-a\n```\n\n" + START),
        new_code_cell("answer = 1"),
        new_markdown_cell("Done.\n" + END + "\n\n```{exercise} B\n:label: ex-b\n```\n\n" + START),
        new_code_cell("answer = 2"),
        new_markdown_cell(END),
    )
    student, removed = strip_solutions(nb)
    assert removed == 2
    assert _sources(student) == [
        "```{exercise} A\n:label: ex-a\n```",
        "```{exercise} B\n:label: ex-b\n```",
    ]


def test_strip_rejects_what_is_not_a_notebook():
    with pytest.raises(TypeError, match="notebook must be a notebook dict"):
        strip_solutions(["cells"])


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_each_chapter_loses_its_solutions_and_keeps_the_rest_as_verified(path):
    chapter = json.loads(path.read_text(encoding="utf-8"))
    student, removed = strip_solutions(chapter)
    text = "\n".join(_sources(student))
    starts = sum("{solution-start}" in "".join(c["source"]) for c in chapter["cells"])
    assert removed == starts, "every solution is removed"
    assert "{solution" not in text, "a solution survives in the student notebook"
    assert removed >= 1, "a chapter without solutions would have no exercises to set"
    code = [c for c in chapter["cells"] if c["cell_type"] == "code"]
    kept = [c for c in student["cells"] if c["cell_type"] == "code"]
    # The kept code cells, outputs included, are the chapter's first ones: they run as verified.
    assert kept == code[: len(kept)]
    cells = student["cells"]
    first_exercise = next(
        (i for i, c in enumerate(cells) if "{exercise}" in "".join(c["source"])), len(cells)
    )
    assert all(c["cell_type"] == "markdown" for c in cells[first_exercise:]), (
        "a code cell after the exercises would run without the solutions before it"
    )


def test_write_edition_copies_the_project_with_the_student_chapters(tmp_path):
    for name in ("_config.yml", "_toc.yml", "intro.md", "references.bib"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / "chapters").mkdir()
    for path in CHAPTERS:
        (tmp_path / "chapters" / path.name).write_text(path.read_text())
    # What a page may include or link by a relative path, and what the copy must leave out.
    extras = ["lib/worlds/confounding.py", "chapters/figure.svg", "_static/style.css"]
    left_out = ["_build/html/index.html", ".venv/bin/python", ".git", "lib/__pycache__/x.pyc"]
    for name in extras + left_out:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    counts = write_edition(tmp_path)
    assert sorted(counts) == [p.name for p in CHAPTERS]
    written = sorted((tmp_path / "_build" / "student" / "notebooks").glob("*.ipynb"))
    assert [p.name for p in written] == [p.name for p in CHAPTERS]
    src = tmp_path / "_build" / "student" / "src"
    for path in written:
        assert (src / "chapters" / path.name).read_text() == path.read_text()
        nbformat.validate(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))
    for name in extras + ["intro.md", "references.bib", "_toc.yml"]:
        assert (src / name).read_text() == (tmp_path / name).read_text(), name
    for name in left_out:
        assert not (src / name).exists(), f"{name} was copied into the student sources"
    assert not (src / "_build").exists()
    config = (src / "_config.yml").read_text()
    assert "hide_solutions: true" in config and "execute_notebooks: 'off'" in config


def test_the_copy_leaves_out_everything_git_ignores():
    patterns = [
        line.strip().rstrip("/")
        for line in (ROOT / ".gitignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    missing = [pattern for pattern in patterns if pattern not in EXCLUDED]
    assert not missing, (
        f"add these .gitignore patterns to EXCLUDED in scripts/student_edition.py: {missing}"
    )


# A path that a page of the book names relative to itself: an include or figure directive's
# argument, or a markdown link or image that is not a URL.
_DIRECTIVE_PATH = re.compile(
    r"^(?:```|:::)\{(?:literalinclude|include|image|figure|download)\}\s+(\S+)", re.M
)
_LINK_PATH = re.compile(r"\]\(([^)\s#]+)")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})\s*(.*)$")
# Directives whose body is code, not markdown (a fence with no directive is a code listing too).
_CODE_DIRECTIVES = ("{code-cell}", "{code-block}", "{code}", "{literalinclude}")


def _without_code(text):
    """``text`` without the bodies of fenced code (code cells, listings): their brackets are no links."""
    kept, open_fences = [], []  # each open fence: (marker, whether its body is code)
    for line in text.splitlines():
        fence = _FENCE.match(line)
        in_code = any(code for _marker, code in open_fences)
        if fence and open_fences and not fence.group(2):
            marker = open_fences[-1][0]
            if fence.group(1)[0] == marker[0] and len(fence.group(1)) >= len(marker):
                open_fences.pop()
                continue
        if fence and not in_code:
            info = fence.group(2)
            code = not info.startswith("{") or info.startswith(_CODE_DIRECTIVES)
            open_fences.append((fence.group(1), code))
            kept.append(line)
        elif not in_code:
            kept.append(line)
    return "\n".join(kept)


def _pages():
    toc = (ROOT / "_toc.yml").read_text()
    names = re.findall(r"(?:root|file):\s*(\S+)", toc)
    pages = []
    for name in names:
        for suffix in (".ipynb", ".md"):
            if (ROOT / (name + suffix)).is_file():
                pages.append(ROOT / (name + suffix))
    return pages


def _page_text(path):
    if path.suffix != ".ipynb":
        return _without_code(path.read_text(encoding="utf-8"))
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return _without_code(text)


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_path_a_page_names_is_in_the_student_sources(page):
    """What a page includes or links resolves in the project and is not left out of the copy that
    the student book is built from (make test builds that book too, with warnings as errors)."""
    text = _page_text(page)
    problems = []
    for name in _DIRECTIVE_PATH.findall(text) + _LINK_PATH.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", name, re.I):
            continue  # a URL (https:, mailto:), not a path
        target = (page.parent / name).resolve()
        candidates = [target, *(target.with_name(target.name + s) for s in (".md", ".ipynb"))]
        if not any(c.exists() for c in candidates):
            problems.append(f"{name}: no such file")
            continue
        try:
            parts = target.relative_to(ROOT).parts
        except ValueError:
            problems.append(f"{name}: outside the project")
            continue
        if any(fnmatch.fnmatch(part, pattern) for part in parts for pattern in EXCLUDED):
            problems.append(f"{name}: in a folder the student edition leaves out")
    assert not problems, f"{page.name}: {problems}"


def test_write_edition_needs_chapters(tmp_path):
    with pytest.raises(ValueError, match="must hold a chapters/ folder"):
        write_edition(tmp_path)
