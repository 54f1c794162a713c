"""The student edition removes every solution and nothing else, and what is left runs as verified.

The chapters' own outputs are checked against a fresh run by nbval (``make test-notebooks``). A
student notebook is a chapter with its solutions cut out, and a solution may sit anywhere, beside
the idea it practises. These tests enforce, on every chapter, what README "Exercises" promises
so that the cells the student keeps still compute what they computed in the verified chapter: a
solution that some kept code cell follows draws random numbers only through
``exercise_rng(rng, label)`` and assigns no name a later kept cell reads (an AST analysis). They
also check the format: each ``{exercise}`` is followed by a code cell tagged ``starter`` before
its solution, each self-check key in a starter is verified both ways by that exercise's
solution, and a chapter sets at least four exercises, each opening with its kind. And they test
:func:`strip_solutions` and :func:`write_edition` (no instructor's guide) on small projects.
"""

import ast
import dataclasses
import fnmatch
import json
import pathlib
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from scripts.student_edition import EXCLUDED, strip_solutions, write_edition

ROOT = pathlib.Path(__file__).parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))

START = "```{solution-start} ex-a\n:class: dropdown\n```\nThe answer is"
END = "```{solution-end}\n```"


def _notebook(*cells):
    return json.loads(json.dumps(new_notebook(cells=list(cells))))


def _sources(notebook):
    return ["".join(cell["source"]) for cell in notebook["cells"]]


def test_solution_cells_are_removed_and_text_after_the_end_fence_kept():
    nb = _notebook(
        new_markdown_cell("# Title"),
        new_code_cell("x = 1"),
        new_markdown_cell("```{exercise} A\n:label: ex-a\nDo it.\n```"),
        new_markdown_cell(START),
        new_code_cell("answer = 2 * x"),
        new_markdown_cell("So it is 2.\n\n" + END + "\n\nAnd more for students."),
    )
    student, removed = strip_solutions(nb)
    assert removed == 1
    assert _sources(student) == [
        "# Title",
        "x = 1",
        "```{exercise} A\n:label: ex-a\nDo it.\n```",
        "And more for students.",
    ]
    assert len(nb["cells"]) == 6, "the input notebook is left unchanged"


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ([new_markdown_cell(START), new_code_cell("y = 1")], "has no {solution-end}"),
        ([new_markdown_cell(END)], "comes before its {solution-start}"),
    ],
)
def test_unbalanced_solutions_are_rejected(cells, message):
    with pytest.raises(ValueError, match=message):
        strip_solutions(_notebook(*cells))


def test_one_cell_can_end_a_solution_set_the_next_exercise_and_start_its_solution():
    nb = _notebook(
        new_markdown_cell("```{exercise} A\n:label: ex-a\n```\n\n" + START),
        new_code_cell("answer = 1"),
        new_markdown_cell("Done.\n" + END + "\n\n```{exercise} B\n:label: ex-b\n```\n\n" + START),
        new_code_cell("answer = 2"),
        new_markdown_cell(END),
    )
    student, removed = strip_solutions(nb)
    assert removed == 2
    assert _sources(student) == [
        "```{exercise} A\n:label: ex-a\n```",
        "```{exercise} B\n:label: ex-b\n```",
    ]


def test_strip_rejects_what_is_not_a_notebook():
    with pytest.raises(TypeError, match="notebook must be a notebook dict"):
        strip_solutions(["cells"])


# ---------------------------------------------------------------------------------------------
# The rules of README "Exercises" that make a solution removable wherever it sits.

_TOKEN = re.compile(
    r"^```\{(?P<kind>exercise|solution-start|solution-end)\}[^\n]*(?P<rest>(?:\n(?!```).*)*)",
    re.M,
)
_LABEL = re.compile(r"^:label:\s*(\S+)", re.M)
_KIND = re.compile(r"^\s*\*(Predict|Extend|Break|Open)\.\*", re.M)


@dataclasses.dataclass
class Exercise:
    label: str
    text: str = ""
    starter: dict | None = None  # the first code cell after the exercise, if tagged starter
    untagged: dict | None = None  # or the untagged code cell found there instead
    solution: list = dataclasses.field(default_factory=list)  # (index, code cell) pairs


def exercise_layout(notebook):
    """The chapter's exercises (in order) and, for each code cell, the exercise whose solution
    holds it (None outside solutions)."""
    exercises, owner, pending, inside = {}, [], None, None
    for cell in notebook["cells"]:
        if cell["cell_type"] != "markdown":
            owner.append(inside)
            if cell["cell_type"] != "code":
                continue
            if inside is not None:
                exercises[inside].solution.append((len(owner) - 1, cell))
            elif pending is not None:
                tags = cell.get("metadata", {}).get("tags", [])
                field = "starter" if "starter" in tags else "untagged"
                setattr(exercises[pending], field, cell)
                pending = None
            continue
        owner.append(inside)
        for token in _TOKEN.finditer("".join(cell["source"])):
            kind, line = token.group("kind"), token.group(0).splitlines()[0]
            if kind == "exercise":
                label = _LABEL.search(token.group("rest"))
                assert label, f"an exercise has no :label: ({line})"
                pending = label.group(1)
                exercises[pending] = Exercise(pending, token.group("rest"))
            elif kind == "solution-start":
                inside, pending = line.split("}", 1)[1].strip(), None
                assert inside in exercises, f"a solution for {inside}, which is not set before it"
            else:
                inside = None
        owner[-1] = owner[-1] or inside
    return list(exercises.values()), owner


def _code(cell):
    source = "".join(cell["source"])
    # IPython's magics and shell lines are not Python; the chapters use none, but keep parsing.
    return ast.parse("\n".join(line for line in source.splitlines() if line[:1] not in "%!"))


class _Bindings(ast.NodeVisitor):
    """Names a cell binds at module level (a function's own locals are not)."""

    def __init__(self):
        self.names = set()

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Store | ast.Del):
            self.names.add(node.id)

    def visit_FunctionDef(self, node):
        self.names.add(node.name)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Lambda(self, node):
        pass

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_Lambda

    def visit_Import(self, node):
        self.names |= {(a.asname or a.name).split(".")[0] for a in node.names}

    visit_ImportFrom = visit_Import


def _bound(node):
    visitor = _Bindings()
    visitor.visit(node)
    return visitor.names


def _read(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _rng_uses_outside_exercise_rng(tree):
    allowed = {
        id(call.args[0])
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "exercise_rng"
        and call.args
    }
    return [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and n.id == "rng" and id(n) not in allowed
    ]


def solution_problems(notebook):
    """What breaks README's promise that removing a solution changes no later kept cell."""
    exercises, owner = exercise_layout(notebook)
    cells = notebook["cells"]
    kept = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and owner[i] is None]
    problems = []
    for exercise in exercises:
        if not exercise.solution:
            continue
        last = exercise.solution[-1][0]
        later = [i for i in kept if i > last]
        if not later:
            continue  # nothing kept runs after it: it cannot change a kept cell
        assigned = set()
        for _, cell in exercise.solution:
            tree = _code(cell)
            assigned |= _bound(tree)
            if lines := _rng_uses_outside_exercise_rng(tree):
                problems.append(
                    f"{exercise.label}: its solution uses the chapter's rng (line {lines[0]}); "
                    f'draw from exercise_rng(rng, "{exercise.label}") instead'
                )
        # A later kept cell must not read one of these names before a kept cell rebinds it.
        live = set(assigned)
        for i in later:
            bound_here = set()
            for statement in _code(cells[i]).body:
                if stale := (_read(statement) & live) - bound_here:
                    problems.append(
                        f"{exercise.label}: its solution assigns {sorted(stale)}, which a "
                        f"later cell ({i}) reads; rename them in the solution"
                    )
                    live -= stale
                bound_here |= _bound(statement)
            live -= bound_here
    return problems


def _keys(cells, function):
    """The 16-hex keys passed as key=... to ``function`` in ``cells`` (a literal or a name bound
    to one in the same cells)."""
    trees = [_code(c) for c in cells]
    constants = {
        target.id: node.value.value
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    keys = []
    for tree in trees:
        for call in ast.walk(tree):
            if not (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Name | ast.Attribute)
                and getattr(call.func, "id", getattr(call.func, "attr", None)) == function
            ):
                continue
            for keyword in call.keywords:
                if keyword.arg != "key":
                    continue
                value = keyword.value
                if isinstance(value, ast.Name):
                    keys.append(constants.get(value.id, value.id))
                elif isinstance(value, ast.Constant):
                    keys.append(value.value)
    return keys


def format_problems(notebook):
    """Every exercise has a starter cell before its solution; every self-check key in a starter
    is verified, both ways, by its own solution."""
    problems = []
    for exercise in exercise_layout(notebook)[0]:
        if exercise.starter is None:
            problems.append(
                f"{exercise.label}: the first code cell after it is not tagged starter"
                if exercise.untagged is not None and not exercise.solution
                else f"{exercise.label}: no code cell tagged starter before its solution"
            )
            continue
        checked = _keys([exercise.starter], "check_answer")
        verified = _keys([cell for _, cell in exercise.solution], "verify_self_check")
        if missing := [key for key in checked if key not in verified]:
            problems.append(
                f"{exercise.label}: no verify_self_check in its solution for the key(s) {missing}"
            )
    return problems


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_each_chapter_loses_its_solutions_and_keeps_the_rest_as_verified(path):
    chapter = json.loads(path.read_text(encoding="utf-8"))
    student, removed = strip_solutions(chapter)
    text = "\n".join(_sources(student))
    starts = sum("{solution-start}" in "".join(c["source"]) for c in chapter["cells"])
    assert removed == starts, "every solution is removed"
    assert "{solution" not in text, "a solution survives in the student notebook"
    assert removed >= 1, "a chapter without solutions would have no exercises to set"
    _, owner = exercise_layout(chapter)
    outside = [
        c for i, c in enumerate(chapter["cells"]) if c["cell_type"] == "code" and not owner[i]
    ]
    kept = [c for c in student["cells"] if c["cell_type"] == "code"]
    # The kept code cells, outputs included, are the chapter's own outside its solutions.
    assert kept == outside


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_removing_a_solution_changes_no_later_cell(path):
    """README "Exercises": a solution that a kept code cell follows draws only from
    exercise_rng and assigns no name a later kept cell reads, so the student notebook's stored
    outputs are the verified chapter's."""
    assert not solution_problems(json.loads(path.read_text(encoding="utf-8")))


CHAPTERS_IN_FORMAT = [pytest.param(path, id=path.stem) for path in CHAPTERS]


@pytest.mark.parametrize("path", CHAPTERS_IN_FORMAT)
def test_each_exercise_has_a_starter_and_its_self_checks_are_verified(path):
    assert not format_problems(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", CHAPTERS_IN_FORMAT)
def test_each_chapter_sets_four_exercises_each_saying_its_kind(path):
    exercises, _ = exercise_layout(json.loads(path.read_text(encoding="utf-8")))
    assert len(exercises) >= 4, f"{len(exercises)} exercises; README asks for at least four"
    unnamed = [e.label for e in exercises if not _KIND.search(e.text)]
    assert not unnamed, (
        f"these do not open with *Predict.*, *Extend.*, *Break.* or *Open.*: {unnamed}"
    )


def _exercise(label, starter, solution, *, after=()):
    """An exercise, its starter and solution cells, and kept code cells after them."""
    return [
        new_markdown_cell(f"```{{exercise}} T\n:label: {label}\n*Predict.* Do it.\n```"),
        *([new_code_cell(starter, metadata={"tags": ["starter"]})] if starter else []),
        new_markdown_cell(f"```{{solution-start}} {label}\n:class: dropdown\n```"),
        *[new_code_cell(code) for code in solution],
        new_markdown_cell("```{solution-end}\n```"),
        *[new_code_cell(code) for code in after],
    ]


def test_a_solution_before_kept_cells_may_use_only_its_own_stream_and_names():
    good = _notebook(
        new_code_cell("rng = np.random.default_rng(1)\nx = rng.random()"),
        *_exercise(
            "ex-a",
            "answer = None\ncheck_answer(answer, key=KEY, tolerance=0.1)",
            ['mine = exercise_rng(rng, "ex-a").random()\nanswer = mine'],
            after=["answer = None\nprint(answer, x)", "y = rng.random()"],
        ),
    )
    assert solution_problems(good) == []
    bad = _notebook(
        new_code_cell("rng = np.random.default_rng(1)\nx = rng.random()"),
        *_exercise("ex-a", "pass", ["z = rng.random()\nx = 2", "def f():\n    return 1"]),
        new_code_cell("print(x + f())"),
    )
    problems = solution_problems(bad)
    assert len(problems) == 2
    assert "uses the chapter's rng" in problems[0]
    assert "assigns ['f', 'x']" in problems[1]
    # At the very end of a chapter nothing kept follows, so a solution may do as it likes.
    assert solution_problems(_notebook(*_exercise("ex-a", "pass", ["x = rng.random()"]))) == []


def test_each_exercise_needs_a_starter_whose_keys_its_solution_verifies():
    key = "0123456789abcdef"
    checked = f'answer = None\ncheck_answer(answer, key="{key}", tolerance=0.1)'
    verified = f'verify_self_check(0.5, wrong=0.9, key="{key}", tolerance=0.1)'
    assert format_problems(_notebook(*_exercise("ex-a", checked, [verified]))) == []
    assert (
        "no verify_self_check"
        in format_problems(_notebook(*_exercise("ex-a", checked, ["print(1)"])))[0]
    )
    assert (
        "no code cell tagged starter"
        in format_problems(_notebook(*_exercise("ex-a", None, [verified])))[0]
    )


def test_write_edition_copies_the_project_with_the_student_chapters(tmp_path):
    for name in ("_config.yml", "_toc.yml", "intro.md", "references.bib"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / "chapters").mkdir()
    for path in CHAPTERS:
        (tmp_path / "chapters" / path.name).write_text(path.read_text())
    # What a page may include or link by a relative path, and what the copy must leave out.
    extras = ["lib/worlds/confounding.py", "chapters/figure.svg", "_static/style.css"]
    left_out = ["_build/html/index.html", ".venv/bin/python", ".git", "lib/__pycache__/x.pyc"]
    for name in extras + left_out:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    counts = write_edition(tmp_path)
    assert sorted(counts) == [p.name for p in CHAPTERS]
    written = sorted((tmp_path / "_build" / "student" / "notebooks").glob("*.ipynb"))
    assert [p.name for p in written] == [p.name for p in CHAPTERS]
    src = tmp_path / "_build" / "student" / "src"
    for path in written:
        assert (src / "chapters" / path.name).read_text() == path.read_text()
        nbformat.validate(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))
    for name in extras + ["references.bib"]:
        assert (src / name).read_text() == (tmp_path / name).read_text(), name
    # The instructor's guide stays with the teacher: out of the contents, and unlinked (its
    # text kept) where another page links it.
    assert "instructor_guide" not in (src / "_toc.yml").read_text()
    assert "instructor_guide" not in (src / "intro.md").read_text()
    assert "instructor's guide" in (src / "intro.md").read_text()
    for name in left_out:
        assert not (src / name).exists(), f"{name} was copied into the student sources"
    assert not (src / "_build").exists()
    config = (src / "_config.yml").read_text()
    assert "hide_solutions: true" in config and "execute_notebooks: 'off'" in config


def test_the_copy_leaves_out_everything_git_ignores():
    patterns = [
        line.strip().rstrip("/")
        for line in (ROOT / ".gitignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    missing = [pattern for pattern in patterns if pattern not in EXCLUDED]
    assert not missing, (
        f"add these .gitignore patterns to EXCLUDED in scripts/student_edition.py: {missing}"
    )


# A path that a page of the book names relative to itself: an include or figure directive's
# argument, or a markdown link or image that is not a URL.
_DIRECTIVE_PATH = re.compile(
    r"^(?:```|:::)\{(?:literalinclude|include|image|figure|download)\}\s+(\S+)", re.M
)
_LINK_PATH = re.compile(r"\]\(([^)\s#]+)")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})\s*(.*)$")
# Directives whose body is code, not markdown (a fence with no directive is a code listing too).
_CODE_DIRECTIVES = ("{code-cell}", "{code-block}", "{code}", "{literalinclude}")


def _without_code(text):
    """``text`` without the bodies of fenced code (code cells, listings): their brackets are no links."""
    kept, open_fences = [], []  # each open fence: (marker, whether its body is code)
    for line in text.splitlines():
        fence = _FENCE.match(line)
        in_code = any(code for _marker, code in open_fences)
        if fence and open_fences and not fence.group(2):
            marker = open_fences[-1][0]
            if fence.group(1)[0] == marker[0] and len(fence.group(1)) >= len(marker):
                open_fences.pop()
                continue
        if fence and not in_code:
            info = fence.group(2)
            code = not info.startswith("{") or info.startswith(_CODE_DIRECTIVES)
            open_fences.append((fence.group(1), code))
            kept.append(line)
        elif not in_code:
            kept.append(line)
    return "\n".join(kept)


def _pages():
    toc = (ROOT / "_toc.yml").read_text()
    names = re.findall(r"(?:root|file):\s*(\S+)", toc)
    pages = []
    for name in names:
        for suffix in (".ipynb", ".md"):
            if (ROOT / (name + suffix)).is_file():
                pages.append(ROOT / (name + suffix))
    return pages


def _page_text(path):
    if path.suffix != ".ipynb":
        return _without_code(path.read_text(encoding="utf-8"))
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return _without_code(text)


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_path_a_page_names_is_in_the_student_sources(page):
    """What a page includes or links resolves in the project and is not left out of the copy that
    the student book is built from (make test builds that book too, with warnings as errors)."""
    text = _page_text(page)
    problems = []
    for name in _DIRECTIVE_PATH.findall(text) + _LINK_PATH.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", name, re.I):
            continue  # a URL (https:, mailto:), not a path
        target = (page.parent / name).resolve()
        candidates = [target, *(target.with_name(target.name + s) for s in (".md", ".ipynb"))]
        if not any(c.exists() for c in candidates):
            problems.append(f"{name}: no such file")
            continue
        try:
            parts = target.relative_to(ROOT).parts
        except ValueError:
            problems.append(f"{name}: outside the project")
            continue
        if any(fnmatch.fnmatch(part, pattern) for part in parts for pattern in EXCLUDED):
            problems.append(f"{name}: in a folder the student edition leaves out")
    assert not problems, f"{page.name}: {problems}"


def test_write_edition_needs_chapters(tmp_path):
    with pytest.raises(ValueError, match="must hold a chapters/ folder"):
        write_edition(tmp_path)
