"""Claims a chapter checks, in a form the book can collect.

A chapter states a claim, computes a number, and asserts that the number agrees with the claim
within a tolerance derived from a standard error or a closed form. The functions here build that
comparison as a :class:`Check`. A chapter states a claim in one idiom,
``require(claim_close(...))`` (or ``claim_greater``, ``claim_less``): :func:`require` fails loudly
if the claim does not hold and otherwise displays it.

The names keep two kinds of function apart: ``claim_*`` functions *return* a claim, which may
hold or not; :mod:`lib.evidence.validation`'s ``check_*`` functions *raise* on bad input.

A *headline* claim is an effect with an interval: :func:`claim_effect` takes an
:class:`~lib.evidence.estimation.Estimate` and the smallest effect of interest ``delta``, fixed
before the run, and holds when the 95% interval clears the reference. Its *control*,
:func:`claim_control`, is the same statistic measured in a world where the claim should not hold;
it holds only when its whole interval lies inside ``(-delta, delta)`` around the reference (an
equivalence test, two one-sided tests at 2.5% each), and fails as *underpowered*, saying roughly
how many replicates would decide it, when its interval is too wide to tell. A check that is true
by construction (an identity, a sampler matching its closed form) is marked with
:func:`sanity_check` and never serves as a control.

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
from dataclasses import asdict, dataclass, replace

import pandas as pd

from .estimation import INTERVAL_Z, Estimate, interval_multiplier
from .validation import check_finite

__all__ = [
    "CHECK_METADATA_KEY",
    "Check",
    "claim_close",
    "claim_control",
    "claim_effect",
    "claim_greater",
    "claim_less",
    "collect_checks",
    "read_checks",
    "require",
    "sanity_check",
]

CHECK_METADATA_KEY = "generalization_essays_check"

_RELATIONS = ("≈", ">", "<")
_KINDS = ("claim", "control", "sanity")


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
    kind : {"claim", "control", "sanity"}
        A claim that could have come out the other way, a control, or a sanity check (true by
        construction when the code is right; see :func:`sanity_check`).
    delta : float or None
        For an effect claim (:func:`claim_effect`) and its control, the smallest effect of
        interest, fixed before the run.
    interval : tuple of float or None
        For an effect claim and its control, the 95% interval of the measured effect.
    n : int or None
        For an effect claim and its control, the number of replicates the estimate rests on.
    df : float or None
        For an effect claim and its control, the degrees of freedom of the interval's t quantile.
    verdict : str or None
        For a control, ``"absent"`` (interval inside ``±delta``), ``"underpowered"`` (too wide to
        tell) or ``"present"`` (the point estimate lies outside ``±delta``).
    """

    claim: str
    measured: float
    relation: str
    reference: float
    tolerance: float
    passed: bool
    control_of: str | None = None
    kind: str = "claim"
    delta: float | None = None
    interval: tuple[float, float] | None = None
    n: int | None = None
    verdict: str | None = None
    df: float | None = None

    def __post_init__(self):
        if not isinstance(self.claim, str) or not self.claim.strip():
            raise ValueError(f"claim must be a non-empty string, got {self.claim!r}")
        if self.relation not in _RELATIONS:
            raise ValueError(f"relation must be one of {_RELATIONS}, got {self.relation!r}")
        if self.kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}, got {self.kind!r}")
        if (self.kind == "control") != (self.control_of is not None):
            raise ValueError("a check is a control exactly when control_of names its headline")

    def _figures(self) -> int:
        return _significant_figures(self.measured, self.reference, self.tolerance)

    def _describe_effect(self) -> str:
        figures = self._figures()
        lo, hi = (f"{x:#.{figures}g}" for x in self.interval)
        m = f"{self.measured:#.{figures}g}"
        r = f"{self.reference:#.{figures}g}"
        d = f"{self.delta:.3g}"
        text = f"measured {m}, 95% interval [{lo}, {hi}], n = {self.n}"
        if self.kind != "control":
            side = "above" if self.relation == ">" else "below"
            return f"{text}; required entirely {side} {r} (smallest effect of interest {d})"
        where = f"{r} ± {d}" if self.reference != 0 else f"±{d}"
        if self.verdict == "absent":
            return f"{text}; inside {where}: absent, as a control should be"
        if self.verdict == "present":
            return f"{text}; not inside {where}: the effect is present"
        return f"{text}; not inside {where}: underpowered, {self._replicates_to_decide()}"

    def _replicates_to_decide(self) -> str:
        # The smallest n whose t interval, at this spread per replicate, fits in the room left.
        room = self.delta - abs(self.measured - self.reference)
        half_width = (self.interval[1] - self.interval[0]) / 2
        spread = half_width / interval_multiplier(self.df) * math.sqrt(self.n)
        needed = max(2, math.ceil((INTERVAL_Z * spread / room) ** 2))
        while interval_multiplier(needed - 1) * spread / math.sqrt(needed) >= room:
            needed += 1
        return f"about {needed} replicates would decide it"

    def describe(self) -> str:
        """Return the comparison in words.

        Numbers get at least three significant figures, and more where the tolerance is finer,
        so that the printed numbers show whether the claim holds.
        """
        if self.interval is not None:
            return self._describe_effect()
        figures = self._figures()
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
        label = "SANITY" if self.kind == "sanity" else ""
        status = "PASS" if self.passed else "FAIL"
        return f"{status}  {label + ': ' if label else ''}{self.claim}: {self.describe()}"

    def to_record(self) -> dict:
        """Return the check as a JSON-ready dict, numbers rounded as :meth:`describe` prints them.

        The key ``comparison`` holds :meth:`describe`'s text; ``control_of`` appears only for a
        control, so that ordinary records keep their shape.
        """
        record = asdict(self)
        for key in ("control_of", "delta", "interval", "n", "verdict", "df"):
            if record[key] is None:
                del record[key]
        if record["kind"] == "claim":
            del record["kind"]
        figures = self._figures()
        for key in ("measured", "reference"):
            record[key] = _round(record[key], figures)
        record["tolerance"] = _round(record["tolerance"], 3)
        if self.interval is not None:
            record["interval"] = [_round(x, figures) for x in self.interval]
            record["delta"] = _round(self.delta, 3)
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


def _check_estimate(estimate, name: str) -> Estimate:
    if not isinstance(estimate, Estimate):
        raise TypeError(
            f"{name} must be an Estimate (from lib.evidence.estimation), got {estimate!r}"
        )
    value = check_finite(estimate.value, f"{name}.value")
    se = check_finite(estimate.standard_error, f"{name}.standard_error")
    if se < 0:
        raise ValueError(f"{name}.standard_error must be non-negative, got {se}")
    if estimate.degrees_of_freedom < 1:
        raise ValueError(
            f"{name} needs at least 1 degree of freedom for an interval, got n = {estimate.n}"
        )
    # Plain floats, so that the stored record is JSON whatever numpy type the estimate carried.
    return Estimate(float(value), float(se), int(estimate.n), float(estimate.degrees_of_freedom))


def claim_effect(claim: str, estimate, *, delta, direction=">", reference=0.0) -> Check:
    """A headline claim: an effect whose 95% interval lies entirely beyond ``reference``.

    State ``delta``, the smallest effect of interest, before the run, and choose the replicate
    count from it (:func:`lib.evidence.estimation.replicates_for_power`). The claim holds when
    the interval ``value ± t se`` (Student's t with the estimate's degrees of freedom,
    :func:`lib.evidence.estimation.interval_multiplier`) lies entirely above ``reference``
    (``direction=">"``) or entirely below it (``"<"``). Its control (:func:`claim_control`) inherits ``delta`` and
    ``reference``, so that it tests the same statistic against the same margin.

    Parameters
    ----------
    claim : str
        The claim in words.
    estimate : Estimate
        The measured effect (e.g. from :func:`lib.evidence.estimation.estimate_difference`).
    delta : float
        Positive: the smallest effect of interest, and the control's equivalence margin.
    direction : {">", "<"}
        Whether the effect should exceed or fall below ``reference``.
    reference : float
        The no-effect value (usually 0).

    Examples
    --------
    >>> from lib.evidence.estimation import Estimate
    >>> gap = claim_effect("ERM relies on shorts", Estimate(0.20, 0.02, 40), delta=0.05)
    >>> print(gap)
    PASS  ERM relies on shorts: measured 0.200, 95% interval [0.160, 0.240], n = 40; required entirely above 0.00 (smallest effect of interest 0.05)
    >>> claim_effect("too noisy", Estimate(0.20, 0.15, 4), delta=0.05).passed
    False
    """
    estimate = _check_estimate(estimate, "estimate")
    delta = check_finite(delta, "delta")
    reference = check_finite(reference, "reference")
    if delta <= 0:
        raise ValueError(f"delta must be positive, got {delta}")
    if direction not in (">", "<"):
        raise ValueError(f"direction must be '>' or '<', got {direction!r}")
    half_width = interval_multiplier(estimate.degrees_of_freedom) * estimate.standard_error
    lo, hi = estimate.value - half_width, estimate.value + half_width
    passed = bool(lo > reference if direction == ">" else hi < reference)
    return Check(
        claim,
        estimate.value,
        direction,
        reference,
        half_width,
        passed,
        delta=delta,
        interval=(lo, hi),
        n=int(estimate.n),
        df=estimate.degrees_of_freedom,
    )


def claim_control(headline: Check, estimate) -> Check:
    """Return the control of ``headline``: the same statistic, shown absent where it should be.

    A headline claim is evidence only if the same code could have come out the other way. Its
    control measures the same effect, with the same statistic, in a world where the claim should
    not hold (no confounder, no spurious correlation, N = 1, ...). The control passes only when
    the effect's whole 95% interval lies inside ``reference ± delta``, with the headline's
    ``delta`` and ``reference``: an equivalence test (two one-sided tests at 2.5% each). A
    control whose interval is too wide fails as *underpowered*, and says roughly how many
    replicates would decide it; "not significant" is not absence.

    Parameters
    ----------
    headline : Check
        The claim being controlled, from :func:`claim_effect`.
    estimate : Estimate
        The same effect, measured in the control world.

    Returns
    -------
    Check
        A check of kind ``"control"`` whose ``control_of`` is ``headline.claim`` and whose
        ``verdict`` is ``"absent"``, ``"underpowered"`` or ``"present"``.

    Examples
    --------
    >>> from lib.evidence.estimation import Estimate
    >>> gap = claim_effect("ERM relies on shorts", Estimate(0.20, 0.02, 40), delta=0.05)
    >>> print(claim_control(gap, Estimate(0.004, 0.01, 40)))
    PASS  control: ERM relies on shorts: measured 0.00400, 95% interval [-0.0162, 0.0242], n = 40; inside ±0.05: absent, as a control should be
    >>> print(claim_control(gap, Estimate(0.004, 0.03, 10)))
    FAIL  control: ERM relies on shorts: measured 0.00400, 95% interval [-0.0639, 0.0719], n = 10; not inside ±0.05: underpowered, about 19 replicates would decide it
    >>> claim_control(gap, Estimate(0.10, 0.01, 40)).verdict
    'present'
    """
    if not isinstance(headline, Check):
        raise TypeError(f"headline must be a Check, got {headline!r}")
    if headline.kind != "claim" or headline.delta is None:
        raise ValueError(
            "headline must be an effect claim from claim_effect (with its delta), "
            f"got {headline.claim!r}"
        )
    estimate = _check_estimate(estimate, "estimate")
    half_width = interval_multiplier(estimate.degrees_of_freedom) * estimate.standard_error
    lo, hi = estimate.value - half_width, estimate.value + half_width
    low, high = headline.reference - headline.delta, headline.reference + headline.delta
    if low < lo and hi < high:
        verdict = "absent"
    elif abs(estimate.value - headline.reference) >= headline.delta:
        verdict = "present"
    else:
        verdict = "underpowered"
    return Check(
        f"control: {headline.claim}",
        estimate.value,
        "≈",
        headline.reference,
        half_width,
        bool(verdict == "absent"),
        control_of=headline.claim,
        kind="control",
        delta=headline.delta,
        interval=(lo, hi),
        n=int(estimate.n),
        verdict=verdict,
        df=estimate.degrees_of_freedom,
    )


def sanity_check(check: Check) -> Check:
    """Mark ``check`` as a sanity check: true by construction when the code is right.

    An identity, a theorem, a sampler matching its closed form or a comparison of a method
    with itself cannot come out the other way for a correct program, so it is no evidence for
    a claim and never a control; it guards the code. The claims page lists it apart.

    Examples
    --------
    >>> print(sanity_check(claim_close("simulation matches the closed form", 0.502, 0.5, tolerance=0.01)))
    PASS  SANITY: simulation matches the closed form: measured 0.502, expected 0.500 ± 0.01
    """
    if not isinstance(check, Check):
        raise TypeError(f"check must be a Check, got {check!r}")
    if check.kind != "claim":
        raise ValueError(f"check must be an ordinary claim, got a {check.kind}: {check.claim!r}")
    return replace(check, kind="sanity")


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
        Columns ``chapter``, ``claim``, ``kind`` (``"claim"``, ``"control"`` or ``"sanity"``),
        ``measured``, ``relation``, ``reference``, ``tolerance``, ``passed``, ``comparison`` (the
        check's own wording of the result), ``control_of`` (for a control, the claim it controls;
        else missing), ``delta``, ``interval``, ``n`` and ``verdict`` (for effect claims and
        their controls; else missing), ``has_control`` (whether some control in the folder
        names this claim) and ``control_interval`` (that control's interval, if any); one row
        per check.
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
        "kind",
        "measured",
        "relation",
        "reference",
        "tolerance",
        "passed",
        "comparison",
        "control_of",
        "delta",
        "interval",
        "n",
        "verdict",
    ]
    rows = [{"kind": "claim"} | row for row in rows]
    table = pd.DataFrame(rows, columns=columns)
    controls = table[table["control_of"].notna()]
    control_interval = dict(zip(controls["control_of"], controls["interval"]))
    table["has_control"] = table["claim"].isin(control_interval) & table["control_of"].isna()
    table["control_interval"] = [
        control_interval.get(claim) if has else None
        for claim, has in zip(table["claim"], table["has_control"])
    ]
    return table
