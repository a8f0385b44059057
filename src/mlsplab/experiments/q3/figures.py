"""Every Q3 figure, drawn at report time from ``metrics.json`` values (SVG, print size).

Each function takes the measurements it plots and a path, draws with the project's one
matplotlib setup (:mod:`mlsplab.plotting`) and returns the path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mlsplab.plotting import TEXT_WIDTH_IN, new_figure, save_figure


def loss_curves(path: Path, docs: dict[str, dict[str, Any]]) -> Path:
    """Training (left) and validation (right) loss per epoch: mean over seeds, with the
    range over seeds shaded; a panel is on a log scale when its losses span more than two
    decades.

    Parameters
    ----------
    docs : dict
        Label -> a single-configuration metrics document (``mean_curves``).
    """
    fig, axes = new_figure(TEXT_WIDTH_IN, 2.6, ncols=2)
    values: dict[int, list[float]] = {0: [], 1: []}
    for label, doc in docs.items():
        c = doc["mean_curves"]
        for i, (ax, key) in enumerate(zip(axes, ("train_loss", "val_loss"))):
            line, = ax.plot(c["epoch"], c[key], lw=1.4, label=label)
            ax.fill_between(c["epoch"], c[f"{key}_min"], c[f"{key}_max"],
                            color=line.get_color(), alpha=0.15, lw=0)
            values[i] += [v for v in c[f"{key}_min"] + c[f"{key}_max"] if np.isfinite(v)]
    for i, ax in enumerate(axes):  # each panel on its own scale: log where it spans decades
        positive = [v for v in values[i] if v > 0]
        if positive and max(positive) / min(positive) > 100:
            ax.set_yscale("log")
    for ax, what in zip(axes, ("training loss", "validation loss")):
        ax.set_xlabel("epoch")
        ax.set_title(what)
    axes[0].set_ylabel("cross-entropy (mean over seeds)")
    axes[1].set_ylabel("cross-entropy")
    # beside the panels, never over the curves
    axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    return save_figure(fig, path)


def confusion(path: Path, matrix: list[list[int]], names: list[str], *, label: str) -> Path:
    """A confusion matrix with its counts (rows: true class, columns: predicted)."""
    cm = np.asarray(matrix)
    fig, ax = new_figure(0.7 * TEXT_WIDTH_IN, 0.62 * TEXT_WIDTH_IN)
    im = ax.imshow(cm, cmap="Blues")
    ax.grid(False)
    ax.set_xticks(range(len(names)), [n.replace("_", " ") for n in names], rotation=45,
                  ha="right")
    ax.set_yticks(range(len(names)), [n.replace("_", " ") for n in names])
    for (r, c), v in np.ndenumerate(cm):
        if v:
            ax.text(c, r, str(v), ha="center", va="center", fontsize=8,
                    color="white" if v > cm.max() / 2 else "black")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    from matplotlib.ticker import MaxNLocator

    fig.colorbar(im, ax=ax, label=label, shrink=0.8, ticks=MaxNLocator(integer=True))
    return save_figure(fig, path)


def accuracy_bars(path: Path, rows: list[tuple[str, float, float | None, list[float]]], *,
                  xlabel: str = "test accuracy (%)",
                  references: list[tuple[str, float]] = ()) -> Path:
    """Horizontal bars: mean (± std) per row, each seed's or fold's value as a dot.

    Parameters
    ----------
    rows : list of (label, mean, std or None, individual values), fractions in [0, 1]
    references : list of (label, fraction)
        Vertical dashed lines, e.g. published results.
    """
    fig, ax = new_figure(TEXT_WIDTH_IN, 0.3 * len(rows) + 1.1 + 0.3 * bool(references))
    y = np.arange(len(rows))
    means = [100 * r[1] for r in rows]
    errs = [100 * r[2] if r[2] is not None else 0 for r in rows]
    ax.barh(y, means, xerr=errs, capsize=3, color="tab:blue", alpha=0.55,
            label="mean \u00b1 std")
    for i, (_, _, _, values) in enumerate(rows):
        ax.plot([100 * v for v in values], [i] * len(values), "o", ms=3.5, color="black",
                label="individual runs" if i == 0 else None)
        ax.text(101, i, f"{means[i]:.1f}", va="center", fontsize=8)
    styles = ("--", ":", "-.")
    colors = ("tab:red", "tab:purple", "tab:green")
    for i, (label, value) in enumerate(references):  # labelled in the legend, not on the plot
        ax.axvline(100 * value, ls=styles[i % 3], lw=1.2, color=colors[i % 3], label=label)
    ax.set_yticks(y, [r[0] for r in rows])
    ax.set_xlim(0, 108)
    ax.set_xlabel(xlabel)
    ax.invert_yaxis()
    ax.legend(fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, frameon=False)
    return save_figure(fig, path)
