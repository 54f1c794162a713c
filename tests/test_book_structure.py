"""The book's structure and the chapters' hygiene, checked on the files as committed.

Notebooks are found by folder (chapters/*.ipynb), never from a hand-kept list.
"""

import json
import pathlib
import re

import pytest
import yaml

from lib.evidence.claims import read_checks

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def _toc_files(node):
    if isinstance(node, dict):
        if "file" in node:
            yield node["file"]
        if "root" in node:
            yield node["root"]
        for value in node.values():
            yield from _toc_files(value)
    elif isinstance(node, list):
        for item in node:
            yield from _toc_files(item)


TOC = list(_toc_files(yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))))


def _source(entry):
    matches = [
        ROOT / f"{entry}{suffix}"
        for suffix in (".md", ".ipynb")
        if (ROOT / f"{entry}{suffix}").exists()
    ]
    return matches


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _code(cell):
    return "".join(cell["source"])


def test_there_are_chapters():
    assert CHAPTERS, "chapters/ holds no notebooks"


@pytest.mark.parametrize("entry", TOC)
def test_every_toc_entry_exists_exactly_once(entry):
    assert len(_source(entry)) == 1, (
        f"_toc.yml lists {entry!r}, which matches {len(_source(entry))} files"
    )
    assert TOC.count(entry) == 1, f"_toc.yml lists {entry!r} more than once"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_is_in_the_toc(notebook):
    entry = notebook.relative_to(ROOT).with_suffix("").as_posix()
    assert entry in TOC, f"{notebook.name} is not listed in _toc.yml"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_chapter_was_run_top_to_bottom_without_errors(notebook):
    code_cells = [c for c in _cells(notebook) if c["cell_type"] == "code"]
    counts = [c["execution_count"] for c in code_cells]
    assert counts == list(range(1, len(code_cells) + 1)), (
        f"{notebook.name}: stored execution counts {counts} are not a fresh top-to-bottom run; "
        "run `make outputs`"
    )
    errors = [o for c in code_cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors, f"{notebook.name} stores an error output"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_chapter_makes_one_generator_and_no_global_seed(notebook):
    code = "\n".join(_code(c) for c in _cells(notebook) if c["cell_type"] == "code")
    assert len(re.findall(r"default_rng\(", code)) == 1, (
        f"{notebook.name}: make exactly one generator"
    )
    for banned in (
        r"np\.random\.seed\(",
        r"random\.seed\(",
        r"sys\.path",
        r"^\s*[!%]pip",
        r"RandomState\(",
    ):
        assert not re.search(banned, code, re.M), f"{notebook.name} uses {banned}"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_every_figure_has_a_caption_and_alt_text(notebook):
    for index, cell in enumerate(_cells(notebook)):
        if cell["cell_type"] != "code":
            continue
        if any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            meta = cell["metadata"].get("mystnb", {})
            caption = meta.get("figure", {}).get("caption", "")
            alt = meta.get("image", {}).get("alt", "")
            assert len(caption) > 20, f"{notebook.name} cell {index}: figure without a caption"
            assert len(alt) > 20, f"{notebook.name} cell {index}: figure without alt text"
            assert meta["figure"].get("name"), (
                f"{notebook.name} cell {index}: figure without a name"
            )


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_the_books_shape(notebook):
    markdown = "\n".join(_code(c) for c in _cells(notebook) if c["cell_type"] == "markdown")
    for needed in (
        "**Claim.**",
        "Learning objectives",
        "Prerequisites",
        "**Time.**",
        "## What this shows, and what it does not",
        "## Exercises",
        "{solution-start}",
    ):
        assert needed in markdown, f"{notebook.name} lacks {needed!r}"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_every_claim_a_chapter_makes_is_required_and_stored(notebook):
    # One idiom states a claim: require(claim_*(...)) or require(*claims), which asserts and
    # displays, so that the claims page sees it. A bare `assert x.passed` would assert without
    # displaying; loops may display several claims from one call site, so compare totals.
    code = "\n".join(_code(c) for c in _cells(notebook) if c["cell_type"] == "code")
    assert ".passed" not in code, (
        f"{notebook.name}: state claims with require(...), not assert x.passed"
    )
    call_sites = len(re.findall(r"\bclaim_(?:close|greater|less)\(", code))
    assert "require(" in code, f"{notebook.name} requires no claim"
    records = read_checks(notebook)
    assert len(records) >= max(call_sites, 3), (
        f"{notebook.name}: {call_sites} claim calls but {len(records)} displayed claims; "
        "wrap each claim in require(...) so the claims page sees it"
    )
    assert all(record["passed"] for record in records), f"{notebook.name} stores a failed check"
    claims = [record["claim"] for record in records]
    repeated = sorted({claim for claim in claims if claims.count(claim) > 1})
    assert not repeated, f"{notebook.name} displays these claims more than once: {repeated}"


def test_reference_pages_are_in_the_book():
    for page in (
        "reference/glossary",
        "reference/claims",
        "reference/bibliography",
        "reference/reproducibility",
    ):
        assert page in TOC


def test_instructor_guide_names_only_exercises_that_exist():
    import json
    import re

    root = pathlib.Path(__file__).parents[1]
    titles = set()
    for path in sorted((root / "chapters").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        titles |= {t.strip() for t in re.findall(r"^```\{exercise\}([^\n]*)", text, re.M)}
    guide = (root / "reference" / "instructor_guide.md").read_text(encoding="utf-8")
    guide = " ".join(guide.split())
    homework = guide[guide.index("As homework,") : guide.index("## Questions")]
    named = re.findall(r'"([^"]+)"', homework)
    assert len(named) >= 10
    assert set(named) <= titles, sorted(set(named) - titles)


def test_instructor_guide_names_only_labels_chapters_and_sections_that_exist():
    """The guide's exercise labels, chapter links, per-chapter questions and the sections its
    session plan runs live are all in the chapters (the plan's table also checks its sections
    when the book is built; this says which one is stale without a build)."""
    import json
    import re

    root = pathlib.Path(__file__).parents[1]
    labels, headings = set(), {}
    for path in sorted((root / "chapters").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        labels |= set(re.findall(r"^```\{exercise\}[^\n]*\n:label:\s*(\S+)", text, re.M))
        headings[path.name[:2]] = re.findall(r"^#{2,4} (.+)$", text, re.M)
    guide = (root / "reference" / "instructor_guide.md").read_text(encoding="utf-8")
    named = set(re.findall(r"(?<![\w-])(ex-[a-z0-9][\w-]*[a-z0-9])", guide))
    assert named, "the guide names no exercise by its label"
    assert named <= labels, f"the guide names labels no chapter sets: {sorted(named - labels)}"
    links = re.findall(r"\]\(\.\./chapters/([\w]+)\)", guide)
    missing = [name for name in links if not (root / "chapters" / f"{name}.ipynb").exists()]
    assert links and not missing, f"the guide links chapters that do not exist: {missing}"
    questions = re.findall(r"^- \*\*(\d\d)\.\*\*", guide, re.M)
    assert questions == sorted(headings), "one discussion question per chapter, in order"
    answers = guide[guide.index("## Questions for discussion") :].count("*Answer.*")
    assert answers == len(questions), "every discussion question has its answer"
    live = re.findall(r'\("(\d\d)", "([^"]+)"\)', guide)
    assert live, "the session plan runs nothing live"
    for number, heading in live:
        found = [h for h in headings.get(number, []) if h.startswith(heading)]
        assert len(found) == 1, f"chapter {number} has {len(found)} sections starting {heading!r}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_exercise_box_holds_a_citation(path):
    """The theme draws an exercise on a light blue background (#ecf3ff) on which a citation's link
    colour (#176de8) has a contrast of 4.29:1, below WCAG's 4.5:1, so the browser test's
    accessibility audit fails the page: name the work in plain words inside the box (it is cited
    in the chapter's text)."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    markdown = "\n".join(
        "".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown"
    )
    boxes = re.findall(r"```\{exercise\}.*?\n```", markdown, re.S)
    cited = [role for box in boxes for role in re.findall(r"\{cite:[pt]\}`[^`]+`", box)]
    assert not cited, f"citations inside exercise boxes: {cited}"
