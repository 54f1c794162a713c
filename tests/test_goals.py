"""Tests of lib.worlds.goals: the frog world, goal models fitted by counting, the utility profile."""

import numpy as np
import pytest
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from lib.worlds.goals import (
    GOAL_HYPOTHESES,
    IS_DOT,
    IS_FLY,
    KINDS,
    FrogPolicy,
    FrogWorld,
    GoalModel,
    fit_frog,
    fit_frogs_by_descent,
    fit_goal_model,
    goal_indicator,
    log_likelihood,
    payoffs,
    profile_fly_share,
    sample_objects,
    sample_snaps,
)

NOISE = (0.2, 0.2)


def _frog_and_snaps(world, scale, seed, n=3_000):
    rng = np.random.default_rng(seed)
    kinds, cues = sample_objects(world, n, noise=NOISE, rng=rng)
    frog = fit_frog(cues, kinds, cue_scale=scale, penalty=1.0, beta=10.0, snap_cost=0.3)
    assert isinstance(frog, FrogPolicy)
    kinds, cues = sample_objects(world, n, noise=NOISE, rng=rng)
    return frog, kinds, cues, sample_snaps(frog.snap_probability(cues), rng=rng)


def test_kind_probabilities_sum_to_one_and_match_the_shares():
    world = FrogWorld(p_dot=0.3, pellet_share=0.2, pale_share=0.1)
    p = world.kind_probabilities()
    assert p.sum() == pytest.approx(1.0)
    assert p @ IS_DOT == pytest.approx(0.3)
    assert p[1] / (p[0] + p[1]) == pytest.approx(0.2)
    assert p[2] / (p[2] + p[3]) == pytest.approx(0.1)


def test_correlation_limits():
    assert FrogWorld(0.5, 0.0, 0.0).dot_fly_correlation() == pytest.approx(1.0)
    assert FrogWorld(0.5, 0.5, 0.5).dot_fly_correlation() == pytest.approx(0.0, abs=1e-12)
    # pellets and pale flies lower the correlation, whichever breaks the link
    assert FrogWorld(0.5, 0.1, 0.0).dot_fly_correlation() < 1.0


def test_sampled_kinds_match_the_world():
    world = FrogWorld(0.5, 0.2, 0.1)
    kinds, cues = sample_objects(world, 40_000, noise=(0.0, 0.0), rng=np.random.default_rng(3))
    shares = np.bincount(kinds, minlength=len(KINDS)) / kinds.size
    p = world.kind_probabilities()
    assert np.all(np.abs(shares - p) < 4 * np.sqrt(p * (1 - p) / kinds.size) + 1e-12)
    # with no noise the cues are the kinds' attributes
    assert np.array_equal(cues, np.column_stack([IS_DOT[kinds], IS_FLY[kinds]]))


def test_payoffs_of_ideal_goal_agents():
    kinds = np.arange(4)
    fly_snapper = payoffs(kinds, GOAL_HYPOTHESES["flies"], snap_cost=0.3)
    np.testing.assert_allclose(fly_snapper, [0.7, 0.0, 0.7, 0.0])
    dot_snapper = payoffs(kinds, GOAL_HYPOTHESES["black dots"], snap_cost=0.3)
    np.testing.assert_allclose(dot_snapper, [0.7, -0.3, 0.0, 0.0])


def test_goal_model_by_counting_equals_logistic_regression_on_one_binary_input():
    rng = np.random.default_rng(5)
    kinds = rng.integers(0, 4, 2_000)
    snaps = (rng.random(2_000) < np.array([0.9, 0.6, 0.3, 0.1])[kinds]).astype(int)
    for goal in GOAL_HYPOTHESES:
        model = fit_goal_model(goal, kinds, snaps)
        assert isinstance(model, GoalModel)
        indicator = goal_indicator(goal, kinds)
        reference = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000)
        reference.fit(indicator[:, None].astype(float), snaps)
        fitted = reference.predict_proba(np.array([[1.0], [0.0]]))[:, 1]
        # counting adds half a snap to each group; the difference is O(1/n) per group
        n_goal = indicator.sum()
        n_rest = indicator.size - n_goal
        assert abs(model.snap_at_goal - fitted[0]) < 1 / n_goal
        assert abs(model.snap_elsewhere - fitted[1]) < 1 / n_rest
        # beta and cost reproduce the two probabilities
        assert expit(model.beta * (1 - model.cost)) == pytest.approx(model.snap_at_goal)
        assert expit(-model.beta * model.cost) == pytest.approx(model.snap_elsewhere)


def test_goal_hypotheses_tie_exactly_without_breaks():
    # Fodor's limit: with no pellets and no pale flies every goal groups objects alike
    _, kinds, _, snaps = _frog_and_snaps(FrogWorld(0.5, 0.0, 0.0), (1.0, 0.2), seed=7)
    scores = [
        log_likelihood(snaps, fit_goal_model(g, kinds, snaps).snap_probability(kinds))
        for g in GOAL_HYPOTHESES
    ]
    for score in scores[1:]:
        np.testing.assert_array_equal(score, scores[0])


def test_cue_units_set_which_cue_a_frog_leans_on():
    world = FrogWorld(0.5, 0.001, 0.001)
    eye, *_ = _frog_and_snaps(world, (1.0, 0.2), seed=11)
    buzz, *_ = _frog_and_snaps(world, (0.2, 1.0), seed=11)
    assert eye.cue_weights()[0] > 3 * eye.cue_weights()[1]
    assert buzz.cue_weights()[1] > 3 * buzz.cue_weights()[0]
    pellet = np.array([[1.0, 0.0]])
    assert eye.snap_probability(pellet)[0] > 0.9 > 0.2 > buzz.snap_probability(pellet)[0]


def test_a_frog_trained_on_another_goal_follows_it_where_the_link_is_broken():
    rng = np.random.default_rng(4)
    kinds, cues = sample_objects(FrogWorld(0.5, 0.5, 0.5), 2_000, noise=(0.2, 0.2), rng=rng)
    pellet, pale_fly = [[1.0, 0.0]], [[0.0, 1.0]]
    options = dict(cue_scale=(1, 1), penalty=1.0, beta=10.0, snap_cost=0.3)
    dots = fit_frog(cues, kinds, target="black dots", **options)
    flies = fit_frog(cues, kinds, **options)
    assert dots.food_probability(pellet)[0] > 0.9 > dots.food_probability(pale_fly)[0]
    assert flies.food_probability(pale_fly)[0] > 0.9 > flies.food_probability(pellet)[0]
    with pytest.raises(ValueError, match="target must be one of"):
        fit_frog(cues, kinds, target="frogs", **options)


def test_profile_endpoints_are_the_goals_flies_and_black_dots():
    _, kinds, _, snaps = _frog_and_snaps(FrogWorld(0.5, 0.2, 0.2), (1.0, 1.0), seed=13)
    profile = profile_fly_share(kinds, snaps, [0.0, 1.0])
    for value, goal in zip(profile, ("black dots", "flies")):
        indicator = goal_indicator(goal, kinds)
        rates = np.array([snaps[indicator == g].mean() for g in (0, 1)])
        exact = log_likelihood(snaps, rates[indicator]).sum()
        assert value == pytest.approx(exact, abs=1e-6)


def test_profile_is_flat_when_dots_and_flies_coincide():
    _, kinds, _, snaps = _frog_and_snaps(FrogWorld(0.5, 0.0, 0.0), (1.0, 0.2), seed=17)
    profile = profile_fly_share(kinds, snaps, np.linspace(0, 1, 5))
    assert np.ptp(profile) < 1e-6


def test_profile_peaks_at_the_frogs_own_cue_where_the_link_is_broken():
    world = FrogWorld(0.5, 0.5, 0.5)
    shares = np.linspace(0, 1, 11)
    _, kinds, _, snaps = _frog_and_snaps(world, (0.2, 1.0), seed=19)
    assert shares[np.argmax(profile_fly_share(kinds, snaps, shares))] > 0.5


def test_log_likelihood_of_certain_wrong_prediction_is_minus_infinity():
    assert log_likelihood([1], [0.0])[0] == -np.inf
    assert log_likelihood([0], [0.0])[0] == 0.0


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: FrogWorld(p_dot=1.0), ValueError, "p_dot must be in"),
        (lambda: FrogWorld(pellet_share=1.5), ValueError, "pellet_share must be in"),
        (
            lambda: sample_objects("pond", 3, noise=NOISE, rng=np.random.default_rng(0)),
            TypeError,
            "world must be a FrogWorld",
        ),
        (
            lambda: sample_objects(FrogWorld(), 3, noise=(0.1,), rng=np.random.default_rng(0)),
            ValueError,
            "noise must be two",
        ),
        (lambda: sample_objects(FrogWorld(), 3, noise=NOISE, rng=0), TypeError, "rng must be"),
        (lambda: payoffs([0, 5], [1, 1], snap_cost=0.3), ValueError, "kinds must index KINDS"),
        (lambda: payoffs([0, 1], [1], snap_cost=0.3), ValueError, "snaps must match kinds"),
        (lambda: goal_indicator("food", [0]), ValueError, "goal must be one of"),
        (lambda: fit_goal_model("flies", [0, 1], [1, 2]), ValueError, "snaps must hold only"),
        (
            lambda: fit_frog(
                np.zeros((2, 2)), [0, 1], cue_scale=(1, 0), penalty=1.0, beta=1.0, snap_cost=0.3
            ),
            ValueError,
            "cue_scale must be two positive",
        ),
        (
            lambda: fit_frog(
                np.zeros((2, 2)), [0, 1], cue_scale=(1, 1), penalty=0.0, beta=1.0, snap_cost=0.3
            ),
            ValueError,
            "penalty must be positive",
        ),
        (
            lambda: fit_frog(
                np.zeros((3, 2)), [0, 1], cue_scale=(1, 1), penalty=1.0, beta=1.0, snap_cost=0.3
            ),
            ValueError,
            "cues must have shape",
        ),
        (lambda: profile_fly_share([0, 3], [1, 1], [0.5]), ValueError, "both snaps and non-snaps"),
        (lambda: profile_fly_share([0, 3], [1, 0], [1.5]), ValueError, "shares must be in"),
        (lambda: log_likelihood([1, 0], [0.5]), ValueError, "probabilities must match snaps"),
    ],
)
def test_bad_inputs_raise(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_weighted_logistic_gradient_matches_finite_differences():
    from scipy.optimize import check_grad

    from lib.worlds.goals import _negative_log_likelihood

    attribute = np.array([0.0, 0.3, 0.7, 1.0, 0.0, 1.0])
    snaps = np.array([0, 0, 1, 1, 1, 0])
    counts = np.array([40.0, 3.0, 5.0, 30.0, 2.0, 1.0])
    for params in ([0.0, 0.0], [2.5, -1.0], [-4.0, 3.0]):
        error = check_grad(
            lambda p: _negative_log_likelihood(p, attribute, snaps, counts)[0],
            lambda p: _negative_log_likelihood(p, attribute, snaps, counts)[1],
            np.array(params),
        )
        assert error < 1e-4


def test_fit_frog_matches_scikit_learn():
    # fit_frog minimises LogisticRegression(C=penalty)'s objective by Newton's method; its
    # weights agree with scikit-learn's (tol=1e-12) to well below anything a chapter prints
    rng = np.random.default_rng(3)
    for index, target in enumerate(("flies", "black dots", "flies or black dots", "flies")):
        kinds, cues = sample_objects(FrogWorld(), 300 + 400 * index, noise=(0.3, 0.6), rng=rng)
        scale = np.array([1.0, 0.3]) if index % 2 else np.array([0.4, 1.0])
        frog = fit_frog(
            cues, kinds, cue_scale=scale, penalty=0.5 + index, beta=10.0, snap_cost=0.3,
            target=target,
        )  # fmt: skip
        model = LogisticRegression(C=0.5 + index, tol=1e-12, max_iter=10_000)
        model.fit(cues * scale, goal_indicator(target, kinds))
        np.testing.assert_allclose(frog.coef, model.coef_, rtol=0, atol=1e-6)
        np.testing.assert_allclose(frog.intercept, model.intercept_, rtol=0, atol=1e-6)
        np.testing.assert_allclose(
            frog.food_probability(cues), model.predict_proba(cues * scale)[:, 1], atol=1e-7
        )
    # the ends of the penalty range that the chapter's population of learners draws (C from 0.01
    # to 10), in a pond with cues as clean as the chapter's
    for penalty in (0.01, 10.0):
        kinds, cues = sample_objects(FrogWorld(0.5, 0.001, 0.3), 2_000, noise=(0.2, 0.2), rng=rng)
        frog = fit_frog(
            cues, kinds, cue_scale=(3.0, 0.3), penalty=penalty, beta=10.0, snap_cost=0.3
        )  # fmt: skip
        model = LogisticRegression(C=penalty, tol=1e-12, max_iter=10_000)
        model.fit(cues * np.array([3.0, 0.3]), goal_indicator("flies", kinds))
        np.testing.assert_allclose(frog.coef, model.coef_, rtol=0, atol=1e-6)
        np.testing.assert_allclose(frog.intercept, model.intercept_, rtol=0, atol=1e-6)


def test_fit_frog_reaches_a_stationary_point_of_the_penalised_loss():
    # the gradient of LogisticRegression(C)'s objective vanishes at the fitted weights
    rng = np.random.default_rng(4)
    kinds, cues = sample_objects(FrogWorld(0.5, 0.01, 0.02), 2_000, noise=(0.2, 0.2), rng=rng)
    for penalty in (0.01, 1.0, 10.0):
        frog = fit_frog(
            cues, kinds, cue_scale=(1.0, 0.2), penalty=penalty, beta=10.0, snap_cost=0.3
        )
        inputs, labels = cues * np.array([1.0, 0.2]), goal_indicator("flies", kinds)
        residual = frog.food_probability(cues) - labels
        gradient = inputs.T @ residual / len(labels) + frog.coef[0] / (penalty * len(labels))
        assert np.abs(gradient).max() < 1e-10
        assert abs(residual.mean()) < 1e-10


def test_fit_frog_needs_both_labels():
    kinds = np.zeros(20, dtype=int)  # flies only
    with pytest.raises(ValueError, match="some of goal 'flies' and some others"):
        fit_frog(np.zeros((20, 2)), kinds, cue_scale=(1, 1), penalty=1.0, beta=1.0, snap_cost=0.3)


def test_frogs_by_descent_reach_fit_frog_from_zero_and_differ_from_random_starts():
    # from a zero start and with enough steps, gradient descent reaches fit_frog's optimum (the
    # same objective); with a random start and few steps the frogs keep part of their start
    rng = np.random.default_rng(4)
    kinds, cues = sample_objects(FrogWorld(0.5, 0.05, 0.05), 400, noise=(0.2, 0.2), rng=rng)
    scales = np.array([[1.5, 0.7], [0.8, 1.2]])
    penalties = np.array([0.5, 3.0])
    stacked = dict(cue_scales=scales, penalties=penalties, beta=10.0, snap_cost=0.3)
    frogs = fit_frogs_by_descent(
        np.stack([cues, cues]),
        np.stack([kinds, kinds]),
        **stacked,
        steps=20_000,
        learning_rate=1.0,
        init_sd=0.0,
        rng=rng,
    )
    for frog, scale, c in zip(frogs, scales, penalties):
        exact = fit_frog(cues, kinds, cue_scale=scale, penalty=c, beta=10.0, snap_cost=0.3)
        assert np.allclose(frog.coef, exact.coef, atol=1e-3)
        assert np.allclose(frog.intercept, exact.intercept, atol=1e-3)
    starts = [
        fit_frogs_by_descent(
            np.stack([cues, cues]),
            np.stack([kinds, kinds]),
            **stacked,
            steps=30,
            learning_rate=0.5,
            init_sd=2.0,
            rng=np.random.default_rng(seed),
        )[0].coef
        for seed in (1, 2)
    ]
    assert np.abs(starts[0] - starts[1]).max() > 0.1
    for bad, message in (
        (dict(steps=0), "steps must be a positive integer"),
        (dict(init_sd=-1.0), "init_sd must be non-negative"),
        (dict(learning_rate=0.0), "learning_rate must be positive"),
    ):
        with pytest.raises(ValueError, match=message):
            fit_frogs_by_descent(
                cues[None],
                kinds[None],
                cue_scales=scales[:1],
                penalties=penalties[:1],
                beta=10.0,
                snap_cost=0.3,
                **(dict(steps=5, learning_rate=0.5, init_sd=1.0) | bad),
                rng=rng,
            )
    with pytest.raises(ValueError, match="cues must have shape"):
        fit_frogs_by_descent(
            cues,
            kinds,
            cue_scales=scales[:1],
            penalties=penalties[:1],
            beta=10.0,
            snap_cost=0.3,
            steps=5,
            learning_rate=0.5,
            init_sd=1.0,
            rng=rng,
        )
