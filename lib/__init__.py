"""Helpers for the book *How Models Generalize: Executable Essays*.

Modules are named for the concepts they model; chapters import what they need, e.g.
``from lib import house_style, decorate, claim_close, require``. Importing this package changes no global
settings (matplotlib's included) and draws no random numbers.
"""

from .evidence.claims import (
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
from .evidence.estimation import (
    Estimate,
    estimate_difference,
    estimate_mean,
    estimate_proportion,
    fit_growth_exponent,
    replicates_for_power,
    standard_error,
)
from .evidence.plotting import PALETTE, decorate, house_style
from .evidence.validation import (
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
    "claim_close",
    "claim_control",
    "claim_effect",
    "check_finite",
    "check_generator",
    "claim_greater",
    "check_in_range",
    "claim_less",
    "check_positive_int",
    "check_probability",
    "check_probability_vector",
    "collect_checks",
    "decorate",
    "estimate_difference",
    "estimate_mean",
    "estimate_proportion",
    "fit_growth_exponent",
    "house_style",
    "read_checks",
    "replicates_for_power",
    "require",
    "sanity_check",
    "standard_error",
]
