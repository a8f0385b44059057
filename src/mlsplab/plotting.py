"""The one place that sets up matplotlib: headless backend, a style readable at print size,
and atomic saving. Every figure of the project (built at report time from measurements) uses
:func:`new_figure` and :func:`save_figure`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: figures go to files only

import matplotlib.pyplot as plt  # only after the backend is chosen

from mlsplab.io import atomic_write

# Sizes in inches and points for an A4 page with ~6.3 in of text width: at print size every
# label is at least 8 pt.
TEXT_WIDTH_IN = 6.3
STYLE: dict[str, Any] = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "none",  # SVG text stays text (searchable, sharp)
}


def new_figure(width: float = TEXT_WIDTH_IN, height: float = 3.6, *, nrows: int = 1,
               ncols: int = 1, **kwargs: Any) -> tuple[Any, Any]:
    """A figure of ``width`` x ``height`` inches in the project's style, and its axes."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), **kwargs)
    return fig, axes


def save_figure(fig: Any, path: str | Path) -> Path:
    """Save ``fig`` atomically (format from the suffix: .svg, .png, .pdf) and close it."""
    path = Path(path)
    with plt.rc_context(STYLE):
        fig.tight_layout()
        fmt = path.suffix.lstrip(".")
        # no creation date in SVG/PDF metadata: a rebuilt report is byte-identical
        metadata = {"Date": None} if fmt in ("svg", "pdf") else None
        atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, metadata=metadata))
    plt.close(fig)
    return path
