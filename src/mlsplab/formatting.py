"""The one set of number formatters for printed tables and the report."""

from __future__ import annotations

import math
from typing import Any


def percent(value: Any, std: Any = None, *, digits: int = 1) -> str:
    """A fraction in [0, 1] as ``'72.1 %'``, or ``'72.1 ± 2.6 %'`` with a standard deviation;
    ``'—'`` for a missing or non-finite value."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return "\u2014"
    text = f"{100 * value:.{digits}f}"
    if isinstance(std, (int, float)) and not isinstance(std, bool) and math.isfinite(std):
        text += f" \u00b1 {100 * std:.{digits}f}"
    return text + " %"


def points(difference: float, *, digits: int = 1) -> str:
    """A difference of two fractions in percentage points, signed: ``'+1.6 points'``."""
    return f"{100 * difference:+.{digits}f} points"


def count(n: int, noun: str) -> str:
    """``n`` and the noun, plural unless ``n`` is 1: ``count(3, 'seed') == '3 seeds'``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
