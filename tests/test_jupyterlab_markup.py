"""MyST markup in the chapters that JupyterLab (through jupyterlab-myst) renders as the book does.

jupyterlab-myst, which ``make lab`` uses, renders roles and directives in markdown cells, but a
role whose content runs across a line break (``{term}`excess\\nlosses <excess loss>```) comes out
as its raw text, target and angle brackets included. The book renders both, so the chapters keep
every role on one line. ``tests/browser/test_jupyterlab.py`` checks the rendered result in
JupyterLab itself; this check is its cheap, static half, over every chapter.
"""

import json
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))

ROLE_ACROSS_LINES = re.compile(r"\{[a-z][\w:-]*\}`[^`]*\n[^`]*`")


def roles_across_lines(markdown: str) -> list[str]:
    """Return the roles in ``markdown`` whose content spans a line break."""
    return [match.group(0) for match in ROLE_ACROSS_LINES.finditer(markdown)]


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_every_role_stays_on_one_line(notebook):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    broken = [
        (index, role)
        for index, cell in enumerate(cells)
        if cell["cell_type"] == "markdown"
        for role in roles_across_lines("".join(cell["source"]))
    ]
    assert not broken, (
        f"{notebook.name}: roles broken across lines, shown raw in JupyterLab; put each on one "
        f"line (cell index, role): {broken}"
    )


def test_a_broken_role_is_found():
    assert roles_across_lines("the {term}`excess\nlosses <excess loss>` and {cite:p}`a`") == [
        "{term}`excess\nlosses <excess loss>`"
    ]
    assert roles_across_lines("{term}`excess losses <excess loss>`\nand `code`") == []
