"""Units for Q4's printed tables and report text: bytes, milliseconds, shapes."""

from __future__ import annotations

from collections.abc import Sequence


def bytes_text(n: float) -> str:
    """``251,658,240`` -> ``"240.0 MiB"`` (binary units)."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n:,.0f} B"


def ms_text(seconds: float | None) -> str:
    """Seconds as ``"0.236 ms"``; ``None`` (a dense layer too large to build) as ``"not built"``."""
    return "not built" if seconds is None else f"{seconds * 1e3:.3f} ms"


def shape_text(shape: Sequence[int], sep: str = "\u00d7") -> str:
    """``[16, 13, 54]`` -> ``"16×13×54"``."""
    return sep.join(str(s) for s in shape)
