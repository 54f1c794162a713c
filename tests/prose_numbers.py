"""Find the numbers a chapter's prose states and whether its own section backs each one.

The rule (README, "Adding a chapter", item 6; settled by issue 24): every number typed in a
chapter's markdown is one of

- printed, character for character, by a stored output of a code cell *in the same section*
  (nbval makes sure the stored outputs equal a fresh run under every BLAS kernel ``make test``
  tries, so such a number is what the code computes on any of them). A section starts at a line
  ``## ...``; ``###`` subsections belong to their ``##`` section, and the text before the first
  ``##`` is a section of its own. A number printed only in another section does not back it: a
  conclusion that recaps earlier results gets a small code cell at its top that prints them;
- written in one of the chapter's code cells, anywhere (a constant the code uses: ``N_CASES = 20``);
- listed in the notebook's metadata under ``"prose_numbers": {"not_computed": [...]}``: numbers
  that no cell computes, such as those the prose quotes from the literature (a paper's table) or a
  world's parameters as :mod:`lib` defines them. Keep this list short; a reviewer checks it by hand.

MyST-NB's glue (``{glue:text}`` roles, ``glue(...)`` calls) is not allowed: JupyterLab shows the
role as raw markup where the book shows the number, so a student running the chapter reads
``{glue:text}`gap``` at the result. Type the number instead.

A typed number that matches none of these is *stale or untied*, and ``tests/test_prose_numbers.py``
fails on it. Single-digit integers are not checked (they count things: "two towns", "step 3"), nor
the **Time.** line (reading and run times are estimates; the Reproducibility page shows measured
run times), citations, cross-references, link targets, URLs and chapter numbers. A percentage is
backed by the same number or by its fraction (90% by 0.9 or 0.90).

``python tests/prose_numbers.py`` prints, for each chapter, its glue uses and the numbers the
section rule finds unbacked.
"""

from __future__ import annotations

import json
import pathlib
import re

# A number as prose writes it: 0.292, 1,024, 10^7, 3.03, 95%, −0.05, 1.51e-06. Signs are dropped (the check
# is about digits). A digit string glued to letters (x2, H2O, 3D) is not a number here.
# Scientific notation as Python prints it (1.51e-06) is one number.
NUMBER = re.compile(
    r"(?<!\^\{)(?<!\^\{-)(?<![\w.^_,])"
    r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:e[+-]?\d+)?)(?![\w^]|[.,]\d)"
)

# Spans whose digits are not claims: citations and cross-references, link targets, glue roles
# (their text comes from outputs), HTML comments, headings' chapter numbers, URLs.
_IGNORED = [
    re.compile(r"\{(?:cite:[pt]|cite|term|ref|doc|numref|eq|glue:text|glue:any|glue)\}`[^`]*`"),
    re.compile(r"\]\([^)]*\)"),
    re.compile(r"<!--.*?-->", re.S),
    re.compile(r"https?://\S+"),
    re.compile(
        r"\(\{solution-start\}.*?$|^:::.*?$|^```\{[^}]*\}.*?$|^:label:.*$|^:class:.*$", re.M
    ),
    re.compile(r"chapters?\s+\d+(?:\s*(?:and|,|–|-)\s*\d+)*", re.I),
    re.compile(r"\bcrux\s+\d+", re.I),
    # Reading and run times are estimates and measurements of the machine, not results; the
    # Reproducibility page shows the measured run times.
    re.compile(r"^\*\*Time\.\*\*.*?(?:\n\n|\Z)", re.M | re.S),
]


def _text(cell) -> str:
    return "".join(cell["source"])


def _output_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if "text" in output:
            parts.append("".join(output["text"]))
        for key in ("text/plain", "text/markdown", "text/html"):
            value = output.get("data", {}).get(key)
            if value is not None:
                parts.append("".join(value))
    return "\n".join(parts)


def prose_numbers(markdown: str) -> list[str]:
    """Return the number strings typed in ``markdown``, in order, ignoring non-claim spans."""
    for pattern in _IGNORED:
        markdown = pattern.sub(" ", markdown)
    # LaTeX groups digits with thin spaces (19\,999) or braces ({,}).
    markdown = re.sub(r"(?<=\d)(?:\\,|\{,\}|\\ )(?=\d{3})", ",", markdown)
    found = []
    for match in NUMBER.finditer(markdown):
        token = match.group(1)
        if markdown[match.end() : match.end() + 1] == "%":
            token += "%"
        if re.fullmatch(r"\d", token):
            continue
        found.append(token)
    return found


def _plain(text: str) -> str:
    # 200,000 in prose, 200_000 in code and 200000 in an output are the same number.
    return re.sub(r"(?<=\d)[,_](?=\d{3}\b|\d{3}[,_])", "", text)


def _contains(haystack: str, token: str) -> bool:
    token = _plain(token)
    if token.endswith("%"):
        # 90% is backed by 90% or 90 (a constant) or by 0.9, 0.90, ... (a probability).
        number = token[:-1]
        fraction = f"{float(number) / 100:.10f}".rstrip("0").rstrip(".")
        return (
            _contains(haystack, number)
            or re.search(rf"(?<![\d.]){re.escape(fraction)}0*(?!\d)", haystack) is not None
        )
    if re.search(rf"(?<![\d.]){re.escape(token)}(?!\d|\.\d)", haystack):
        return True
    # An integer in the prose is also backed by the float constant that the code writes: 10 by 10.0.
    return token.isdigit() and re.search(rf"(?<![\d.]){token}\.0+(?!\d)", haystack) is not None


# A ``##`` heading starts a section (not ``#``, ``###`` or deeper).
SECTION_HEADING = re.compile(r"^##[ \t]")

# Glue in either form: the role in markdown, the call (or its import) in code.
GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}")
GLUE_CALL = re.compile(r"\bglue\s*\(|\bimport\s+glue\b|myst_nb\s+import\s+glue")


def _load(notebook):
    return json.loads(pathlib.Path(notebook).read_text(encoding="utf-8"))


def sections(cells) -> list[tuple[int, int, str]]:
    """Split ``cells`` into ``(cell index, section number, text)`` pieces.

    Section 0 is what comes before the first ``##`` heading; each ``##`` line (in a markdown cell,
    even mid-cell) starts the next section. A code cell's piece is its source, in the section it
    stands in.
    """
    pieces = []
    section = 0
    for index, cell in enumerate(cells):
        text = _text(cell)
        if cell["cell_type"] != "markdown":
            pieces.append((index, section, text))
            continue
        lines: list[str] = []
        fenced = False
        for line in text.splitlines(keepends=True):
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
            if not fenced and SECTION_HEADING.match(line):
                if lines:
                    pieces.append((index, section, "".join(lines)))
                section += 1
                lines = []
            lines.append(line)
        if lines:
            pieces.append((index, section, "".join(lines)))
    return pieces


def glue_uses(notebook) -> list[tuple[int, str]]:
    """Return ``(cell index, text)`` for every glue role or glue call in ``notebook``."""
    found = []
    for index, cell in enumerate(_load(notebook)["cells"]):
        pattern = GLUE_ROLE if cell["cell_type"] == "markdown" else GLUE_CALL
        found += [(index, match.group(0)) for match in pattern.finditer(_text(cell))]
    return found


def untied_numbers(notebook, scope: str = "section") -> list[tuple[int, str]]:
    """Return ``(cell index, number)`` for every prose number in ``notebook`` that nothing backs.

    With ``scope="section"`` (the rule) a number is backed by the outputs of the code cells in its
    own ``##`` section, by any code cell's source, or by the metadata list. ``scope="notebook"``
    lets the outputs of any cell back it: the old, looser rule, which the tests use only to show
    that it would pass a number the section rule fails.
    """
    if scope not in ("section", "notebook"):
        raise ValueError(f"scope must be 'section' or 'notebook', got {scope!r}")
    data = _load(notebook)
    cells = data["cells"]
    sources = data.get("metadata", {}).get("prose_numbers", {}).get("not_computed", [])
    anywhere = "\n".join(
        [_text(c) for c in cells if c["cell_type"] == "code"] + [" ".join(map(str, sources))]
    )
    outputs: dict[int, list[str]] = {}
    pieces = sections(cells)
    for index, section, _ in pieces:
        if cells[index]["cell_type"] == "code":
            key = 0 if scope == "notebook" else section
            outputs.setdefault(key, []).append(_output_text(cells[index]))
    untied = []
    for index, section, text in pieces:
        if cells[index]["cell_type"] != "markdown":
            continue
        key = 0 if scope == "notebook" else section
        backing = _plain(anywhere + "\n" + "\n".join(outputs.get(key, [])))
        untied += [(index, t) for t in prose_numbers(text) if not _contains(backing, t)]
    return untied


def report(chapters) -> str:
    """One line per chapter: its glue uses and the numbers the section rule finds unbacked."""
    lines = []
    for notebook in chapters:
        notebook = pathlib.Path(notebook)
        glued = glue_uses(notebook)
        roles = sum(1 for _, text in glued if text.startswith("{"))
        untied = untied_numbers(notebook)
        lines.append(
            f"{notebook.name}: {roles} glue roles, {len(glued) - roles} glue calls, "
            f"{len(untied)} typed numbers unbacked in their section"
            + (f" {untied}" if untied else "")
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    root = pathlib.Path(__file__).resolve().parent.parent
    print(report(sys.argv[1:] or sorted((root / "chapters").glob("*.ipynb"))))
