"""Every number a chapter's prose states is printed by its outputs, set in its code, or listed.

The rule and its exceptions are in ``tests/prose_numbers.py``. nbval (``make test-notebooks``)
makes sure the stored outputs equal a fresh run under each BLAS kernel it tries, so a number that
passes here is also what a fresh run prints on those kernels.
"""

import json
import pathlib

import pytest
from prose_numbers import prose_numbers, untied_numbers

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_every_prose_number_is_backed(notebook):
    untied = untied_numbers(notebook)
    assert not untied, (
        f"{notebook.name}: prose numbers that no output prints, no code cell sets and the notebook's "
        f"metadata prose_numbers.not_computed does not list (cell index, number): {untied}"
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
    ],
)
def test_prose_numbers_finds_what_a_reader_reads_as_a_number(markdown, numbers):
    assert prose_numbers(markdown) == numbers
