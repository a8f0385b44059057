"""The choice of a linear model's regularisation strength on validation: the one-standard-error
rule.

Taking the C of the highest validation accuracy lets one review decide between neighbouring
values of the grid whose accuracies differ by less than their noise: float32 features rounded
by another CPU's SIMD code path, or a solver stopped at its tolerance, moves a review or two
across the boundary and flips the choice (docs/sentiment.md). The rule here (Hastie,
Tibshirani & Friedman, *The Elements of Statistical Learning*, 2nd ed., section 7.10) takes the
strongest regularisation, the smallest C, whose validation accuracy is within one standard
error of the best, ``sqrt(p (1 - p) / n)`` for the best accuracy ``p`` on ``n`` reviews. Counts
of correct reviews are compared, not floats, so the rule has no rounding of its own.
"""

from __future__ import annotations

import math
from typing import Any

RULE = "one-standard-error"
RULE_TEXT = ("the smallest C whose validation accuracy is within one standard error "
             "sqrt(p(1-p)/n) of the best accuracy p on the n validation reviews")


def one_standard_error_choice(n_correct: dict[float, int], n_val: int) -> dict[str, Any]:
    """Choose C by the one-standard-error rule.

    Parameters
    ----------
    n_correct : dict
        C -> number of validation reviews the model fitted with that C gets right.
    n_val : int > 0
        Number of validation reviews.

    Returns
    -------
    dict
        ``chosen_c``; ``rule`` (:data:`RULE`); ``best_c`` (the C of the highest accuracy, ties
        to the smaller C: the old rule), ``best_val_accuracy``; ``standard_error`` (a
        fraction); ``threshold_reviews`` (the number of correct reviews a C needs);
        ``margin_reviews``: how far, in reviews, the candidate closest to the threshold sits
        from it (a change in validation smaller than this cannot change the choice, unless it
        moves the best accuracy itself).

    Examples
    --------
    >>> one_standard_error_choice({1.0: 911, 4.0: 917, 16.0: 920}, 1000)["chosen_c"]
    4.0
    """
    if not n_correct or n_val <= 0:
        raise ValueError(f"need validation counts and n_val > 0, got {n_correct!r}, {n_val}")
    grid = sorted(n_correct)
    best_c = max(grid, key=lambda c: (n_correct[c], -c))
    p = n_correct[best_c] / n_val
    se_reviews = math.sqrt(n_val * p * (1.0 - p))  # = n * sqrt(p (1 - p) / n)
    threshold = n_correct[best_c] - se_reviews
    chosen = next(c for c in grid if n_correct[c] >= threshold)
    return {"rule": RULE, "chosen_c": chosen, "best_c": best_c, "best_val_accuracy": p,
            "standard_error": se_reviews / n_val, "threshold_reviews": threshold,
            "margin_reviews": min(abs(n_correct[c] - threshold) for c in grid)}
