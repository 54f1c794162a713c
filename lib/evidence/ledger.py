"""A ledger of the sources' own claims, with verdicts computed from the chapters' stored checks.

The book reproduces the arguments of three texts. The ledger lists each substantive claim of each
text, in order, in the book's words, and says what the book found about it. The rows are typed
(``reference/source_ledger.toml``): where in the source the claim is, which chapter section tests
it, and which of the chapters' checks *support* the claim and which *contradict* it. The verdict
and the key number are not typed: :func:`ledger_table` computes them from the checks that the
chapters stored in their outputs (:func:`lib.evidence.claims.read_checks`), so a chapter whose
result changes changes its row, and a check renamed or removed breaks it loudly.

The verdict of a row with checks:

- **contradicted** when a contradicting check holds (or a supporting one fails) and no
  supporting check that could have failed holds (sanity checks cannot fail, so they do not
  count as support against a contradiction);
- **reproduced with a qualification** when both a supporting and a contradicting check hold
  (the row must then say how, in its ``note``), or when every supporting check holds and the row
  carries a qualifying ``note``;
- **reproduced** when every supporting check holds, none contradicts, and there is no note.

A row without checks is "not yet tested" or "not testable at this scale", with a one-line
reason. A row whose chapter answers it in prose or printed output but with no check may carry a
*typed* verdict, which the page marks as typed; those rows wait for a check.

Examples
--------
>>> check = {"claim": "gap", "passed": True, "kind": "claim", "measured": 0.3,
...          "interval": [0.2, 0.4], "comparison": "measured 0.3"}
>>> compute_verdict(supports=[check], contradicts=[], note="")
'reproduced'
>>> compute_verdict(supports=[], contradicts=[check], note="")
'contradicted'
>>> heading_slug("Experiment 2: why the reference learning rate leaves the penalties idle")
'experiment-2-why-the-reference-learning-rate-leaves-the-penalties-idle'
"""

from __future__ import annotations

import json
import pathlib
import re
import tomllib
from dataclasses import dataclass

import pandas as pd

from .claims import read_checks

__all__ = [
    "DISAGREEMENT_PATTERN",
    "UNTESTED_VERDICTS",
    "VERDICTS",
    "LedgerRow",
    "chapter_sections",
    "claims_labels",
    "compute_verdict",
    "disagreement_statements",
    "heading_slug",
    "ledger_problems",
    "ledger_table",
    "load_ledger",
    "stored_checks",
]

# The claims page (reference/claims.md) puts a target named _CLAIMS_LABEL_PREFIX + notebook stem
# before each chapter's table, so that a ledger row can link to the table that holds its checks.
_CLAIMS_LABEL_PREFIX = "claims-"

VERDICTS = (
    "reproduced",
    "reproduced with a qualification",
    "contradicted",
    "not testable at this scale",
    "not yet tested",
)
UNTESTED_VERDICTS = VERDICTS[3:]

# How the chapters say that a result disagrees with a source (or with a work a source relies on).
# tests/test_ledger.py requires a ledger row (or a listed exemption) for every section that says so.
# Besides "disagrees with the ...", a chapter may name whom it disagrees with ("disagrees with
# Kumar et al.'s account"), or use the form chapter engineers were given for a disagreement: "The
# source says ...; here ..." (any "The source says", and "The essay/interview/paper says ...;"
# followed by "here", "ours" or "we").
DISAGREEMENT_PATTERN = re.compile(
    r"disagrees? with (?:the|it|them)\b|disagrees with\b|disagreement with"
    r"|\bthe source says\b"
    r"|\bthe (?:essay|interview|paper|summary) says\b(?=[^;\n]*;\s*(?:here|ours|we)\b)"
    r"|contradicts? (?:the|its|their)\b"
    r"|unlike the (?:source|essay|paper|interview|summary)|goes against the"
    r"|did not reproduce|(?:did|does|do) not (?:survive|hold up)|half right"
    r"|correct the essay|not what the (?:source|essay)",
    re.IGNORECASE,
)

_FIELDS = {
    "id",
    "source",
    "at",
    "claim",
    "quote",
    "tested_in",
    "supports",
    "contradicts",
    "note",
    "untested",
    "why",
    "typed",
    "printed",
    "chapter_says",
    "key",
}


@dataclass(frozen=True)
class LedgerRow:
    """One claim of one source, as the ledger file states it.

    Attributes
    ----------
    id : str
        A short stable identifier, e.g. ``"KK07"``.
    source : str
        The key of the source (``[[sources]]`` in the ledger file).
    at : str
        Where in the source: a section, footnote or timestamp.
    claim : str
        The claim, paraphrased in the book's words.
    quote : str
        At most two sentences of the source, or empty.
    tested_in : tuple of str
        Chapter sections, each ``"NN#Heading text"`` (``NN`` the notebook's two-digit prefix).
    supports, contradicts : tuple of str
        Names of stored checks whose holding supports, or contradicts, the claim.
    note : str
        The qualification (or, for a contradiction, what the contradiction rests on).
    untested : str
        For a row without checks: one of :data:`UNTESTED_VERDICTS`.
    why : str
        The one-line reason for an untested or typed verdict.
    typed : str
        A verdict typed because the chapter answers the claim without a check, or empty.
    printed : tuple of str
        Stored printed lines backing a typed verdict, each ``"NN#Heading|start of the line"``.
    chapter_says : tuple of str
        Chapter sections (``"NN#Heading"``) in which the chapter says it disagrees.
    key : str
        The check whose number the page shows; by default the first supporting check, else the
        first contradicting one.
    """

    id: str
    source: str
    at: str
    claim: str
    quote: str = ""
    tested_in: tuple = ()
    supports: tuple = ()
    contradicts: tuple = ()
    note: str = ""
    untested: str = ""
    why: str = ""
    typed: str = ""
    printed: tuple = ()
    chapter_says: tuple = ()
    key: str = ""


def load_ledger(path) -> dict:
    """Read a ledger file (TOML) and return its sources, rows and exemptions.

    Parameters
    ----------
    path : str or path-like
        The ledger file, with ``[[sources]]`` (``key``, ``title``, ``question``), ``[[rows]]``
        (the fields of :class:`LedgerRow`) and optional ``[[not_about_sources]]`` (``at``,
        ``why``): chapter sections whose wording matches :data:`DISAGREEMENT_PATTERN` but which
        disagree with no source.

    Returns
    -------
    dict
        ``{"sources": list of dict, "rows": list of LedgerRow, "not_about_sources": list}``.

    Raises
    ------
    ValueError
        If a row has an unknown field, a missing one, a duplicate id, or an unknown source.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise ValueError(f"path must be an existing ledger file, got {str(path)!r}")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    sources = data.get("sources", [])
    keys = [source["key"] for source in sources]
    rows, seen = [], set()
    for raw in data.get("rows", []):
        unknown = set(raw) - _FIELDS
        if unknown:
            raise ValueError(f"row {raw.get('id')!r} has unknown fields {sorted(unknown)}")
        for field in ("id", "source", "at", "claim"):
            if not str(raw.get(field, "")).strip():
                raise ValueError(f"row {raw.get('id')!r} needs a non-empty {field!r}")
        if raw["id"] in seen:
            raise ValueError(f"row id {raw['id']!r} appears twice")
        if raw["source"] not in keys:
            raise ValueError(f"row {raw['id']!r} names an unknown source {raw['source']!r}")
        seen.add(raw["id"])
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
        rows.append(LedgerRow(**fields))
    return {
        "sources": sources,
        "rows": rows,
        "not_about_sources": data.get("not_about_sources", []),
    }


def compute_verdict(*, supports, contradicts, note) -> str:
    """Return a row's verdict from its checks' records (see the module docstring).

    Parameters
    ----------
    supports, contradicts : list of dict
        Stored check records (with ``passed`` and ``kind``); at least one in all.
    note : str
        The row's qualification, possibly empty.

    Examples
    --------
    >>> holds = {"passed": True, "kind": "claim"}
    >>> sanity = {"passed": True, "kind": "sanity"}
    >>> compute_verdict(supports=[holds], contradicts=[holds], note="labels fix prediction only")
    'reproduced with a qualification'
    >>> compute_verdict(supports=[sanity], contradicts=[holds], note="")
    'contradicted'
    >>> compute_verdict(supports=[holds], contradicts=[], note="at this scale only")
    'reproduced with a qualification'
    >>> compute_verdict(supports=[holds], contradicts=[holds], note="")
    Traceback (most recent call last):
    ...
    ValueError: note must say how the evidence is mixed when checks both support and contradict
    """
    if not supports and not contradicts:
        raise ValueError("supports and contradicts must name at least one check between them")
    against = any(c["passed"] for c in contradicts) or any(not c["passed"] for c in supports)
    real_support = any(c["passed"] and c.get("kind", "claim") != "sanity" for c in supports)
    if against and not real_support:
        return "contradicted"
    if against:
        if not note.strip():
            raise ValueError(
                "note must say how the evidence is mixed when checks both support and contradict"
            )
        return "reproduced with a qualification"
    return "reproduced with a qualification" if note.strip() else "reproduced"


def heading_slug(title: str) -> str:
    """Return the anchor MyST gives a heading (``myst_heading_anchors``), without the suffix
    that makes repeated headings unique.

    Inline math is dropped and markup characters removed, as MyST's default slug function does
    with the heading's text (tests/test_ledger.py compares the two on every chapter heading).

    Examples
    --------
    >>> heading_slug("Sanity checks: the in-distribution error vanishes like $1/n$, the target's does not")
    'sanity-checks-the-in-distribution-error-vanishes-like--the-targets-does-not'
    """
    if not isinstance(title, str):
        raise TypeError(f"title must be a string, got {title!r}")
    text = re.sub(r"\$[^$]*\$", "", title)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text.lower().replace(" ", "-"))


def _markdown_cells(notebook: pathlib.Path) -> list[str]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"]


def _headings(text: str):
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        match = None if fenced else re.match(r"^(#{1,6}) +(.*?)\s*#*\s*$", line)
        if match:
            yield len(match.group(1)), match.group(2)


def _notebook(folder: pathlib.Path, prefix: str) -> pathlib.Path:
    found = sorted(folder.glob(f"{prefix}_*.ipynb"))
    if len(found) != 1:
        raise ValueError(f"chapter prefix {prefix!r} matches {len(found)} notebooks in {folder}")
    return found[0]


def chapter_sections(notebook) -> dict:
    """Return ``{heading text: anchor}`` for the headings (levels 1 to 3) of a notebook.

    A repeated heading keeps its first anchor; MyST numbers the later ones ``-1``, ``-2``, ...

    Parameters
    ----------
    notebook : str or path-like
        An ``.ipynb`` file.
    """
    path = pathlib.Path(notebook)
    if path.suffix != ".ipynb" or not path.is_file():
        raise ValueError(f"notebook must be an existing .ipynb file, got {str(path)!r}")
    sections, used = {}, set()
    for text in _markdown_cells(path):
        for level, title in _headings(text):
            if level > 3:
                continue
            slug = base = heading_slug(title)
            number = 1
            while slug in used:
                slug, number = f"{base}-{number}", number + 1
            used.add(slug)
            sections.setdefault(title, slug)
    return sections


def claims_labels(folder) -> dict:
    """Return ``{chapter title: claims-page label}`` for the notebooks of ``folder``.

    The title is the notebook's first ``# `` heading, as :func:`lib.evidence.claims.collect_checks`
    names chapters; the label is ``claims-`` followed by the notebook's stem.
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder must be an existing directory, got {str(folder)!r}")
    labels = {}
    for path in sorted(folder.glob("*.ipynb")):
        titles = [t for text in _markdown_cells(path) for level, t in _headings(text) if level == 1]
        labels[titles[0] if titles else path.stem] = _CLAIMS_LABEL_PREFIX + path.stem
    return labels


def stored_checks(folder) -> dict:
    """Return ``{check name: record}`` for every check stored in the notebooks of ``folder``.

    Each record gains ``notebook`` (the file's stem). A name stored in two places gets a record
    marked ``ambiguous``, which :func:`ledger_problems` rejects if a row names it (a row could not
    say which it means); other checks are unaffected.
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder must be an existing directory, got {str(folder)!r}")
    checks = {}
    for path in sorted(folder.glob("*.ipynb")):
        for record in read_checks(path):
            record = {"kind": "claim", **record, "notebook": path.stem}
            if record["claim"] in checks:
                record["ambiguous"] = True
            checks[record["claim"]] = record
    return checks


def _split_section(reference: str) -> tuple[str, str]:
    prefix, _, heading = reference.partition("#")
    if not re.fullmatch(r"\d\d", prefix) or not heading.strip():
        raise ValueError(f"a section must be written 'NN#Heading text', got {reference!r}")
    return prefix, heading.strip()


def _printed_lines(notebook: pathlib.Path, heading: str) -> list[str]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    lines, inside = [], False
    for cell in cells:
        if cell["cell_type"] == "markdown":
            titles = [title for _, title in _headings("".join(cell["source"]))]
            if titles:
                inside = heading in titles
            continue
        if not inside:
            continue
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            lines += "".join(text).splitlines()
    return lines


def ledger_problems(ledger: dict, folder) -> list[str]:
    """Return what is wrong with a ledger against the chapters in ``folder`` (empty if nothing).

    Checked: every named check is stored; every named section exists; every printed line is
    among the named section's stored outputs; every row has evidence or an untested verdict with
    a reason, and a typed verdict has a reason and no checks; every chapter section whose prose
    matches :data:`DISAGREEMENT_PATTERN` is named by some row's ``chapter_says`` or exempted.
    """
    folder = pathlib.Path(folder)
    checks = stored_checks(folder)
    problems = []
    sections = {}

    def section_exists(row_id: str, reference: str) -> bool:
        try:
            prefix, heading = _split_section(reference)
            path = _notebook(folder, prefix)
        except ValueError as error:
            problems.append(f"{row_id}: {error}")
            return False
        if path not in sections:
            sections[path] = chapter_sections(path)
        if heading not in sections[path]:
            problems.append(f"{row_id}: {path.name} has no section {heading!r}")
            return False
        return True

    for row in ledger["rows"]:
        if row.key and row.key not in row.supports + row.contradicts:
            problems.append(f"{row.id}: key {row.key!r} is not among its supports or contradicts")
        for name in row.supports + row.contradicts:
            if name not in checks:
                problems.append(f"{row.id}: no stored check is named {name!r}")
            elif checks[name].get("ambiguous"):
                problems.append(f"{row.id}: more than one stored check is named {name!r}")
        for reference in row.tested_in + row.chapter_says:
            section_exists(row.id, reference)
        for item in row.printed:
            reference, _, start = item.partition("|")
            if section_exists(row.id, reference) and start:
                prefix, heading = _split_section(reference)
                lines = _printed_lines(_notebook(folder, prefix), heading)
                if not any(line.startswith(start) for line in lines):
                    problems.append(
                        f"{row.id}: no printed line starts with {start!r} in {reference}"
                    )
        has_checks = bool(row.supports or row.contradicts)
        if has_checks and (row.untested or row.typed):
            problems.append(f"{row.id}: a row with checks has its verdict computed, not typed")
        if not has_checks:
            verdict = row.typed or row.untested
            if not verdict:
                problems.append(f"{row.id}: no checks, so it needs 'untested' or 'typed'")
            elif row.untested and row.untested not in UNTESTED_VERDICTS:
                problems.append(f"{row.id}: untested must be one of {UNTESTED_VERDICTS}")
            elif row.typed and row.typed not in VERDICTS[:3]:
                problems.append(f"{row.id}: typed must be one of {VERDICTS[:3]}")
            if not row.why.strip():
                problems.append(f"{row.id}: an untested or typed verdict needs a one-line 'why'")
            if row.typed and not (row.tested_in and row.printed):
                problems.append(f"{row.id}: a typed verdict names its section and printed lines")
        if row.tested_in == () and (has_checks or row.typed):
            problems.append(f"{row.id}: a tested row names the chapter section that tests it")
    named = {reference for row in ledger["rows"] for reference in row.chapter_says} | {
        item["at"] for item in ledger["not_about_sources"]
    }
    for item in ledger["not_about_sources"]:
        section_exists("not_about_sources", item["at"])
    for statement in disagreement_statements(folder):
        if statement["at"] not in named:
            problems.append(
                f"{statement['at']} says {statement['phrase']!r} but no ledger row names it in "
                "chapter_says (or not_about_sources)"
            )
    return problems


def disagreement_statements(folder) -> list[dict]:
    """Return where the chapters' prose says a result disagrees with a source.

    Returns
    -------
    list of dict
        ``{"at": "NN#Heading", "phrase": matched words, "text": the sentence around them}``,
        one per match, in chapter order; ``Heading`` is the nearest heading above (levels 1-3).
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder must be an existing directory, got {str(folder)!r}")
    found = []
    for path in sorted(folder.glob("*.ipynb")):
        heading = ""
        for text in _markdown_cells(path):
            # Search each section's text within a cell as one string, so that a phrase wrapped
            # across lines ("The\nsource says") is still found.
            fenced, block = False, []
            for line in text.splitlines() + [None]:
                if line is not None and line.lstrip().startswith(("```", "~~~")):
                    fenced = not fenced
                match = None
                if line is not None and not fenced:
                    match = re.match(r"^(#{1,3}) +(.*?)\s*$", line)
                if line is not None and not match:
                    block.append(line)
                    continue
                prose = " ".join(" ".join(block).split())
                for hit in DISAGREEMENT_PATTERN.finditer(prose):
                    start = prose.rfind(". ", 0, hit.start()) + 1
                    end = prose.find(". ", hit.end())
                    found.append(
                        {
                            "at": f"{path.name[:2]}#{heading}",
                            "phrase": hit.group(0),
                            "text": prose[start : len(prose) if end < 0 else end + 1].strip(),
                        }
                    )
                block = []
                if match:
                    heading = match.group(2)
    return found


def _key_number(record: dict) -> str:
    # The check's own wording, so the figures are the ones the claims page prints.
    text = record["comparison"]
    effect = re.match(r"measured (\S+), 95% interval (\[[^\]]+\]), n = (\d+)", text)
    if effect:
        return f"{effect.group(1)} {effect.group(2)}, n = {effect.group(3)}"
    return text.removeprefix("measured ").removesuffix(": not met, as a control should not be")


def ledger_table(ledger: dict, folder) -> pd.DataFrame:
    """Return one row per ledger row, with its verdict and key number computed from the checks.

    Parameters
    ----------
    ledger : dict
        From :func:`load_ledger`.
    folder : str or path-like
        The chapters' folder.

    Returns
    -------
    pandas.DataFrame
        Columns ``id``, ``source``, ``at``, ``claim``, ``quote``, ``verdict``, ``typed`` (whether
        the verdict is typed), ``key_number`` (from the first supporting check, else the first
        contradicting one, else the first printed line), ``key_check``, ``checks`` (list of
        ``(name, notebook, role)``), ``sections`` (list of ``(notebook, heading, anchor)``),
        ``note`` and ``why``.

    Raises
    ------
    ValueError
        If the ledger has problems (:func:`ledger_problems`).
    """
    folder = pathlib.Path(folder)
    problems = ledger_problems(ledger, folder)
    if problems:
        raise ValueError("the ledger does not match the chapters:\n" + "\n".join(problems))
    checks = stored_checks(folder)
    rows = []
    for row in ledger["rows"]:
        supports = [checks[name] for name in row.supports]
        contradicts = [checks[name] for name in row.contradicts]
        if supports or contradicts:
            verdict = compute_verdict(supports=supports, contradicts=contradicts, note=row.note)
            key = checks[row.key] if row.key else (supports + contradicts)[0]
            key_number, key_check = _key_number(key), key["claim"]
        else:
            verdict = row.typed or row.untested
            key_number, key_check = "", ""
            for item in row.printed:
                reference, _, start = item.partition("|")
                prefix, heading = _split_section(reference)
                lines = _printed_lines(_notebook(folder, prefix), heading)
                key_number = next(line for line in lines if line.startswith(start)).strip()
                key_number = " ".join(key_number.split())
                break
        sections = []
        for reference in row.tested_in:
            prefix, heading = _split_section(reference)
            path = _notebook(folder, prefix)
            sections.append((path.stem, heading, chapter_sections(path)[heading]))
        rows.append(
            {
                "id": row.id,
                "source": row.source,
                "at": row.at,
                "claim": row.claim,
                "quote": row.quote,
                "verdict": verdict,
                "typed": bool(row.typed),
                "key_number": key_number,
                "key_check": key_check,
                "checks": [(n, checks[n]["notebook"], "supports") for n in row.supports]
                + [(n, checks[n]["notebook"], "contradicts") for n in row.contradicts],
                "sections": sections,
                "note": row.note,
                "why": row.why,
            }
        )
    return pd.DataFrame(rows)
