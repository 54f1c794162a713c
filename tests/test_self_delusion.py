"""Tests of lib.worlds.self_delusion: the closed-form posteriors, the simulator, and bad inputs."""

import numpy as np
import pytest
from scipy.special import expit

from lib.worlds.self_delusion import (
    EXPERTS,
    BanditWorld,
    Rollouts,
    expert_probability_arm_zero,
    log_odds_arm_zero,
    policy_probability_arm_zero,
    roll_out,
    settled_on_best,
)

WORLD = BanditWorld(p_good=0.7, p_bad=0.2, noise=0.3)


def _brute_force_log_odds(counts, world, actions_as_evidence):
    # Bayes' rule by enumeration of theta, from the likelihood of each event.
    s0, f0, s1, f1 = counts
    log_lik = []
    for theta in (0, 1):
        p0 = world.p_good if theta == 0 else world.p_bad
        p1 = world.p_bad if theta == 0 else world.p_good
        value = s0 * np.log(p0) + f0 * np.log(1 - p0) + s1 * np.log(p1) + f1 * np.log(1 - p1)
        if actions_as_evidence:
            choose0 = 1 - world.noise / 2 if theta == 0 else world.noise / 2
            value += (s0 + f0) * np.log(choose0) + (s1 + f1) * np.log(1 - choose0)
        log_lik.append(value)
    return log_lik[0] - log_lik[1]


@pytest.mark.parametrize("evidence", [True, False])
def test_log_odds_match_bayes_by_enumeration(evidence):
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 6, size=(20, 4))
    got = log_odds_arm_zero(counts, world=WORLD, actions_as_evidence=evidence)
    want = [_brute_force_log_odds(c, WORLD, evidence) for c in counts]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_interventional_log_odds_ignore_pulls_without_rewards_difference():
    # Pulling arm 0 ten times with the base rate of successes of neither arm changes nothing
    # only under evidence; without it, the same rewards on either arm give symmetric odds.
    same = log_odds_arm_zero([[3, 2, 3, 2]], world=WORLD, actions_as_evidence=False)
    assert same[0] == 0.0
    more_pulls = log_odds_arm_zero([[3, 2, 0, 0]], world=WORLD, actions_as_evidence=True)
    fewer = log_odds_arm_zero([[3, 2, 0, 0]], world=WORLD, actions_as_evidence=False)
    assert more_pulls[0] > fewer[0]


def test_expert_probabilities():
    p = expert_probability_arm_zero([[0, 0, 0, 0]] * 2, [0, 1], world=WORLD, expert="informed")
    np.testing.assert_allclose(p, [0.85, 0.15])
    counts = [[4, 0, 0, 4]]
    p = expert_probability_arm_zero(counts, [1], world=WORLD, expert="uninformed")
    belief = expit(log_odds_arm_zero(counts, world=WORLD, actions_as_evidence=False))
    np.testing.assert_allclose(p, 0.7 * belief + 0.15)


def test_simulated_expert_pulls_best_arm_at_its_rate():
    runs = roll_out(
        WORLD,
        actor="expert",
        expert="informed",
        n_episodes=2000,
        horizon=20,
        rng=np.random.default_rng(1),
    )
    share = (runs.actions == runs.theta[:, None]).mean()
    se = np.sqrt(0.85 * 0.15 / runs.actions.size)
    assert abs(share - 0.85) < 4 * se
    # The counts add up to the pulls made before each step.
    assert np.all(runs.counts.sum(axis=2) == np.arange(20))


def test_success_rates_match_the_world():
    runs = roll_out(
        WORLD,
        actor="interventional Bayes",
        expert="informed",
        n_episodes=2000,
        horizon=10,
        rng=np.random.default_rng(2),
    )
    final = runs.counts[:, -1]
    good = np.where(runs.theta == 0, final[:, 0], final[:, 2]).sum()
    good_pulls = np.where(runs.theta == 0, final[:, 0] + final[:, 1], final[:, 2] + final[:, 3])
    rate = good / good_pulls.sum()
    assert abs(rate - 0.7) < 4 * np.sqrt(0.21 / good_pulls.sum())


def test_delusional_bayes_locks_in_and_thompson_does_not():
    # Ortega et al.'s point in its closed form: counting one's own pulls as evidence leaves the
    # first random choice in charge; sampling from the interventional posterior learns.
    kwargs = dict(expert="informed", n_episodes=600, horizon=80)
    deluded = roll_out(
        BanditWorld(), actor="delusional Bayes", rng=np.random.default_rng(3), **kwargs
    )
    thompson = roll_out(
        BanditWorld(), actor="interventional Bayes", rng=np.random.default_rng(4), **kwargs
    )
    assert settled_on_best(deluded, last=20).mean() < 0.65
    assert settled_on_best(thompson, last=20).mean() > 0.85


def test_posterior_sampling_has_no_random_floor_and_less_regret_late():
    counts = np.array([[40, 20, 20, 40]])  # strong evidence for arm 0
    pure = policy_probability_arm_zero("posterior sampling", counts, world=WORLD)
    mixed = policy_probability_arm_zero("interventional Bayes", counts, world=WORLD)
    assert pure[0] > 0.999 and abs(mixed[0] - (1 - WORLD.noise / 2)) < 1e-3
    kwargs = dict(expert="informed", n_episodes=400, horizon=400)
    runs = {
        name: roll_out(BanditWorld(), actor=name, rng=np.random.default_rng(seed), **kwargs)
        for name, seed in (("posterior sampling", 5), ("interventional Bayes", 6))
    }
    late = {
        name: r.regret(BanditWorld())[-1] - r.regret(BanditWorld())[199] for name, r in runs.items()
    }
    assert late["posterior sampling"] < late["interventional Bayes"]


def test_policy_accepts_a_fitted_classifier():
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[1, 0, 0, 0], [0, 0, 1, 0]] * 5, [1, 0] * 5)
    p = policy_probability_arm_zero(model, [[1, 0, 0, 0]], world=WORLD)
    assert p.shape == (1,) and p[0] > 0.5


def test_regret_counts_bad_pulls():
    runs = Rollouts(np.array([0]), np.zeros((1, 3, 4)), np.array([[1, 0, 1]]), np.zeros((1, 3)))
    np.testing.assert_allclose(runs.regret(WORLD), [0.5, 0.5, 1.0])


def test_bad_inputs():
    with pytest.raises(ValueError, match="noise must be in"):
        BanditWorld(noise=0.0)
    with pytest.raises(ValueError, match="counts must have shape"):
        log_odds_arm_zero([1, 2, 3, 4], world=WORLD, actions_as_evidence=True)
    with pytest.raises(TypeError, match="actions_as_evidence"):
        log_odds_arm_zero([[0, 0, 0, 0]], world=WORLD, actions_as_evidence=1)
    with pytest.raises(ValueError, match="expert must be one of"):
        expert_probability_arm_zero([[0, 0, 0, 0]], [0], world=WORLD, expert="oracle")
    with pytest.raises(ValueError, match="theta must hold"):
        expert_probability_arm_zero([[0, 0, 0, 0]], [2], world=WORLD, expert="informed")
    with pytest.raises(ValueError, match="policy must be"):
        policy_probability_arm_zero("greedy", [[0, 0, 0, 0]], world=WORLD)
    with pytest.raises(TypeError, match="policy must be a fitted"):
        policy_probability_arm_zero(3, [[0, 0, 0, 0]], world=WORLD)
    runs = Rollouts(np.array([0]), np.zeros((1, 3, 4)), np.zeros((1, 3), int), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="last must be at most"):
        settled_on_best(runs, last=4)


def test_expert_labels_on_a_learners_histories_follow_the_interventional_posterior():
    # Why teaching on the learner's own histories removes the delusion: the learner's pulls
    # depend on theta only through past rewards, so the informed expert's labels there are
    # predicted by the posterior with the pulls as interventions, not by the one that counts
    # them as evidence. Signed towards the delusional predictor, the labels' residual from the
    # interventional one is zero within sampling error, far below the predictors' gap.
    runs = roll_out(
        BanditWorld(),
        actor="interventional Bayes",
        expert="informed",
        n_episodes=400,
        horizon=40,
        rng=np.random.default_rng(5),
    )
    counts, labels = runs.training_data()
    do = policy_probability_arm_zero("interventional Bayes", counts, world=BanditWorld())
    obs = policy_probability_arm_zero("delusional Bayes", counts, world=BanditWorld())
    towards = np.sign(obs - do)
    per_episode = ((labels - do) * towards).reshape(400, 40).mean(axis=1)  # independent
    se = per_episode.std(ddof=1) / np.sqrt(400)
    gap = np.abs(obs - do).mean()
    assert abs(per_episode.mean()) < 4 * se
    assert gap > 10 * se


@pytest.mark.parametrize("expert", EXPERTS)
def test_each_named_expert_gives_a_probability(expert):
    p = expert_probability_arm_zero([[0, 0, 0, 0]], [0], world=BanditWorld(), expert=expert)
    assert np.all((0 <= np.asarray(p)) & (np.asarray(p) <= 1))
