"""The student edition removes every solution and nothing else, and what is left runs as verified.

The chapters' own outputs are checked against a fresh run by nbval (``make test-notebooks``). A
student notebook is a chapter with its solutions cut out; if no code cell follows the first
removed solution, its code cells are a prefix of the chapter's, so they run exactly as the
verified chapter does up to the exercises. These tests check that structure for every chapter,
and :func:`strip_solutions` on small notebooks made here.
"""

import json
import pathlib

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from scripts.student_edition import SOURCES, strip_solutions, write_edition

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


def test_write_edition_writes_every_chapter_and_the_book_sources(tmp_path):
    for name in SOURCES:
        source = ROOT / name
        target = tmp_path / name
        if source.is_dir():
            target.mkdir()
        else:
            target.write_text(source.read_text())
    (tmp_path / "chapters").mkdir()
    for path in CHAPTERS:
        (tmp_path / "chapters" / path.name).write_text(path.read_text())
    counts = write_edition(tmp_path)
    assert sorted(counts) == [p.name for p in CHAPTERS]
    written = sorted((tmp_path / "_build" / "student" / "notebooks").glob("*.ipynb"))
    assert [p.name for p in written] == [p.name for p in CHAPTERS]
    config = (tmp_path / "_build" / "student" / "src" / "_config.yml").read_text()
    assert "hide_solutions: true" in config and "execute_notebooks: 'off'" in config


def test_write_edition_needs_chapters(tmp_path):
    with pytest.raises(ValueError, match="must hold a chapters/ folder"):
        write_edition(tmp_path)
