"""The shared number formatters of tables and report prose."""

from __future__ import annotations

import math

from mlsplab.formatting import count, percent, points


def test_percent_with_and_without_std() -> None:
    assert percent(0.7213) == "72.1 %"
    assert percent(0.7213, 0.026, digits=2) == "72.13 ± 2.60 %"
    assert percent(None) == percent(math.nan) == percent(True) == "\u2014"


def test_points_are_signed() -> None:
    assert points(0.016) == "+1.6 points"
    assert points(-0.0152, digits=2) == "-1.52 points"


def test_count_is_plural_unless_one() -> None:
    assert count(1, "seed") == "1 seed"
    assert count(3, "seed") == "3 seeds"
    assert count(0, "seed") == "0 seeds"
    assert count(40000, "review") == "40,000 reviews"
