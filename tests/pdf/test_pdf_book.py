"""The printable books (``make pdf``): every chapter, figure and claim made it through LaTeX.

Both editions are checked: the book, and the student edition, which must in addition hold no
solution and no instructor's guide.

``make test-pdf`` builds the PDF and runs these tests where XeLaTeX and latexmk are installed;
elsewhere they are skipped with a message (``.ci/run`` installs Debian's TeX Live packages, and
sets ``PDF_REQUIRED=1`` so that a skip fails there). The checks read what LaTeX wrote
(``book.tex`` and ``book.log``), so they need no PDF reader.
"""

import json
import os
import pathlib
import re
import shutil

import pytest

from lib import collect_checks

pytestmark = pytest.mark.pdf

ROOT = pathlib.Path(__file__).parents[2]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
# Each edition: where LaTeX wrote it, and the chapters it was built from.
EDITIONS = {
    "book": (ROOT / "_build" / "latex", ROOT / "chapters"),
    "student": (
        ROOT / "_build" / "student" / "_build" / "latex",
        ROOT / "_build" / "student" / "src" / "chapters",
    ),
}


@pytest.fixture(scope="module", params=sorted(EDITIONS))
def edition(request):
    return request.param


@pytest.fixture(scope="module")
def built(edition):
    latex = EDITIONS[edition][0]
    if shutil.which("xelatex") is None or shutil.which("latexmk") is None:
        message = "xelatex and latexmk are not installed (README: A printable book)"
        if os.environ.get("PDF_REQUIRED") == "1":
            pytest.fail(f"PDF_REQUIRED=1, but {message}")
        pytest.skip(message)
    if not (latex / "book.pdf").exists():
        pytest.fail(f"no {latex / 'book.pdf'}: run make pdf (make test-pdf does) first")
    return (latex / "book.tex").read_text(encoding="utf-8"), (latex / "book.log").read_text(
        encoding="utf-8", errors="replace"
    )


def _title(path):
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        for line in "".join(cell["source"]).splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    raise AssertionError(f"{path.name} has no title")


def test_latex_finished_with_every_reference_resolved_and_every_glyph(built):
    _, log = built
    assert re.search(r"Output written on book\.pdf \((\d+) pages\)", log)
    assert "There were undefined references" not in log
    assert "Missing character" not in log, "a character has no glyph in the PDF's fonts"


def test_every_chapter_is_a_chapter_of_the_pdf(built):
    tex, _ = built
    chapters = re.findall(r"\\chapter\{(.*?)\}\n", tex)
    assert len(chapters) >= len(CHAPTERS)
    for path in CHAPTERS:
        words = re.findall(r"\w+", _title(path))[:3]
        assert any(all(w in heading for w in words) for heading in chapters), path.name


def test_every_figure_is_included(built):
    tex, _ = built
    figures = sum(
        "image/png" in output.get("data", {})
        for path in CHAPTERS
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]
        for output in cell.get("outputs", [])
    )
    assert tex.count("\\sphinxincludegraphics") >= figures > 0


def test_the_claims_table_is_a_table_with_every_check(built, edition):
    tex, _ = built
    assert "Styler at 0x" not in tex, "a table was printed as its Python repr"
    start = tex.index("\\chapter{Claims checked}")
    end = tex.index("\\chapter{", start + 1)
    section = tex[start:end]
    checks = collect_checks(EDITIONS[edition][1])
    # Each row's Result cell begins "measured <number>" (lib.evidence.claims.Check.describe).
    results = re.findall(r"\\sphinxAtStartPar\nmeasured (?:-|\\sphinxhyphen\{\})?[0-9]", section)
    assert len(results) == len(checks)
    assert section.count("has a control") == int(checks["has_control"].sum())


def test_equations_reach_latex(built):
    tex, _ = built
    assert "\\begin{equation*}" in tex or "\\[" in tex


def test_the_student_pdf_has_no_solution_and_no_guide(built, edition):
    tex, _ = built
    # The code as Pygments and Sphinx write it, with its underscores spelt out again.
    code = tex.replace("\\PYGZus{}", "_").replace("\\_", "_")
    # Every self-checked exercise's solution calls verify_self_check; the student PDF has none.
    # (Pygments closes the name's token before the parenthesis: ...check}\PYG{p}{(.)
    solutions = re.search(r"verify_self_check(?:\}\\PYG\{p\}\{)?\(", code) is not None
    guide = re.search(r"\\chapter\{Instructor", tex) is not None
    if edition == "book":
        assert solutions and guide, "the book's PDF holds the solutions and the guide"
    else:
        assert not solutions, "a solution reached the student PDF"
        assert not guide, "the instructor's guide reached the student PDF"


def test_the_sources_ledger_is_a_chapter_with_every_row(built):
    from lib.evidence.ledger import load_ledger

    tex, _ = built
    start = tex.index("\\chapter{The sources")
    end = tex.index("\\chapter{", start + 1)
    section = tex[start:end]
    rows = load_ledger(ROOT / "reference" / "source_ledger.toml")["rows"]
    missing = [row.id for row in rows if f"\\sphinxAtStartPar\n{row.id}\n" not in section]
    assert not missing, f"ledger rows missing from the PDF: {missing}"
