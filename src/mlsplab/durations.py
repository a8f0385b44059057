"""Human-readable durations for progress lines and reports."""

from __future__ import annotations


def format_duration(seconds: float | None) -> str:
    """``3725.0`` -> ``'1h02m'``, ``65.2`` -> ``'1m05s'``, ``2.34`` -> ``'2.3s'``,
    ``None`` -> ``'?'``."""
    if seconds is None:
        return "?"
    if seconds < 10:
        return f"{seconds:.1f}s"
    seconds = round(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"
