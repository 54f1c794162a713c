"""Time each chapter, executed top to bottom on a fresh kernel, against the floor: `make timings`.

For every notebook in chapters/ (or the ones named on the command line) this starts a new
Jupyter kernel, runs every cell in order as `make outputs` does (nbclient; nothing is written
back to the notebook), and records the wall-clock time and the CPU time the kernel used (user
plus system, from the kernel process's resource usage once it has exited, so BLAS threads are
counted). The *floor* is the same measurement for a notebook that only does what every chapter
must: start a kernel, import the book's libraries and draw one figure in the house style. A
chapter's own cost is its time minus the floor.

The result goes to reference/timings.csv: one row per chapter, the floor, and the chapters'
total, preceded by comment lines naming the machine (CPU, cores, OpenBLAS kernel, Python, numpy)
and the load average when the run began. reference/reproducibility.md renders that file as a
table when the book is built, so the page shows the last measurement, never a typed one.

Timings depend on what else the machine is doing: run this on a quiet machine (the load average
is recorded so that a loaded run can be recognised). Usage::

    python scripts/timings.py                        # every chapter, ~2.5 minutes
    python scripts/timings.py chapters/00_*.ipynb    # some chapters (the CSV then holds those)
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import numpy as np
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
OUTPUT = ROOT / "reference" / "timings.csv"
TIMEOUT = 600  # seconds per cell; a chapter is meant to take at most 30 s in all

#: What every chapter does before its own work: the book's imports and one figure.
FLOOR_SOURCE = """\
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import scipy.stats
import sklearn.linear_model
from lib import PALETTE, decorate, house_style, require

with house_style():
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(np.linspace(0, 1, 50), np.linspace(0, 1, 50) ** 2, color=PALETTE["blue"])
    decorate(ax, xlabel="x", ylabel="y", title="floor")
    plt.show()
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_notebook(notebook: nbformat.NotebookNode, cwd: Path) -> tuple[float, float]:
    """Execute ``notebook`` on a fresh kernel in ``cwd``; return (wall, CPU) seconds.

    The CPU time is the kernel's: it is read from this process's exited children, which the
    kernel joins when nbclient shuts it down at the end of the run.
    """
    client = NotebookClient(
        notebook,
        timeout=TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
    )
    cpu_before, wall_before = _children_cpu(), time.perf_counter()
    client.execute()
    return time.perf_counter() - wall_before, _children_cpu() - cpu_before


def floor_notebook() -> nbformat.NotebookNode:
    """Return the floor: a notebook with one cell that imports the book's libraries and plots."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell(FLOOR_SOURCE))
    return notebook


def blas_kernel() -> str:
    """Return the OpenBLAS kernel numpy uses here (its core type), or what is known of it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl is pinned in requirements.txt
        return "unknown"
    for pool in threadpool_info():
        if pool.get("internal_api") == "openblas":
            return f"OpenBLAS {pool.get('version')} ({pool.get('architecture')})"
    return "not OpenBLAS"


def machine_description() -> list[str]:
    """Return comment lines describing the machine and the moment of the measurement."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        f"machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}",
        f"software: Python {platform.python_version()}, numpy {np.__version__}, {blas_kernel()}"
        + (
            f", OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']}"
            if "OPENBLAS_CORETYPE" in os.environ
            else ""
        ),
        f"measured: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average at start {load}",
        "times: seconds; wall clock and kernel CPU (user + system), each chapter on a fresh kernel",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapter")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    notebooks = sorted(args.notebooks or CHAPTERS.glob("*.ipynb"))
    if not notebooks:
        print("no notebooks to time", file=sys.stderr)
        return 1
    header = machine_description()  # before the run: the load average is the machine's own
    floor_wall, floor_cpu = time_notebook(floor_notebook(), CHAPTERS)
    print(f"floor: wall {floor_wall:.1f} s, CPU {floor_cpu:.1f} s", flush=True)
    rows = []
    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        wall, cpu = time_notebook(notebook, path.resolve().parent)
        rows.append((path.stem, wall, cpu))
        print(f"{path.stem}: wall {wall:.1f} s, CPU {cpu:.1f} s", flush=True)
    total_wall, total_cpu = sum(r[1] for r in rows), sum(r[2] for r in rows)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", newline="") as handle:
        handle.writelines(f"# {line}\n" for line in header)
        writer = csv.writer(handle)
        writer.writerow(["notebook", "wall_s", "cpu_s", "wall_minus_floor_s"])
        for name, wall, cpu in rows:
            writer.writerow([name, f"{wall:.1f}", f"{cpu:.1f}", f"{wall - floor_wall:.1f}"])
        writer.writerow(["floor", f"{floor_wall:.1f}", f"{floor_cpu:.1f}", "0.0"])
        writer.writerow(
            [
                "total",
                f"{total_wall:.1f}",
                f"{total_cpu:.1f}",
                f"{total_wall - len(rows) * floor_wall:.1f}",
            ]
        )
    print(f"total: wall {total_wall:.1f} s, CPU {total_cpu:.1f} s -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
