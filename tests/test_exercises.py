"""Self-checks accept the solution and reject wrong answers; exercise streams leave the chapter's alone."""

import contextlib
import io

import numpy as np
import pytest

from lib.evidence.exercises import answer_key, check_answer, exercise_rng, verify_self_check


def _says(answer, key, tolerance=None):
    """What check_answer prints first ("Right", "Not yet", "No answer yet"); it returns None."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert check_answer(answer, key=key, tolerance=tolerance) is None
    return buffer.getvalue().split(":")[0]


@pytest.mark.parametrize("value", [0.4271, -3.2, 0.0, 1e6, 0.045])
@pytest.mark.parametrize("tolerance", [0.01, 0.5, 1e-4])
def test_answers_within_half_a_tolerance_are_right_and_beyond_two_are_wrong(value, tolerance):
    key = answer_key(value, tolerance=tolerance)
    for offset in (-0.99, -0.49, 0.0, 0.49, 0.99):
        assert _says(value + offset * tolerance, key, tolerance) == "Right"
    for offset in (-2.01, 2.01, 10.0):
        assert _says(value + offset * tolerance, key, tolerance) == "Not yet"


def test_what_the_check_prints_holds_only_the_student_answer_and_the_tolerance(capsys):
    key = answer_key(0.4271, tolerance=0.01)
    check_answer(0.43, key=key, tolerance=0.01)
    check_answer(0.9, key=key, tolerance=0.01)
    printed = capsys.readouterr().out
    assert "0.427" not in printed and "0.9" in printed and "0.01" in printed


def test_a_value_on_a_cell_edge_keeps_its_key_when_it_rounds_the_other_way():
    key = answer_key(0.0150000001, tolerance=0.01)
    assert _says(0.0149999999, key, 0.01) == "Right"


def test_choices_compare_as_lower_case_text():
    key = answer_key("Haswell", tolerance=None)
    assert _says(" haswell ", key) == "Right"
    assert _says("SkylakeX", key) == "Not yet"
    assert _says(True, answer_key(True, tolerance=None)) == "Right"


def test_no_answer_says_so_and_returns_none(capsys):
    assert check_answer(None, key=answer_key(1.0, tolerance=0.1), tolerance=0.1) is None
    assert "No answer yet" in capsys.readouterr().out
    assert _says(None, answer_key(1.0, tolerance=0.1), 0.1) == "No answer yet"


def test_numpy_scalars_are_answers():
    key = answer_key(0.25, tolerance=0.01)
    assert _says(np.float64(0.251), key, 0.01) == "Right"
    verify_self_check(np.float32(0.25), wrong=np.float64(0.3), key=key, tolerance=0.01)


def test_verify_fails_on_a_stale_key_and_on_a_tolerance_too_loose():
    key = answer_key(0.5, tolerance=0.01)
    with pytest.raises(AssertionError, match="stale.*current key"):
        verify_self_check(0.6, wrong=0.9, key=key, tolerance=0.01)
    with pytest.raises(AssertionError, match="accepts the wrong answer"):
        verify_self_check(0.5, wrong=0.505, key=key, tolerance=0.01)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: answer_key(0.5, tolerance=-1.0), ValueError, "tolerance"),
        (lambda: answer_key(0.5, tolerance="0.1"), TypeError, "tolerance"),
        (lambda: answer_key(float("nan"), tolerance=0.1), ValueError, "answer must be finite"),
        (lambda: answer_key(0.5, tolerance=None), TypeError, "choice"),
        (lambda: answer_key("a", tolerance=0.1), TypeError, "real number"),
        (lambda: check_answer(0.5, key="abc", tolerance=0.1), ValueError, "key"),
        (lambda: check_answer(0.5, key=12, tolerance=0.1), ValueError, "key"),
        (lambda: verify_self_check(None, wrong=1, key="0" * 16), ValueError, "None"),
        (lambda: exercise_rng(3, "ex-a"), TypeError, "rng"),
        (lambda: exercise_rng(np.random.default_rng(1), ""), TypeError, "label"),
    ],
)
def test_bad_input_is_rejected_by_name(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_exercise_streams_leave_the_chapter_generator_untouched():
    rng = np.random.default_rng(2024)
    reference = np.random.default_rng(2024)
    exercise_rng(rng, "ex-one").normal(size=100)
    assert rng.spawn(1)[0].random() == reference.spawn(1)[0].random()
    assert rng.random() == reference.random()


def test_exercise_streams_are_reproducible_independent_and_unlike_spawned_children():
    a = exercise_rng(np.random.default_rng(5), "ex-a").random(1000)
    assert np.array_equal(a, exercise_rng(np.random.default_rng(5), "ex-a").random(1000))
    b = exercise_rng(np.random.default_rng(5), "ex-b").random(1000)
    children = [c.random(1000) for c in np.random.default_rng(5).spawn(3)]
    for other in (b, *children, np.random.default_rng(5).random(1000)):
        assert abs(np.corrcoef(a, other)[0, 1]) < 0.15


def test_exercise_streams_of_a_spawned_generator_differ_from_its_parent_s():
    parent = np.random.default_rng(5)
    child = parent.spawn(1)[0]
    assert exercise_rng(parent, "ex-a").random() != exercise_rng(child, "ex-a").random()
