"""Find the numbers a chapter's prose states and whether its code or outputs back each one.

The rule (README, "Adding a chapter"): every number typed in a chapter's markdown is one of

- printed, character for character, by one of the chapter's stored outputs (nbval makes sure the
  stored outputs equal a fresh run under every BLAS kernel ``make test`` tries, so such a number
  is what the code computes on any of them);
- written in one of the chapter's code cells (a constant the code uses: ``N_CASES = 20``);
- glued (``{glue:text}`name``` takes its text from the outputs, so it is not typed at all); or
- listed in the notebook's metadata under ``"prose_numbers": {"not_computed": [...]}``: numbers
  that no cell computes, such as those the prose quotes from the literature (a paper's table) or a
  world's parameters as :mod:`lib` defines them. Keep this list short; a reviewer checks it by hand.

A typed number that matches none of these is *stale or untied*, and ``tests/test_prose_numbers.py``
fails on it. Single-digit integers are not checked (they count things: "two towns", "step 3"), nor
the **Time.** line (reading and run times are estimates; the Reproducibility page shows measured
run times). A percentage is backed by the same number or by its fraction (90% by 0.9 or 0.90).
"""

from __future__ import annotations

import json
import pathlib
import re

# A number as prose writes it: 0.292, 1,024, 10^7, 3.03, 95%, −0.05. Signs are dropped (the check
# is about digits). A digit string glued to letters (x2, H2O, 3D) is not a number here.
NUMBER = re.compile(
    r"(?<!\^\{)(?<!\^\{-)(?<![\w.^_,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\w^]|[.,]\d)"
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


def untied_numbers(notebook) -> list[tuple[int, str]]:
    """Return ``(cell index, number)`` for every prose number in ``notebook`` that nothing backs."""
    data = json.loads(pathlib.Path(notebook).read_text(encoding="utf-8"))
    cells = data["cells"]
    sources = data.get("metadata", {}).get("prose_numbers", {}).get("not_computed", [])
    backing = "\n".join(
        [_output_text(c) for c in cells]
        + [_text(c) for c in cells if c["cell_type"] == "code"]
        + [" ".join(map(str, sources))]
    )
    backing = _plain(backing)
    return [
        (index, token)
        for index, cell in enumerate(cells)
        if cell["cell_type"] == "markdown"
        for token in prose_numbers(_text(cell))
        if not _contains(backing, token)
    ]
