"""Claims a chapter checks, in a form the book can collect.

A chapter states a claim, computes a number, and asserts that the number agrees with the claim
within a tolerance derived from a standard error or a closed form. The functions here build that
comparison as a :class:`Check`. A chapter states a claim in one idiom,
``require(claim_close(...))`` (or ``claim_greater``, ``claim_less``): :func:`require` fails loudly
if the claim does not hold and otherwise displays it.

The names keep two kinds of function apart: ``claim_*`` functions *return* a claim, which may
hold or not; :mod:`lib.evidence.validation`'s ``check_*`` functions *raise* on bad input.

The display carries a machine-readable copy in the output's metadata (under the key
:data:`CHECK_METADATA_KEY`; a custom MIME type would make the book's renderer warn), so the book's
"Claims checked" page is assembled from the chapters' own stored outputs by
:func:`collect_checks`, never typed by hand. nbval makes sure those stored outputs equal a fresh
run.

Examples
--------
>>> check = claim_close("the estimate matches the exact value", 0.162, 0.164, tolerance=0.005)
>>> check.passed
True
>>> require(check)
PASS  the estimate matches the exact value: measured 0.162, expected 0.164 ± 0.005
>>> print(check)
PASS  the estimate matches the exact value: measured 0.162, expected 0.164 ± 0.005
"""

from __future__ import annotations

import json
import math
import pathlib
from dataclasses import asdict, dataclass

import pandas as pd

from .validation import check_finite

__all__ = [
    "CHECK_METADATA_KEY",
    "Check",
    "claim_close",
    "claim_control",
    "claim_greater",
    "claim_less",
    "collect_checks",
    "read_checks",
    "require",
]

CHECK_METADATA_KEY = "generalization_essays_check"

_RELATIONS = ("≈", ">", "<")


def _significant_figures(measured: float, reference: float, tolerance: float) -> int:
    """Return how many significant figures show the comparison: at least three, and enough that
    the last printed digit of the larger number is no coarser than the tolerance (at most ten)."""
    scale = max(abs(measured), abs(reference))
    if tolerance <= 0 or scale == 0:
        return 3
    needed = math.floor(math.log10(scale)) - math.floor(math.log10(tolerance)) + 1
    return min(max(needed, 3), 10)


def _round(value: float, figures: int) -> float:
    # Rounded as printed, so that a stored output equals a fresh run across platforms.
    return float(f"{value:.{figures}g}")


@dataclass(frozen=True)
class Check:
    """One checked claim: a measured number compared with a reference.

    Use :func:`claim_close`, :func:`claim_greater` or :func:`claim_less` to make one.

    Attributes
    ----------
    claim : str
        The claim in words.
    measured : float
        What the chapter computed.
    relation : {"≈", ">", "<"}
        ``≈``: ``|measured - reference| <= tolerance``; ``>``: ``measured > reference + tolerance``;
        ``<``: ``measured < reference - tolerance``.
    reference : float
        The exact value, bound or comparison number.
    tolerance : float
        The allowed deviation or required margin, non-negative.
    passed : bool
        Whether the claim holds: for an ordinary claim, whether the relation holds; for a
        control (``control_of`` set), whether the relation does *not* hold.
    control_of : str or None
        For a control made by :func:`claim_control`, the claim it is the control of.
    """

    claim: str
    measured: float
    relation: str
    reference: float
    tolerance: float
    passed: bool
    control_of: str | None = None

    def __post_init__(self):
        if not isinstance(self.claim, str) or not self.claim.strip():
            raise ValueError(f"claim must be a non-empty string, got {self.claim!r}")
        if self.relation not in _RELATIONS:
            raise ValueError(f"relation must be one of {_RELATIONS}, got {self.relation!r}")

    def describe(self) -> str:
        """Return the comparison in words.

        Numbers get at least three significant figures, and more where the tolerance is finer,
        so that the printed numbers show whether the claim holds.
        """
        figures = _significant_figures(self.measured, self.reference, self.tolerance)
        m, r = (f"{x:#.{figures}g}" for x in (self.measured, self.reference))
        t = f"{self.tolerance:.3g}"
        if self.relation == "≈":
            text = f"measured {m}, expected {r} ± {t}"
        elif self.tolerance == 0:
            text = f"measured {m}, required {self.relation} {r}"
        else:
            text = f"measured {m}, required {self.relation} {r} by more than {t}"
        if self.control_of is None:
            return text
        return f"{text}: not met, as a control should not be"

    def __str__(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'}  {self.claim}: {self.describe()}"

    def to_record(self) -> dict:
        """Return the check as a JSON-ready dict, numbers rounded as :meth:`describe` prints them.

        The key ``comparison`` holds :meth:`describe`'s text; ``control_of`` appears only for a
        control, so that ordinary records keep their shape.
        """
        record = asdict(self)
        if record["control_of"] is None:
            del record["control_of"]
        figures = _significant_figures(self.measured, self.reference, self.tolerance)
        for key in ("measured", "reference"):
            record[key] = _round(record[key], figures)
        record["tolerance"] = _round(record["tolerance"], 3)
        record["comparison"] = self.describe()
        return record

    def _repr_mimebundle_(self, include=None, exclude=None):
        # IPython accepts (data, metadata); the record rides in the output's metadata.
        return {"text/plain": str(self)}, {CHECK_METADATA_KEY: self.to_record()}


def _numbers(measured, reference, tolerance) -> tuple[float, float, float]:
    measured = check_finite(measured, "measured")
    reference = check_finite(reference, "reference")
    tolerance = check_finite(tolerance, "tolerance")
    if tolerance < 0:
        raise ValueError(f"tolerance must be non-negative, got {tolerance}")
    return measured, reference, tolerance


def claim_close(claim: str, measured, expected, *, tolerance) -> Check:
    """Check that ``measured`` is within ``tolerance`` of ``expected``.

    Parameters
    ----------
    claim : str
        The claim in words.
    measured, expected : float
        The computed number and the value it should equal.
    tolerance : float
        Non-negative; derive it from a standard error (e.g. ``4 * se``) or a closed form.

    Examples
    --------
    >>> claim_close("two routes agree", 1.0, 1.2, tolerance=0.1).passed
    False
    >>> claim_close("two routes agree", 1.0, 1.2, tolerance=-0.1)
    Traceback (most recent call last):
    ...
    ValueError: tolerance must be non-negative, got -0.1
    """
    measured, expected, tolerance = _numbers(measured, expected, tolerance)
    return Check(claim, measured, "≈", expected, tolerance, abs(measured - expected) <= tolerance)


def claim_greater(claim: str, measured, bound, *, margin=0.0) -> Check:
    """Check that ``measured > bound + margin``.

    Examples
    --------
    >>> print(claim_greater("the gap exceeds noise", 0.30, 0.0, margin=0.05))
    PASS  the gap exceeds noise: measured 0.300, required > 0.00 by more than 0.05
    """
    measured, bound, margin = _numbers(measured, bound, margin)
    return Check(claim, measured, ">", bound, margin, measured > bound + margin)


def claim_less(claim: str, measured, bound, *, margin=0.0) -> Check:
    """Check that ``measured < bound - margin``.

    Examples
    --------
    >>> claim_less("the excess loss is small", 0.01, 0.02).passed
    True
    """
    measured, bound, margin = _numbers(measured, bound, margin)
    return Check(claim, measured, "<", bound, margin, measured < bound - margin)


def claim_control(headline: Check, check: Check) -> Check:
    """Return the control of ``headline``: the same test, made in a world where it should fail.

    A headline claim is evidence only if the same code could have come out the other way. Its
    control runs that code in a world where the claim should not hold (no confounder, no spurious
    correlation, N = 1, ...) and states the same comparison there; the control *passes* when that
    comparison is *not* met. The claims page marks which headline claims have a control.

    Parameters
    ----------
    headline : Check
        The claim being controlled, from :func:`claim_close`, :func:`claim_greater` or
        :func:`claim_less`; not itself a control.
    check : Check
        The same comparison, computed in the control world.

    Returns
    -------
    Check
        A check whose ``passed`` is ``not check.passed`` and whose ``control_of`` is
        ``headline.claim``.

    Examples
    --------
    >>> gap = claim_greater("ERM's gap exceeds noise", 0.20, 0.0, margin=0.04)
    >>> same_without_confounder = claim_greater("ERM's gap, no confounder", 0.01, 0.0, margin=0.04)
    >>> require(gap, claim_control(gap, same_without_confounder))
    PASS  ERM's gap exceeds noise: measured 0.200, required > 0.00 by more than 0.04
    PASS  control: ERM's gap, no confounder: measured 0.0100, required > 0.00 by more than 0.04: not met, as a control should not be
    """
    for name, value in (("headline", headline), ("check", check)):
        if not isinstance(value, Check):
            raise TypeError(f"{name} must be a Check, got {value!r}")
    if headline.control_of is not None:
        raise ValueError(f"headline must not itself be a control, got {headline.claim!r}")
    if check.control_of is not None:
        raise ValueError(f"check must be an ordinary claim, not a control, got {check.claim!r}")
    return Check(
        f"control: {check.claim}",
        check.measured,
        check.relation,
        check.reference,
        check.tolerance,
        not check.passed,
        control_of=headline.claim,
    )


def require(*checks: Check) -> None:
    """Fail unless every check holds; then display them, so that the claims page collects them.

    This is the one way a chapter states a claim: ``require(claim_close(...))``, or
    ``require(*claims)`` for several.

    Parameters
    ----------
    *checks : Check
        One or more, from :func:`claim_close`, :func:`claim_greater` or :func:`claim_less`.

    Raises
    ------
    AssertionError
        If a claim does not hold; the message is that check's own line (``FAIL ...``), so the
        notebook stops there and the build fails.

    Examples
    --------
    >>> require(claim_less("the excess loss is small", 0.03, 0.02))
    Traceback (most recent call last):
    ...
    AssertionError: FAIL  the excess loss is small: measured 0.0300, required < 0.0200
    >>> require(0.5)
    Traceback (most recent call last):
    ...
    TypeError: checks must be Checks (from claim_close, claim_greater or claim_less), got 0.5
    """
    if not checks:
        raise ValueError("require needs at least one check, got none")
    for check in checks:
        if not isinstance(check, Check):
            raise TypeError(
                "checks must be Checks (from claim_close, claim_greater or claim_less), "
                f"got {check!r}"
            )
    failed = [check for check in checks if not check.passed]
    if failed:
        raise AssertionError("\n".join(map(str, failed)))
    # IPython ships with the book's kernel; outside IPython, display() prints the checks' text.
    from IPython.display import display

    display(*checks)


def read_checks(notebook) -> list[dict]:
    """Return the check records stored in the outputs of one notebook file.

    Parameters
    ----------
    notebook : str or path-like
        An ``.ipynb`` file.

    Returns
    -------
    list of dict
        One record per displayed :class:`Check`, in cell order.
    """
    path = pathlib.Path(notebook)
    if path.suffix != ".ipynb":
        raise ValueError(f"notebook must be an .ipynb file, got {str(path)!r}")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    records = []
    for cell in cells:
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get(CHECK_METADATA_KEY)
            if record is not None:
                records.append(record)
    return records


def _title(path: pathlib.Path) -> str:
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def collect_checks(folder) -> pd.DataFrame:
    """Return a table of every check stored in the notebooks of ``folder``, chapter by chapter.

    Parameters
    ----------
    folder : str or path-like
        A folder of ``.ipynb`` files (the book's ``chapters/``).

    Returns
    -------
    pandas.DataFrame
        Columns ``chapter``, ``claim``, ``measured``, ``relation``, ``reference``, ``tolerance``,
        ``passed``, ``comparison`` (the check's own wording of the result), ``control_of`` (for
        a control, the claim it controls; else missing) and ``has_control`` (whether some
        control in the folder names this claim); one row per check.
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder must be an existing directory, got {str(folder)!r}")
    rows = [
        {"chapter": _title(path), **record}
        for path in sorted(folder.glob("*.ipynb"))
        for record in read_checks(path)
    ]
    columns = [
        "chapter",
        "claim",
        "measured",
        "relation",
        "reference",
        "tolerance",
        "passed",
        "comparison",
        "control_of",
    ]
    table = pd.DataFrame(rows, columns=columns)
    controlled = set(table["control_of"].dropna())
    table["has_control"] = table["claim"].isin(controlled) & table["control_of"].isna()
    return table
