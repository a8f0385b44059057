"""Q4's figures, drawn at report time from q4-conv-dense/metrics.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from mlsplab.plotting import TEXT_WIDTH_IN, new_figure, save_figure

MAX_NAMED_IDS = 10  # up to this many shared weights: one named colour each, with a legend
MAX_TICK_LABELS = 40  # label every row/column with its (channel, position) up to this size


def _index_labels(n_channels: int, height: int, width: int) -> list[str]:
    """``"c,r,t"`` for every flattened index ``(c * height + r) * width + t``."""
    return [f"{c},{r},{t}" for c in range(n_channels) for r in range(height)
            for t in range(width)]


def plot_weight_pattern(example: dict[str, Any], path: Path) -> Path:
    """The matrix W of a small conv layer: each non-zero coloured by the kernel weight it holds.

    Rows are output values (o, i, j), columns input values (c, r, t), both flattened in C order;
    lines separate output channels (rows) and input channels (columns).
    """
    n_rows, n_cols = example["shape"]
    spec = example["spec"]
    c_in, (h, w) = spec["in_channels"], spec["input_size"]
    c_out, h_out, w_out = example["conv_output_shape"]
    ids = np.full((n_rows, n_cols), np.nan)  # NaN: structural zero (drawn white)
    ids[example["rows"], example["cols"]] = example["ids"]
    n_ids = len(example["positions"])
    named = n_ids <= MAX_NAMED_IDS
    colours = [f"C{k}" for k in range(n_ids)] if named else []
    cmap = ListedColormap(colours) if named else "viridis"
    fig, ax = new_figure(TEXT_WIDTH_IN, min(3.6, 1.1 + 0.15 * n_rows))
    ax.imshow(ids, cmap=cmap, vmin=-0.5, vmax=n_ids - 0.5, aspect="equal",
              interpolation="nearest")
    for y in range(h_out * w_out, n_rows, h_out * w_out):
        ax.axhline(y - 0.5, color="black", lw=0.8)
    for x in range(h * w, n_cols, h * w):
        ax.axvline(x - 0.5, color="black", lw=0.8)
    ax.set_xticks(np.arange(-0.5, n_cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, n_rows, 1), minor=True)
    ax.grid(True, which="minor", color="0.85", lw=0.4)
    ax.grid(False, which="major")
    ax.tick_params(which="minor", length=0)
    if n_cols <= MAX_TICK_LABELS and n_rows <= MAX_TICK_LABELS:
        ax.set_xticks(range(n_cols), _index_labels(c_in, h, w), rotation=90, fontsize=8)
        ax.set_yticks(range(n_rows), _index_labels(c_out, h_out, w_out), fontsize=8)
    ax.set_xlabel("column: input value (c, r, t)")
    ax.set_ylabel("row: output value (o, i, j)")
    if named:
        handles = [Patch(color=colours[k], label=f"$K_{{{','.join(map(str, pos))}}}$")
                   for k, pos in enumerate(example["positions"])]
        ax.legend(handles=handles, title="kernel weight", loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return save_figure(fig, path)


def plot_costs(layers: list[dict[str, Any]], path: Path) -> Path:
    """Log-scale bars: parameters, MACs and forward time of each conv and its dense equivalent."""
    names = [r["name"] for r in layers]
    x = np.arange(len(layers))
    fig, axes = new_figure(TEXT_WIDTH_IN, 2.8, ncols=3)
    panels = [("parameters", lambda r, k: r[k]["params"]),
              ("MACs per example", lambda r, k: r[k]["macs"]),
              ("forward time (s)", lambda r, k: r["timing"][f"{k}_seconds"])]
    for ax, (title, get) in zip(axes, panels):
        for shift, kind, colour in ((-0.2, "conv", "C0"), (0.2, "dense", "C1")):
            values = [get(r, kind) for r in layers]
            built = np.array([v is not None for v in values])
            ax.bar(x[built] + shift, [v for v in values if v is not None], width=0.4,
                   color=colour, label=kind)
            for xi, v in zip(x, values):
                if v is None:  # x in data units, y in axes units: just above the bottom
                    ax.text(xi + shift, 0.03, "not built", transform=ax.get_xaxis_transform(),
                            rotation=90, ha="center", va="bottom", fontsize=8)
        ax.set_yscale("log")
        ax.set_xticks(x, names, rotation=30, fontsize=8)
        ax.set_title(title)
    axes[2].legend(loc="upper left")  # the time panel's top left is empty (dense bars are right)
    return save_figure(fig, path)
