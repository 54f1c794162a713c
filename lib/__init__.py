"""Helpers for the book *How Models Generalize: Executable Essays*.

Modules are named for the concepts they model; chapters import what they need, e.g.
``from lib import house_style, decorate, check_close``. Importing this package changes no global
settings (matplotlib's included) and draws no random numbers.
"""

from .causal_strategies import (
    associational_choices,
    choice_rewards,
    episode_features,
    expert_choices,
    sample_worlds,
    simulate_interventions,
    simulate_observational,
    total_effects,
)
from .claims import CHECK_METADATA_KEY, Check, check_close, check_greater, check_less, collect_checks, read_checks
from .estimation import Estimate, estimate_mean, estimate_proportion
from .plotting import PALETTE, decorate, house_style
from .validation import (
    check_finite,
    check_generator,
    check_in_range,
    check_positive_int,
    check_probability,
    check_probability_vector,
)

__all__ = [
    "CHECK_METADATA_KEY",
    "Check",
    "Estimate",
    "PALETTE",
    "associational_choices",
    "check_close",
    "check_finite",
    "check_generator",
    "check_greater",
    "check_in_range",
    "check_less",
    "check_positive_int",
    "check_probability",
    "check_probability_vector",
    "choice_rewards",
    "collect_checks",
    "decorate",
    "episode_features",
    "estimate_mean",
    "estimate_proportion",
    "expert_choices",
    "house_style",
    "read_checks",
    "sample_worlds",
    "simulate_interventions",
    "simulate_observational",
    "total_effects",
]
