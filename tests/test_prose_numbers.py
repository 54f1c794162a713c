"""Every number a chapter's prose states is printed by its own section, set in its code, or listed.

The rule and its exceptions are in ``tests/prose_numbers.py``. nbval (``make test-notebooks``)
makes sure the stored outputs equal a fresh run under each BLAS kernel it tries, so a number that
passes here is also what a fresh run prints on those kernels.

Every chapter is held to the section rule, and any MyST-NB glue fails (issue 24: JupyterLab shows
glue roles as raw markup, so numbers are typed).
"""

import json
import pathlib

import pytest
from prose_numbers import glue_uses, prose_numbers, sections, untied_numbers

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))

TYPE_IT = (
    "glue is not used any more (JupyterLab shows {glue:text} roles as raw markup): type the "
    "number in the markdown as an output of a code cell in the same ## section prints it, and "
    "delete the glue() call"
)


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_no_glue(notebook):
    glued = glue_uses(notebook)
    assert not glued, f"{notebook.name}: {TYPE_IT}; found (cell index, text): {glued}"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_every_prose_number_is_backed_in_its_section(notebook):
    untied = untied_numbers(notebook, scope="section")
    assert not untied, (
        f"{notebook.name}: prose numbers that no output of a code cell in the same ## section "
        "prints, no code cell sets and the notebook's metadata prose_numbers.not_computed does "
        f"not list (cell index, number): {untied}. Print the number in its section (a conclusion "
        "that recaps earlier results gets a short summary cell at its top), or fix the text."
    )


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_not_computed_lists_hold_only_numbers_the_prose_uses(notebook):
    data = json.loads(notebook.read_text(encoding="utf-8"))
    listed = data.get("metadata", {}).get("prose_numbers", {}).get("not_computed", [])
    used = {
        n
        for c in data["cells"]
        if c["cell_type"] == "markdown"
        for n in prose_numbers("".join(c["source"]))
    }
    assert set(listed) <= used, (
        f"{notebook.name}: not_computed lists numbers the prose no longer uses: {set(listed) - used}"
    )


def test_a_stale_number_is_caught(tmp_path):
    # The control: a chapter whose prose states 0.712 while its output prints 0.713.
    notebook = {
        "metadata": {},
        "cells": [
            {
                "cell_type": "markdown",
                "source": ["The estimate is 0.712, from 2,000 draws (90% of them kept)."],
            },
            {
                "cell_type": "code",
                "source": ["N_DRAWS = 2_000\nKEEP = 0.9"],
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": ["estimate 0.713\n"]}
                ],
            },
        ],
    }
    path = tmp_path / "stale.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    assert untied_numbers(path) == [(0, "0.712")]
    notebook["cells"][1]["outputs"][0]["text"] = ["estimate 0.712\n"]
    path.write_text(json.dumps(notebook), encoding="utf-8")
    assert untied_numbers(path) == []


@pytest.mark.parametrize(
    ("markdown", "numbers"),
    [
        ("See {cite:p}`zhang2017` and chapter 03, crux 4.", []),
        (
            "The gap is 0.292 ± 0.010, at $k = 2048$ and 1,024 draws.",
            ["0.292", "0.010", "2048", "1,024"],
        ),
        ("About $6 \\times 10^{-5}$ and $19\\,999$; 95% of runs.", ["19,999", "95%"]),
        ("**Time.** About 40 minutes to read.\n\nThen 12 steps.", ["12"]),
        ("x2 and H2O and step 3", []),
        ("within a bound of 1.51e-06 nats", ["1.51e-06"]),
    ],
)
def test_prose_numbers_finds_what_a_reader_reads_as_a_number(markdown, numbers):
    assert prose_numbers(markdown) == numbers


def _notebook(tmp_path, cells, name="chapter.ipynb"):
    path = tmp_path / name
    path.write_text(json.dumps({"metadata": {}, "cells": cells}), encoding="utf-8")
    return path


def _md(text):
    return {"cell_type": "markdown", "source": [text]}


def _code(source, printed=""):
    outputs = [{"output_type": "stream", "name": "stdout", "text": [printed]}] if printed else []
    return {"cell_type": "code", "source": [source], "outputs": outputs}


def test_a_number_printed_only_in_another_section_does_not_back_it(tmp_path):
    cells = [
        _md("## Experiment\n\nThe gap is 0.292."),
        _code("gap = run()", "gap 0.292\n"),
        _md("## What this shows\n\nThe gap, 0.292, is large."),
    ]
    path = _notebook(tmp_path, cells)
    assert untied_numbers(path) == [(2, "0.292")]
    # The looser, notebook-wide rule would have let it pass.
    assert untied_numbers(path, scope="notebook") == []
    # A summary cell at the top of the conclusion backs it.
    cells.insert(3, _code("print(summary)", "gap 0.292\n"))
    assert untied_numbers(_notebook(tmp_path, cells)) == []


def test_a_number_in_its_own_section_passes_and_subsections_belong_to_it(tmp_path):
    cells = [
        _md("Before any section: 0.125 of the draws."),
        _code("share = 1 / 8", "0.125\n"),
        _md("## Experiment\n\n### A detail\n\nThe estimate is 0.713."),
        _code("est = run()", "estimate 0.713\n"),
        _md("### Check\n\nAgain 0.713, with 95% coverage."),
        _code("NOMINAL = 0.95"),
    ]
    assert untied_numbers(_notebook(tmp_path, cells)) == []


def test_a_heading_mid_cell_starts_a_section(tmp_path):
    cells = [
        _md("## Experiment\n\nIt is 0.713."),
        _code("est = run()", "0.713\n"),
        _md("Still 0.713 here.\n\n## Exercises\n\nRecall 0.713."),
    ]
    path = _notebook(tmp_path, cells)
    assert untied_numbers(path) == [(2, "0.713")]
    assert [s for _, s, _ in sections(json.loads(path.read_text())["cells"])] == [1, 1, 1, 2]


def test_glue_is_found_in_markdown_and_code(tmp_path):
    path = _notebook(
        tmp_path,
        [
            _md("The gap is {glue:text}`gap`, and {glue}`other`."),
            _code('from myst_nb import glue\nglue("gap", "0.3", display=False)'),
        ],
    )
    assert [index for index, _ in glue_uses(path)] == [0, 0, 1, 1]
    assert glue_uses(_notebook(tmp_path, [_md("0.3"), _code("print(0.3)", "0.3\n")])) == []


def test_a_heading_inside_a_fence_does_not_start_a_section():
    cells = [_md("## A\n\n```text\n## not a heading\n```\n")]
    assert [s for _, s, _ in sections(cells)] == [1]
