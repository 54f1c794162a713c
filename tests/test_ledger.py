"""Tests of lib.evidence.ledger, and of the book's ledger of its sources' claims against the chapters.

The second half is the ledger's own guard: it fails when a row names a check or a chapter section
that no longer exists (a chapter renamed a check or a heading), or when a chapter says it disagrees
with a source in a section that no ledger row names.
"""

import pathlib
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from lib import claim_greater, sanity_check
from lib.evidence.claims import CHECK_METADATA_KEY
from lib.evidence.ledger import (
    DISAGREEMENT_PATTERN,
    UNTESTED_VERDICTS,
    VERDICTS,
    LedgerRow,
    chapter_sections,
    claims_labels,
    compute_verdict,
    disagreement_statements,
    heading_slug,
    ledger_problems,
    ledger_table,
    load_ledger,
    stored_checks,
)

ROOT = pathlib.Path(__file__).parents[1]
CHAPTERS = ROOT / "chapters"
LEDGER = ROOT / "reference" / "source_ledger.toml"

HOLDS = {"passed": True, "kind": "claim"}
FAILS = {"passed": False, "kind": "claim"}
SANITY = {"passed": True, "kind": "sanity"}


# --- verdicts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("supports", "contradicts", "note", "verdict"),
    [
        ([HOLDS], [], "", "reproduced"),
        ([SANITY], [], "", "reproduced"),
        ([HOLDS], [], "small worlds only", "reproduced with a qualification"),
        ([HOLDS], [HOLDS], "labels fix prediction only", "reproduced with a qualification"),
        ([], [HOLDS], "", "contradicted"),
        ([SANITY], [HOLDS], "", "contradicted"),
        ([FAILS], [], "", "contradicted"),
        ([HOLDS, FAILS], [], "one of two held", "reproduced with a qualification"),
    ],
)
def test_verdict_follows_the_checks(supports, contradicts, note, verdict):
    assert compute_verdict(supports=supports, contradicts=contradicts, note=note) == verdict


def test_verdict_needs_a_check_and_a_note_when_mixed():
    with pytest.raises(ValueError, match="at least one check"):
        compute_verdict(supports=[], contradicts=[], note="")
    with pytest.raises(ValueError, match="note must say how the evidence is mixed"):
        compute_verdict(supports=[HOLDS], contradicts=[HOLDS], note=" ")


def test_a_contradicting_check_that_fails_changes_the_verdict():
    # What "a chapter whose result changes changes its row" means for a stored check.
    assert compute_verdict(supports=[HOLDS], contradicts=[FAILS], note="") == "reproduced"
    assert compute_verdict(supports=[FAILS], contradicts=[HOLDS], note="") == "contradicted"


# --- anchors -------------------------------------------------------------------------------------


def _myst_slug(heading_line):
    # MyST's own slug of a heading (myst_parser.mdit_to_docutils.base.compute_unique_slug, first
    # occurrence): the heading's text and inline code, with math and markup left out.
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin
    from myst_parser.mdit_to_docutils.base import default_slugify

    tokens = MarkdownIt("commonmark").use(dollarmath_plugin).parse(heading_line)
    inline = tokens[1]
    title = "".join(c.content for c in inline.children if c.type in ("text", "code_inline"))
    return default_slugify(title)


def test_heading_slug_matches_myst_on_every_chapter_heading():
    compared = 0
    for path in sorted(CHAPTERS.glob("*.ipynb")):
        for title, anchor in chapter_sections(path).items():
            assert anchor.startswith(_myst_slug(f"## {title}")), (path.name, title)
            compared += 1
    assert compared > 50


def test_repeated_headings_get_numbered_anchors(tmp_path):
    notebook = tmp_path / "01_x.ipynb"
    cells = [new_markdown_cell("# T\n## Model\n### Model"), new_markdown_cell("## Model")]
    nbformat.write(new_notebook(cells=cells), notebook)
    # A repeated heading keeps its first anchor; MyST numbers the repeats.
    assert chapter_sections(notebook) == {"T": "t", "Model": "model"}


def test_headings_inside_code_fences_are_not_sections(tmp_path):
    notebook = tmp_path / "01_x.ipynb"
    text = "# T\n```{exercise} E\n## Not a section\n```\n## Real"
    nbformat.write(new_notebook(cells=[new_markdown_cell(text)]), notebook)
    assert list(chapter_sections(notebook)) == ["T", "Real"]


def test_bad_inputs_are_named():
    with pytest.raises(TypeError, match="title must be a string"):
        heading_slug(3)
    with pytest.raises(ValueError, match="notebook must be an existing .ipynb file"):
        chapter_sections("nowhere.ipynb")
    with pytest.raises(ValueError, match="folder must be an existing directory"):
        stored_checks("nowhere")
    with pytest.raises(ValueError, match="path must be an existing ledger file"):
        load_ledger("nowhere.toml")


# --- a small book to break -----------------------------------------------------------------------


def _chapter(folder, prefix, sections, checks=(), prose=""):
    cells = [new_markdown_cell("# Chapter " + prefix)]
    for heading in sections:
        cells.append(
            new_markdown_cell(f"## {heading}\n\n{prose if heading == sections[-1] else ''}")
        )
    code = new_code_cell("require(...)")
    for check in checks:
        text, metadata = check._repr_mimebundle_()
        code.outputs.append(
            new_output(
                "display_data",
                data=text,
                metadata={CHECK_METADATA_KEY: metadata[CHECK_METADATA_KEY]},
            )
        )
    code.outputs.append(new_output("stream", name="stdout", text="the share printed: 0.25\n"))
    cells.insert(2, code)
    nbformat.write(new_notebook(cells=cells), folder / f"{prefix}_chapter.ipynb")


LEDGER_HEAD = """
[[sources]]
key = "s"
title = "A source"
question = "Does it hold?"
"""


def _ledger(tmp_path, rows):
    path = tmp_path / "ledger.toml"
    path.write_text(LEDGER_HEAD + rows, encoding="utf-8")
    return load_ledger(path)


@pytest.fixture
def book(tmp_path):
    folder = tmp_path / "chapters"
    folder.mkdir()
    gap = claim_greater("the gap exceeds noise", 0.3, 0.0, margin=0.05)
    identity = sanity_check(claim_greater("an identity", 1.0, 0.0))
    _chapter(folder, "01", ["Experiment", "What this shows"], [gap, identity])
    return folder


ROW = """
[[rows]]
id = "S01"
source = "s"
at = "Section 1"
claim = "The gap exists."
tested_in = ["01#Experiment"]
supports = ["the gap exceeds noise"]
"""


def test_a_sound_ledger_has_no_problems_and_a_computed_verdict(book, tmp_path):
    ledger = _ledger(tmp_path, ROW)
    assert ledger_problems(ledger, book) == []
    table = ledger_table(ledger, book)
    assert table.loc[0, "verdict"] == "reproduced"
    assert table.loc[0, "key_number"] == "0.300, required > 0.00 by more than 0.05"
    assert table.loc[0, "sections"] == [("01_chapter", "Experiment", "experiment")]


def test_a_row_naming_a_missing_check_fails(book, tmp_path):
    ledger = _ledger(tmp_path, ROW.replace("the gap exceeds noise", "the gap, renamed"))
    assert ledger_problems(ledger, book) == ["S01: no stored check is named 'the gap, renamed'"]
    with pytest.raises(ValueError, match="does not match the chapters"):
        ledger_table(ledger, book)


def test_a_row_naming_a_missing_section_fails(book, tmp_path):
    ledger = _ledger(tmp_path, ROW.replace("01#Experiment", "01#Experiment 1"))
    assert ledger_problems(ledger, book) == ["S01: 01_chapter.ipynb has no section 'Experiment 1'"]
    ledger = _ledger(tmp_path, ROW.replace("01#Experiment", "02#Experiment"))
    assert "matches 0 notebooks" in ledger_problems(ledger, book)[0]


def test_a_disagreement_without_a_row_fails(book, tmp_path):
    _chapter(book, "02", ["Why", "Closing"], prose="This disagrees with the source, for a reason.")
    ledger = _ledger(tmp_path, ROW)
    problems = ledger_problems(ledger, book)
    assert problems == [
        "02#Closing says 'disagrees with the' but no ledger row names it in chapter_says "
        "(or not_about_sources)"
    ]
    named = _ledger(tmp_path, ROW + 'chapter_says = ["02#Closing"]\n')
    assert ledger_problems(named, book) == []
    exempt = _ledger(
        tmp_path, ROW + '[[not_about_sources]]\nat = "02#Closing"\nwhy = "about itself"\n'
    )
    assert ledger_problems(exempt, book) == []


@pytest.mark.parametrize(
    "sentence",
    [
        "This disagrees with the source, for a reason.",
        "Whether this disagrees with Kumar et al.'s account is open.",
        "This disagrees with the picture in Liu et al.",
        "On that point this chapter disagrees with it.",
        "The source says a softer learned system degrades more gracefully; here both fall.",
        "The source says so.",
        'The essay says the poisoned models do "no better than random chance"; ours do worse.',
        "The interview says they learn; here they do not.",
        "Two readings of the essay do not survive.",
    ],
)
def test_the_disagreement_pattern_catches_each_wording(sentence):
    assert DISAGREEMENT_PATTERN.search(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "A single pool cannot disagree with itself.",
        "The essay says Caballero et al. trained on 992 problems.",
        "The essay says this share underflows to zero.",
        "Here the source is quoted.",
    ],
)
def test_the_disagreement_pattern_leaves_plain_reports_alone(sentence):
    assert not DISAGREEMENT_PATTERN.search(sentence)


def test_a_named_disagreement_without_a_row_fails(book, tmp_path):
    prose = "The source says it degrades gracefully; here it does not. This disagrees with Kumar."
    _chapter(book, "02", ["Closing"], prose=prose)
    phrases = [s["phrase"] for s in disagreement_statements(book)]
    assert phrases == ["The source says", "disagrees with"]
    assert len(ledger_problems(_ledger(tmp_path, ROW), book)) == 2


def test_untested_and_typed_rows_need_their_reasons(book, tmp_path):
    untested = """
[[rows]]
id = "S02"
source = "s"
at = "Section 2"
claim = "Something large."
untested = "not testable at this scale"
"""
    assert ledger_problems(_ledger(tmp_path, untested), book) == [
        "S02: an untested or typed verdict needs a one-line 'why'"
    ]
    assert ledger_problems(_ledger(tmp_path, untested + 'why = "too big"\n'), book) == []
    typed = untested.replace('untested = "not testable at this scale"', 'typed = "contradicted"')
    typed += 'why = "printed"\ntested_in = ["01#Experiment"]\n'
    assert ledger_problems(_ledger(tmp_path, typed), book) == [
        "S02: a typed verdict names its section and printed lines"
    ]
    printed = typed + 'printed = ["01#Experiment|the share printed"]\n'
    assert ledger_problems(_ledger(tmp_path, printed), book) == []
    assert ledger_table(_ledger(tmp_path, printed), book).loc[0, "key_number"] == (
        "the share printed: 0.25"
    )
    missing = typed + 'printed = ["01#Experiment|a line never printed"]\n'
    assert "no printed line starts with" in ledger_problems(_ledger(tmp_path, missing), book)[0]


def test_the_ledger_file_is_validated(tmp_path):
    with pytest.raises(ValueError, match="unknown fields"):
        _ledger(tmp_path, ROW + 'verdict = "reproduced"\n')
    with pytest.raises(ValueError, match="appears twice"):
        _ledger(tmp_path, ROW + ROW)
    with pytest.raises(ValueError, match="unknown source"):
        _ledger(tmp_path, ROW.replace('source = "s"', 'source = "t"'))
    with pytest.raises(ValueError, match="needs a non-empty 'claim'"):
        _ledger(tmp_path, ROW.replace('claim = "The gap exists."', 'claim = ""'))


def test_a_sanity_check_cannot_carry_a_contradicted_claim(book, tmp_path):
    row = ROW.replace(
        'supports = ["the gap exceeds noise"]',
        'supports = ["an identity"]\ncontradicts = ["the gap exceeds noise"]',
    )
    assert ledger_table(_ledger(tmp_path, row), book).loc[0, "verdict"] == "contradicted"


# --- the book's own ledger -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def ledger():
    return load_ledger(LEDGER)


def test_every_row_names_checks_and_sections_that_exist(ledger):
    problems = ledger_problems(ledger, CHAPTERS)
    assert not problems, "the ledger does not match the chapters:\n" + "\n".join(problems)


def test_every_disagreement_a_chapter_states_has_a_row(ledger):
    named = {ref for row in ledger["rows"] for ref in row.chapter_says}
    exempt = {item["at"] for item in ledger["not_about_sources"]}
    statements = disagreement_statements(CHAPTERS)
    assert statements, "no chapter states a disagreement: has the wording changed?"
    missing = [s for s in statements if s["at"] not in named | exempt]
    assert not missing, "chapter statements of disagreement with no ledger row: " + str(missing)


def test_every_source_is_covered_and_every_verdict_is_known(ledger):
    table = ledger_table(ledger, CHAPTERS)
    assert set(table["verdict"]) <= set(VERDICTS)
    counts = table.groupby("source").size()
    assert {source["key"] for source in ledger["sources"]} == set(counts.index)
    assert counts.min() >= 20
    # Rows of one source stay together, in the order the file gives them.
    order = [source["key"] for source in ledger["sources"]]
    assert list(dict.fromkeys(table["source"])) == order
    # Untested rows say why; contradicted and qualified rows say on what.
    for row in table.itertuples():
        if row.verdict in UNTESTED_VERDICTS or row.typed:
            assert row.why.strip(), row.id
        if row.verdict != "reproduced" and row.verdict not in UNTESTED_VERDICTS:
            assert (row.note or row.why).strip(), row.id


def test_the_counting_essays_footnotes_each_have_a_row(ledger):
    # The essay's sixteen footnotes trail at the end of its text; each is a claim or an aside.
    named = set()
    for row in ledger["rows"]:
        if row.source == "belrose2024":
            for match in re.finditer(r"footnotes? (\d+)(?:-(\d+))?", row.at, re.IGNORECASE):
                first, last = int(match.group(1)), int(match.group(2) or match.group(1))
                named |= set(range(first, last + 1))
    assert named == set(range(1, 17))


def test_the_essays_footnote_and_the_interviews_timestamps_are_covered(ledger):
    kirk = [row.at for row in ledger["rows"] if row.source == "kirk2022"]
    assert any("Footnote 1" in at for at in kirk)
    stamps = [row.at for row in ledger["rows"] if row.source == "lampinen2024"]
    assert all(re.search(r"\d\d:\d\d", at) for at in stamps)


def test_quotes_are_at_most_two_sentences(ledger):
    for row in ledger["rows"]:
        assert len(re.findall(r"[.!?](?:\s|$)", row.quote)) <= 2, row.id


def test_the_claims_page_has_a_target_for_every_chapter_with_checks():
    labels = claims_labels(CHAPTERS)
    checks = stored_checks(CHAPTERS)
    stems = {record["notebook"] for record in checks.values()}
    assert {"claims-" + stem for stem in stems} <= set(labels.values())
    page = (ROOT / "reference" / "claims.md").read_text(encoding="utf-8")
    assert "claims_labels" in page


def test_the_ledger_page_is_in_the_book_and_linked():
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    assert "reference/source_ledger" in toc
    assert "reference/source_ledger" in (ROOT / "intro.md").read_text(encoding="utf-8")
    guide = (ROOT / "reference" / "instructor_guide.md").read_text(encoding="utf-8")
    assert "source_ledger.md" in guide
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    # The section links need MyST's heading anchors down to level 3.
    assert re.search(r"myst_heading_anchors: 3", config)


def test_a_row_naming_a_check_stored_twice_fails(book, tmp_path):
    gap = claim_greater("the gap exceeds noise", 0.4, 0.0, margin=0.05)
    _chapter(book, "02", ["Again"], [gap])
    assert stored_checks(book)["the gap exceeds noise"]["ambiguous"]
    assert ledger_problems(_ledger(tmp_path, ROW), book) == [
        "S01: more than one stored check is named 'the gap exceeds noise'"
    ]


def test_no_row_cites_a_check_inside_an_exercise_solution():
    """The student edition removes solutions and builds this page too, so a row citing a check
    made in a solution (named "exercise: ...", README item 3) would break the student build."""
    rows = load_ledger(LEDGER)["rows"]
    assert rows and all(isinstance(row, LedgerRow) for row in rows)
    cited = [
        (row.id, name)
        for row in rows
        for name in (*row.supports, *row.contradicts, row.key)
        if name.startswith("exercise:")
    ]
    assert not cited, f"rows cite checks made inside exercise solutions: {cited}"
