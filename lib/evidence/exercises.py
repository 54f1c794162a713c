"""Exercises: self-checks that say right or wrong without showing the answer, and their own streams.

A chapter sets an exercise in three parts (README, "Exercises"): the ``{exercise}`` text; a
*starter* code cell (tagged ``starter``) that the student edition keeps, ending in
:func:`check_answer`; and a solution between ``{solution-start}`` and ``{solution-end}``, which
the student edition removes. The starter cell carries a *key*, a short hash of the solution's
value rounded to the exercise's tolerance, so running the check tells a student whether their
answer is right without printing the solution. (A student who wants to can still search the grid
of rounded values; the check is a study aid, not an exam.)

The solution computes its value and calls :func:`verify_self_check`, which fails the notebook
unless the check accepts that value and rejects a plausible wrong answer. The key is typed in the
starter cell, so if a change to the chapter moves the solution's value, the book stops building
until the key is updated with :func:`answer_key`: a self-check cannot go stale silently.

An exercise that needs random numbers draws them from :func:`exercise_rng`, a generator derived
from the chapter's one seeded generator without drawing from it. Removing a solution (the student
edition) then leaves every later number in the chapter unchanged, so an exercise may sit beside
the idea it practises rather than at the end of the chapter.

Examples
--------
>>> key = answer_key(0.4271, tolerance=0.01)
>>> check_answer(0.43, key=key, tolerance=0.01)
Right: your answer is within the tolerance (0.01) of the solution's value.
>>> check_answer(0.50, key=key, tolerance=0.01)
Not yet: 0.5 is more than the tolerance (0.01) from the solution's value.
>>> check_answer(None, key=key, tolerance=0.01)
No answer yet: set `answer` above and run this cell again.
>>> verify_self_check(0.4271, wrong=0.50, key=key, tolerance=0.01)
Self-check verified: it accepts the solution's value and rejects 0.5.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import re

import numpy as np

from lib.evidence.validation import check_generator

__all__ = ["answer_key", "check_answer", "exercise_rng", "verify_self_check"]

_KEY = re.compile(r"^[0-9a-f]{16}$")
# The spawn-key word that separates exercise streams from the chapter's own rng.spawn children
# (which use 0, 1, 2, ...): a chapter would have to spawn 4 billion children to collide.
_EXERCISE_BRANCH = 2**32 - 1


def _check_tolerance(tolerance):
    if tolerance is None:
        return None
    if isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Real):
        raise TypeError(f"tolerance must be a positive number or None, got {tolerance!r}")
    if not math.isfinite(tolerance) or tolerance <= 0:
        raise ValueError(f"tolerance must be a positive finite number or None, got {tolerance!r}")
    return float(tolerance)


def _grid_words(answer, tolerance):
    """The strings whose hashes identify ``answer``: one for a choice, three grid cells for a number."""
    if tolerance is None:
        if not isinstance(answer, (str, bool, numbers.Integral)):
            raise TypeError(
                f"answer must be a str, bool or int when tolerance is None (a choice), "
                f"got {answer!r}"
            )
        return [f"choice:{str(answer).strip().lower()}"]
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        raise TypeError(f"answer must be a real number when a tolerance is given, got {answer!r}")
    if not math.isfinite(answer):
        raise ValueError(f"answer must be finite, got {answer!r}")
    cell = round(float(answer) / tolerance)
    return [f"number:{cell + shift}" for shift in (0, -1, 1)]


def _hash(word: str) -> str:
    return hashlib.sha256(word.encode()).hexdigest()[:16]


def answer_key(value, *, tolerance=None) -> str:
    """Return the key a starter cell passes to :func:`check_answer` for the solution ``value``.

    Parameters
    ----------
    value : float, int, str or bool
        The solution's answer: a number (with ``tolerance``) or a choice (``tolerance=None``;
        compared as lower-case text, so ``"B"`` and ``"b"`` are the same choice).
    tolerance : float or None
        The grid a numeric answer is rounded to. :func:`check_answer` accepts the answer's grid
        cell and its two neighbours (so a value near a cell's edge, which may round either way
        under another BLAS kernel, keeps its key). It therefore accepts every answer within one
        tolerance of the solution's value, rejects every answer more than two tolerances away,
        and in between decides by where the two values fall in their cells: choose the
        tolerance so that a right answer computed another reasonable way lies within one
        tolerance and the typical wrong answer lies beyond two.

    Returns
    -------
    str
        Sixteen hexadecimal digits.

    Raises
    ------
    TypeError, ValueError
        If ``value`` or ``tolerance`` is not of the kind described above.

    Examples
    --------
    >>> answer_key(3, tolerance=None) == answer_key("3", tolerance=None)
    True
    >>> len(answer_key(0.25, tolerance=0.01))
    16
    >>> answer_key(0.25, tolerance=0)
    Traceback (most recent call last):
    ...
    ValueError: tolerance must be a positive finite number or None, got 0
    """
    tolerance = _check_tolerance(tolerance)
    return _hash(_grid_words(value, tolerance)[0])


def _matches(answer, key, tolerance) -> bool:
    return any(_hash(word) == key for word in _grid_words(answer, tolerance))


def _check_key(key):
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValueError(f"key must be 16 hexadecimal digits from answer_key, got {key!r}")


def check_answer(answer, *, key: str, tolerance=None) -> None:
    """Say whether ``answer`` matches the solution, without showing the solution.

    Parameters
    ----------
    answer : float, int, str, bool or None
        The student's answer; ``None`` (the starter cell's placeholder) means not answered yet.
    key : str
        From :func:`answer_key` applied to the solution's value, typed into the starter cell.
    tolerance : float or None
        The same tolerance the key was made with (``None`` for a choice).

    Returns
    -------
    None
        It prints one line: right, not yet, or no answer yet. (It returns nothing, so that the
        starter cell, whose last line it is, shows that line and no echoed ``True``.)

    Raises
    ------
    TypeError, ValueError
        If ``key`` is not a key, or ``answer`` or ``tolerance`` is not of the right kind.

    Examples
    --------
    >>> key = answer_key("b", tolerance=None)
    >>> check_answer("B", key=key)
    Right: that is the solution's choice.
    >>> check_answer("a", key=key)
    Not yet: 'a' is not the solution's choice.
    >>> check_answer(0.3, key="not a key", tolerance=0.1)
    Traceback (most recent call last):
    ...
    ValueError: key must be 16 hexadecimal digits from answer_key, got 'not a key'
    """
    _check_key(key)
    tolerance = _check_tolerance(tolerance)
    if answer is None:
        print("No answer yet: set `answer` above and run this cell again.")
        return
    if isinstance(answer, np.generic):
        answer = answer.item()
    right = _matches(answer, key, tolerance)
    if tolerance is None:
        print(
            "Right: that is the solution's choice."
            if right
            else f"Not yet: {answer!r} is not the solution's choice."
        )
    else:
        print(
            f"Right: your answer is within the tolerance ({tolerance:g}) of the solution's value."
            if right
            else f"Not yet: {answer:g} is more than the tolerance ({tolerance:g}) from the "
            "solution's value."
        )


def verify_self_check(solution, *, wrong, key: str, tolerance=None) -> None:
    """Fail unless the self-check accepts the solution's value and rejects a wrong answer.

    A solution cell calls this with the value it computed and a plausible wrong answer (the one a
    student who made the exercise's typical mistake would give), so the book's build tests every
    self-check both ways.

    Parameters
    ----------
    solution : float, int, str or bool
        The value the solution computed.
    wrong : float, int, str or bool
        A plausible wrong answer, which the check must reject.
    key, tolerance
        As typed in the exercise's starter cell.

    Raises
    ------
    AssertionError
        If the check rejects ``solution`` (the key is stale: print a new one with
        :func:`answer_key`) or accepts ``wrong`` (the tolerance is too loose to tell them apart).

    Examples
    --------
    >>> key = answer_key(0.5, tolerance=0.1)
    >>> verify_self_check(0.52, wrong=0.55, key=key, tolerance=0.1)
    Traceback (most recent call last):
    ...
    AssertionError: the self-check accepts the wrong answer 0.55: make the tolerance smaller
    """
    _check_key(key)
    tolerance = _check_tolerance(tolerance)
    for value in (solution, wrong):
        if value is None:
            raise ValueError("solution and wrong must be answers, got None")
    solution = solution.item() if isinstance(solution, np.generic) else solution
    wrong = wrong.item() if isinstance(wrong, np.generic) else wrong
    if not _matches(solution, key, tolerance):
        raise AssertionError(
            f"the self-check rejects the solution's value {solution!r}: its key is stale; "
            f"the current key is {answer_key(solution, tolerance=tolerance)!r}"
        )
    if _matches(wrong, key, tolerance):
        raise AssertionError(
            f"the self-check accepts the wrong answer {wrong!r}: make the tolerance smaller"
        )
    print(f"Self-check verified: it accepts the solution's value and rejects {wrong!r}.")


def exercise_rng(rng, label: str) -> np.random.Generator:
    """Return a generator for one exercise, derived from the chapter's ``rng`` without using it.

    The chapter's generator is neither drawn from nor spawned (its state and its spawn counter
    are untouched), so removing the exercise's solution, as the student edition does, changes no
    other number in the chapter. Different labels give independent streams; the same label gives
    the same stream.

    Parameters
    ----------
    rng : numpy.random.Generator
        The chapter's one seeded generator (made with ``numpy.random.default_rng(SEED)``).
    label : str
        The exercise's label (``ex-...``), which names its stream.

    Raises
    ------
    TypeError
        If ``rng`` is not a Generator or ``label`` is not a non-empty string.
    ValueError
        If ``rng`` was not made from a seed sequence (so it has no seed to derive from).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(7)
    >>> before = rng.bit_generator.state
    >>> a = exercise_rng(rng, "ex-demo").random()
    >>> rng.bit_generator.state == before
    True
    >>> a == exercise_rng(np.random.default_rng(7), "ex-demo").random()
    True
    >>> a == exercise_rng(rng, "ex-other").random()
    False
    """
    check_generator(rng, "rng")
    if not isinstance(label, str) or not label:
        raise TypeError(f"label must be a non-empty string, got {label!r}")
    seed_seq = getattr(rng.bit_generator, "seed_seq", None)
    if not isinstance(seed_seq, np.random.SeedSequence):
        raise ValueError(f"rng must be made from a seed sequence, got {rng.bit_generator!r}")
    digest = hashlib.sha256(label.encode()).digest()
    words = tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))
    child = np.random.SeedSequence(
        entropy=seed_seq.entropy,
        spawn_key=(*seed_seq.spawn_key, _EXERCISE_BRANCH, *words),
        pool_size=seed_seq.pool_size,
    )
    return np.random.Generator(type(rng.bit_generator)(child))
