"""Tests of lib.evidence.claims: relations, display, and collection from stored notebook outputs."""

import json

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from lib.evidence.claims import (
    CHECK_METADATA_KEY,
    Check,
    claim_close,
    claim_control,
    claim_effect,
    claim_greater,
    claim_less,
    collect_checks,
    read_checks,
    require,
    sanity_check,
)
from lib.evidence.estimation import Estimate, estimate_mean, replicates_for_power


@pytest.mark.parametrize(
    ("measured", "passed"), [(1.0, True), (1.1, True), (0.9, True), (1.2, False), (0.79, False)]
)
def test_close_is_a_two_sided_band(measured, passed):
    assert claim_close("c", measured, 1.0, tolerance=0.1 + 1e-12).passed is passed


def test_greater_and_less_require_the_margin():
    assert claim_greater("g", 1.0, 0.5, margin=0.4).passed
    assert not claim_greater("g", 1.0, 0.5, margin=0.5).passed
    assert claim_less("l", 0.0, 0.5, margin=0.4).passed
    assert not claim_less("l", 0.2, 0.5, margin=0.3).passed


def test_display_text_and_record_are_rounded_to_three_figures():
    check = claim_close("estimate matches", 0.123456, 0.12, tolerance=0.0051234)
    data, metadata = check._repr_mimebundle_()
    assert data["text/plain"] == "PASS  estimate matches: measured 0.123, expected 0.120 ± 0.00512"
    assert metadata[CHECK_METADATA_KEY] == {
        "claim": "estimate matches",
        "measured": 0.123,
        "relation": "≈",
        "reference": 0.12,
        "tolerance": 0.00512,
        "passed": True,
        "comparison": "measured 0.123, expected 0.120 ± 0.00512",
    }


@pytest.mark.parametrize(
    ("measured", "reference", "tolerance", "text"),
    [
        # the last digit shown is as fine as the tolerance, so the comparison is visible
        (0.63021, 0.63034, 5.24e-05, "measured 0.63021, expected 0.63034 ± 5.24e-05"),
        (0.041971, 0.041970, 1.53e-05, "measured 0.04197, expected 0.04197 ± 1.53e-05"),
        (1234.5, 1200.0, 10.0, "measured 1.23e+03, expected 1.20e+03 ± 10"),
        (2.0, 1.0, 0.0, "measured 2.00, expected 1.00 ± 0"),
        (0.5, 0.5, 1e-15, "measured 0.5000000000, expected 0.5000000000 ± 1e-15"),
    ],
)
def test_figures_follow_the_tolerance(measured, reference, tolerance, text):
    assert claim_close("c", measured, reference, tolerance=tolerance).describe() == text


def test_zero_margins_are_not_printed():
    assert claim_less("small", 3.0, 1.0).describe() == "measured 3.00, required < 1.00"
    assert claim_greater("big", 3.0, 1.0, margin=0.5).describe() == (
        "measured 3.00, required > 1.00 by more than 0.5"
    )


def test_close_includes_its_boundary():
    # |0.5 - 0.25| equals the tolerance exactly (both are exact binary fractions)
    assert claim_close("edge", 0.5, 0.25, tolerance=0.25).passed
    assert not claim_close("edge", 0.5, 0.25, tolerance=0.2499).passed
    assert not claim_greater("edge", 0.5, 0.25, margin=0.25).passed
    assert not claim_less("edge", 0.0, 0.25, margin=0.25).passed


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"measured": float("nan")}, ValueError, "measured must be finite"),
        ({"measured": "1"}, TypeError, "measured must be a real number"),
        ({"tolerance": -1.0}, ValueError, "tolerance must be non-negative"),
        ({"claim": "  "}, ValueError, "claim must be a non-empty string"),
    ],
)
def test_bad_inputs_rejected(kwargs, error, message):
    args = {"claim": "c", "measured": 1.0, "expected": 1.0, "tolerance": 0.1} | kwargs
    with pytest.raises(error, match=message):
        claim_close(args["claim"], args["measured"], args["expected"], tolerance=args["tolerance"])


def test_unknown_relation_rejected():
    with pytest.raises(ValueError, match="relation must be one of"):
        Check("c", 1.0, "=", 1.0, 0.0, True)


def _notebook_with_checks(path, title, checks):
    cells = [new_markdown_cell(f"# {title}\n\ntext")]
    for check in checks:
        data, metadata = check._repr_mimebundle_()
        output = new_output("execute_result", data=data, metadata=metadata, execution_count=1)
        cells.append(new_code_cell("check", outputs=[output]))
    cells.append(
        new_code_cell("print(1)", outputs=[new_output("stream", name="stdout", text="1\n")])
    )
    nbformat.write(new_notebook(cells=cells), path)


def test_collect_checks_reads_every_stored_check_in_order(tmp_path):
    _notebook_with_checks(
        tmp_path / "01_a.ipynb", "Chapter A", [claim_close("a1", 1, 1, tolerance=0)]
    )
    _notebook_with_checks(
        tmp_path / "02_b.ipynb", "Chapter B", [claim_greater("b1", 2, 1), claim_less("b2", 0, 1)]
    )
    table = collect_checks(tmp_path)
    assert table["chapter"].tolist() == ["Chapter A", "Chapter B", "Chapter B"]
    assert table["claim"].tolist() == ["a1", "b1", "b2"]
    assert table["relation"].tolist() == ["≈", ">", "<"]
    assert table["passed"].all()


def test_collect_checks_of_folder_without_checks_is_empty(tmp_path):
    nbformat.write(new_notebook(cells=[new_markdown_cell("# Empty")]), tmp_path / "x.ipynb")
    assert collect_checks(tmp_path).empty


def test_read_checks_rejects_non_notebooks(tmp_path):
    (tmp_path / "x.md").write_text("# no")
    with pytest.raises(ValueError, match="notebook must be an .ipynb file"):
        read_checks(tmp_path / "x.md")


def test_collect_checks_rejects_missing_folder(tmp_path):
    with pytest.raises(ValueError, match="folder must be an existing directory"):
        collect_checks(tmp_path / "nope")


def test_records_survive_a_json_round_trip():
    record = claim_close("x", 1.0, 1.0, tolerance=0.5).to_record()
    assert json.loads(json.dumps(record)) == record


def test_require_displays_claims_that_hold_and_raises_on_one_that_does_not(capsys):
    holds = claim_close("holds", 1.0, 1.0, tolerance=0.1)
    fails = claim_greater("fails", 0.0, 1.0)
    require(holds, holds)
    assert capsys.readouterr().out.count("PASS  holds") == 2
    with pytest.raises(AssertionError, match="FAIL  fails"):
        require(holds, fails)
    # Nothing is displayed when any claim fails: a failed claim stops the chapter.
    assert "PASS" not in capsys.readouterr().out


@pytest.mark.parametrize("bad", [True, 0.5, "PASS", None])
def test_require_rejects_what_is_not_a_check(bad):
    with pytest.raises(TypeError, match="checks must be Checks"):
        require(bad)


def test_require_needs_a_check():
    with pytest.raises(ValueError, match="at least one check"):
        require()


def _headline(value=0.2, se=0.02, n=40, delta=0.05, **kwargs):
    return claim_effect("gap exceeds noise", Estimate(value, se, n), delta=delta, **kwargs)


def test_an_effect_claim_needs_its_interval_clear_of_the_reference():
    assert _headline(0.2, 0.02).passed
    assert not _headline(0.2, 0.11).passed  # 0.2 - 2.02 * 0.11 < 0
    assert _headline(-0.2, 0.02, direction="<").passed
    assert not _headline(0.2, 0.02, direction="<").passed
    assert _headline(1.2, 0.02, reference=1.0).passed
    # Student's t with n - 1 degrees of freedom: t_0.975(39) = 2.0227
    assert _headline().interval == pytest.approx(
        (0.2 - 2.0227 * 0.02, 0.2 + 2.0227 * 0.02), abs=1e-4
    )


def test_a_control_passes_only_when_its_interval_lies_inside_delta():
    headline = _headline()
    absent = claim_control(headline, Estimate(0.01, 0.01, 40))
    assert absent.passed and absent.verdict == "absent" and absent.kind == "control"
    assert absent.control_of == "gap exceeds noise" and absent.delta == 0.05
    assert str(absent).startswith("PASS  control: gap exceeds noise: measured 0.0100")
    assert str(absent).endswith("absent, as a control should be")


def test_a_control_with_half_the_headline_effect_fails():
    headline = _headline(0.2, 0.02, delta=0.1)
    half = claim_control(headline, Estimate(0.1, 0.02, 40))
    assert not half.passed and half.verdict == "present"
    with pytest.raises(AssertionError, match="FAIL  control: gap exceeds noise"):
        require(half)


def test_few_replicates_widen_the_interval_to_students_t():
    # 0.2 - 1.96 * 0.095 > 0, but with 4 replicates t_0.975(3) = 3.18 and 0.2 - 3.18 * 0.095 < 0
    assert not _headline(0.2, 0.095, n=4).passed
    assert _headline(0.2, 0.095, n=400).passed
    # a slope fitted to n points has n - 2 degrees of freedom
    slope = claim_effect("slope", Estimate(1.0, 0.1, 5, df=3.0), delta=0.5)
    assert slope.interval[1] - 1.0 == pytest.approx(3.1824 * 0.1, abs=1e-4)
    with pytest.raises(ValueError, match="at least 1 degree of freedom"):
        claim_effect("one draw", Estimate(1.0, 0.1, 1), delta=0.5)


def test_an_underpowered_control_fails_and_says_how_many_replicates_would_decide():
    headline = _headline()
    wide = claim_control(headline, Estimate(0.0, 0.05, 10))
    assert not wide.passed and wide.verdict == "underpowered"
    # spread per replicate 0.05 * sqrt(10) = 0.158; the smallest n with
    # t_0.975(n - 1) * 0.158 / sqrt(n) < 0.05 is 41 (t_0.975(40) = 2.021)
    assert "about 41 replicates would decide it" in str(wide)
    decided = claim_control(headline, Estimate(0.0, 0.05 * (10 / 41) ** 0.5, 41))
    assert decided.passed, decided


def test_a_null_control_with_replicates_chosen_by_power_passes_as_often_as_planned():
    # Simulated: true effect 0, sd 1, delta 0.3; replicates_for_power promises power 0.9.
    rng = np.random.default_rng(7)
    delta, sd = 0.3, 1.0
    n = replicates_for_power(delta, sd, test="equivalence")
    headline = claim_effect("h", Estimate(1.0, 0.1, n), delta=delta)
    draws = rng.normal(0.0, sd, size=(2_000, n))
    passed = [claim_control(headline, estimate_mean(row)).passed for row in draws]
    share = np.mean(passed)
    # binomial se at 0.9 over 2,000 trials is 0.0067; the normal approximation is close
    assert abs(share - 0.9) < 4 * 0.0067 + 0.01


def test_a_headline_with_replicates_chosen_by_power_passes_as_often_as_planned():
    rng = np.random.default_rng(8)
    delta, sd = 0.3, 1.0
    n = replicates_for_power(delta, sd)
    passed = [
        claim_effect("h", estimate_mean(row), delta=delta).passed
        for row in rng.normal(delta, sd, size=(2_000, n))
    ]
    assert abs(np.mean(passed) - 0.9) < 4 * 0.0067 + 0.01


@pytest.mark.parametrize(
    ("headline", "estimate", "error", "message"),
    [
        (0.5, Estimate(0, 1, 2), TypeError, "headline must be a Check, got 0.5"),
        (claim_less("a", 0, 1), Estimate(0, 1, 2), ValueError, "headline must be an effect claim"),
        ("h", "x", TypeError, "estimate must be an Estimate"),
    ],
)
def test_claim_control_rejects_what_is_not_a_headline_and_an_estimate(
    headline, estimate, error, message
):
    if headline == "h":
        headline = _headline()
    with pytest.raises(error, match=message):
        claim_control(headline, estimate)


def test_a_control_cannot_be_controlled_and_a_sanity_check_is_no_headline():
    control = claim_control(_headline(), Estimate(0.0, 0.01, 40))
    with pytest.raises(ValueError, match="headline must be an effect claim"):
        claim_control(control, Estimate(0.0, 0.01, 40))
    sanity = sanity_check(_headline())
    assert sanity.kind == "sanity" and str(sanity).startswith("PASS  SANITY: gap exceeds noise")
    with pytest.raises(ValueError, match="headline must be an effect claim"):
        claim_control(sanity, Estimate(0.0, 0.01, 40))
    with pytest.raises(ValueError, match="check must be an ordinary claim"):
        sanity_check(control)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"delta": 0.0}, "delta must be positive"),
        ({"direction": "="}, "direction must be"),
    ],
)
def test_claim_effect_rejects_bad_inputs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        claim_effect("c", Estimate(0.2, 0.02, 40), **({"delta": 0.05} | kwargs))


def test_collect_checks_marks_which_claims_have_a_control(tmp_path):
    headline = claim_effect("h", Estimate(0.2, 0.02, 40), delta=0.05)
    lonely = claim_less("l", 0, 1)
    control = claim_control(headline, Estimate(0.0, 0.01, 40))
    sanity = sanity_check(claim_close("s", 1, 1, tolerance=0))
    _notebook_with_checks(tmp_path / "01_a.ipynb", "A", [headline, lonely, control, sanity])
    table = collect_checks(tmp_path)
    assert table["has_control"].tolist() == [True, False, False, False]
    assert table["kind"].tolist() == ["claim", "claim", "control", "sanity"]
    assert table["control_of"].tolist()[2] == "h"
    assert table["control_of"].isna().tolist() == [True, True, False, True]
    assert table["delta"].tolist()[0] == 0.05 and table["n"].tolist()[2] == 40
    assert table["control_interval"].tolist()[0] == pytest.approx([-0.0202, 0.0202])


def test_effect_records_are_json_whatever_numpy_types_the_estimate_carries():
    estimate = Estimate(np.float64(0.2), np.float64(0.02), np.int64(40))
    headline = claim_effect("h", estimate, delta=0.05)
    control = claim_control(headline, Estimate(np.float32(0.0), np.float64(0.01), 40))
    for check in (headline, control):
        assert type(check.passed) is bool
        record = check.to_record()
        assert json.loads(json.dumps(record)) == record
