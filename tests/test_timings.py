"""Tests of scripts/timings.py (make timings): it times a notebook and the floor on fresh kernels
and writes a CSV that reference/reproducibility.md can render."""

import csv
import importlib.util
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def _load_timings():
    spec = importlib.util.spec_from_file_location("timings", ROOT / "scripts" / "timings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_timings_writes_one_row_per_notebook_the_floor_and_the_total(tmp_path):
    timings = _load_timings()
    notebook = nbformat.v4.new_notebook()
    # Busy for a moment, so that its CPU time is measurably above 0.
    notebook.cells.append(nbformat.v4.new_code_cell("print(sum(i * i for i in range(2_000_000)))"))
    path = tmp_path / "01_tiny.ipynb"
    nbformat.write(notebook, path)
    output = tmp_path / "timings.csv"
    assert timings.main([str(path), "--output", str(output)]) == 0
    lines = output.read_text().splitlines()
    comments = [line for line in lines if line.startswith("#")]
    assert any(line.startswith("# machine: ") for line in comments)
    assert any("load average" in line for line in comments)
    header, *rows = csv.reader(line for line in lines if not line.startswith("#"))
    assert header == ["notebook", "wall_s", "cpu_s", "wall_minus_floor_s"]
    assert [row[0] for row in rows] == ["01_tiny", "floor", "total"]
    tiny, floor, total = ([float(value) for value in row[1:]] for row in rows)
    assert tiny[0] > 0 and tiny[1] > 0 and floor[0] > 0 and floor[1] > 0
    assert total[:2] == tiny[:2]  # one notebook: the total is its time
    # The notebook itself is not changed: timing stores no outputs.
    assert nbformat.read(path, as_version=4).cells[0].outputs == []
