"""Q1(b-d) figures, drawn at report time from ``metrics.json`` (SVG, readable at print size)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mlsplab.experiments.ids import (
    Q1_TFIDF_BASELINE,
    Q1B_LSTM_AVG,
    Q1C_LSTM_ATTENTION,
    Q1D_TRANSFORMER,
)
from mlsplab.plotting import TEXT_WIDTH_IN, new_figure, save_figure

LABELS = {Q1B_LSTM_AVG: "LSTM + average", Q1C_LSTM_ATTENTION: "LSTM + attention",
          Q1D_TRANSFORMER: "transformer", Q1_TFIDF_BASELINE: "TF-IDF + log. reg."}
COLORS = {Q1B_LSTM_AVG: "C0", Q1C_LSTM_ATTENTION: "C1", Q1D_TRANSFORMER: "C2",
          Q1_TFIDF_BASELINE: "C7"}


def _curve(histories: list[list[dict[str, Any]]], key: str) -> tuple[np.ndarray, np.ndarray]:
    """Epochs and the mean of ``key`` over the seeds that reached each epoch."""
    n = max(len(h) for h in histories)
    ep, mean = [], []
    for e in range(n):
        vals = [h[e][key] for h in histories if len(h) > e and h[e].get(key) is not None]
        if vals:
            ep.append(e + 1)
            mean.append(float(np.mean(vals)))
    return np.array(ep), np.array(mean)


def loss_curves(exp_id: str, m: dict[str, Any], path: Path) -> Path:
    """Training loss (running mean in train mode, and eval mode at the epoch's end) and
    validation loss per epoch of the first seed."""
    from matplotlib.ticker import MaxNLocator

    histories = [m["history"]]  # the first seed: the one the text and the best epoch describe
    fig, ax = new_figure(TEXT_WIDTH_IN, 2.2)  # legend at the right: a short, wide figure
    styles = (("train_loss", "-", ("training, train mode\n(dropout on; running mean\nover "
                                  "the epoch)")),
              ("train_eval_loss", "-.", "training, eval mode\n(end of epoch; fixed subset)"),
              ("val_loss", "--", "validation\n(eval mode, end of epoch)"))
    for key, ls, label in styles:
        ep, y = _curve(histories, key)
        if len(ep):
            ax.plot(ep, y, ls, marker="o", ms=3, color=COLORS.get(exp_id, "C0"), label=label,
                    alpha=1.0 if key != "train_loss" else 0.6)
    if m.get("best_epoch"):
        ax.axvline(m["best_epoch"], color="0.5", ls=":", lw=1,
                   label=f"lowest validation loss (epoch {m['best_epoch']})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_xlabel("epoch")
    ax.set_ylabel("BCE loss")
    ax.set_title(f"{LABELS.get(exp_id, exp_id)}: loss per epoch")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return save_figure(fig, path)


def all_losses(results: dict[str, dict[str, Any]], path: Path) -> Path:
    """Eval-mode training loss (solid) and validation loss (dashed) of every model (first
    seed)."""
    from matplotlib.ticker import MaxNLocator

    fig, ax = new_figure(TEXT_WIDTH_IN, 2.2)  # legend at the right: a short, wide figure
    for exp_id, m in results.items():
        histories = [m["history"]]  # the first seed of each
        for key, ls, what in (("train_eval_loss", "-", "training"),
                              ("val_loss", "--", "validation")):
            ep, y = _curve(histories, key)
            if len(ep):
                ax.plot(ep, y, ls, color=COLORS.get(exp_id, "C3"),
                        label=f"{LABELS.get(exp_id, exp_id)}, {what}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("BCE loss (eval mode)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return save_figure(fig, path)


def _word_widths(words: list[str], size: float) -> list[float]:
    """Widths in inches of ``words`` set at ``size`` points (measured from the glyph paths)."""
    from matplotlib.textpath import TextPath

    return [TextPath((0, 0), w, size=size).get_extents().width / 72 for w in words]


def attention_heatmaps(examples: list[dict[str, Any]], path: Path) -> Path:
    """Each example review as running text, every word on a box coloured by its weight x
    review length: white = 1 (the weight a uniform average gives), red above, blue below."""
    from matplotlib import colormaps
    from matplotlib.colors import TwoSlopeNorm

    size, line_h, gap, margin = 9.0, 0.24, 0.07, 0.1  # points, inches, inches, inches
    width = TEXT_WIDTH_IN
    vmax = max(1.5, max(max(ex["weights"]) * len(ex["weights"]) for ex in examples))
    norm, cmap = TwoSlopeNorm(vmin=0.0, vcenter=1.0, vmax=vmax), colormaps["RdBu_r"]
    layout = []  # per example: [(word, ratio, x_in, line)], number of lines
    for ex in examples:
        x, line, placed = margin, 0, []
        T = len(ex["weights"])
        for word, w_in, a in zip(ex["words"], _word_widths(ex["words"], size), ex["weights"]):
            if x + w_in > width - margin and x > margin:
                x, line = margin, line + 1
            placed.append((word, a * T, x, line))
            x += w_in + gap + 0.05
        layout.append((placed, line + 1))
    bar_h = 0.65  # the colour bar under the reviews, with its ticks and label
    height = sum(line_h * (n + 1) + 0.12 for _, n in layout) + 0.1 + bar_h
    fig, ax = new_figure(width, height)
    ax.axis("off")
    y = height - 0.1
    for ex, (placed, n_lines) in zip(examples, layout):
        y -= line_h
        fig.text(margin, y, f"validation review {ex['row']} ("
                 f"{'positive' if ex['label'] else 'negative'}), p(positive) = "
                 f"{ex['p_positive']:.2f}", fontsize=size, fontweight="bold",
                 transform=fig.dpi_scale_trans)
        for word, ratio, x, line in placed:
            rgba = cmap(norm(ratio))
            dark = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] < 0.5
            fig.text(x, y - line_h * (line + 1), word, fontsize=size,
                     color="white" if dark else "black", transform=fig.dpi_scale_trans,
                     bbox={"boxstyle": "square,pad=0.15", "facecolor": rgba, "edgecolor": "none"})
        y -= line_h * n_lines + 0.12
    from matplotlib.cm import ScalarMappable

    # the colour scale as a colour bar: where 1 (average pooling's weight) lies on it
    cax = fig.add_axes((0.25, 0.36 / height, 0.5, 0.1 / height))
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax, orientation="horizontal")
    bar.set_label("attention weight × review length (1 = the weight of average pooling)",
                  fontsize=8)
    bar.ax.tick_params(labelsize=8)
    ax.set_position((0, bar_h / height, 1, 1 - bar_h / height))
    return _save_without_tight_layout(fig, path)


def _save_without_tight_layout(fig: Any, path: Path) -> Path:
    """Save a figure laid out by hand (text placed in inches): tight_layout would move it."""
    fig.set_layout_engine("none")
    fig.tight_layout = lambda *args, **kwargs: None  # save_figure calls it
    return save_figure(fig, path)


def attention_positions(attention: dict[str, Any], path: Path) -> Path:
    """Mean weight x length by relative position in the review (1 = uniform)."""
    ratio = [np.nan if x is None else x for x in attention["position_ratio"]]
    bins = len(ratio)
    fig, ax = new_figure(TEXT_WIDTH_IN * 0.7, 2.6)
    ax.bar(np.arange(bins) + 0.5, ratio, width=0.85, color="C1")
    ax.axhline(1.0, color="0.3", ls="--", lw=1, label="uniform")
    ax.set_xticks(np.arange(bins + 1))
    ax.set_xticklabels([f"{k / bins:.1f}" for k in range(bins + 1)])
    ax.set_xlabel("relative position in the review (0 = first token, 1 = last)")
    ax.set_ylabel("mean weight x length")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def length_accuracy(results: dict[str, dict[str, Any]], path: Path) -> Path:
    """Test accuracy per review-length bucket (token-count quartiles) for each result."""
    have = {i: m["length_buckets"] for i, m in results.items() if m.get("length_buckets")}
    first = next(iter(have.values()))
    edges = first["edges"]
    k = len(edges) - 1
    fig, ax = new_figure(TEXT_WIDTH_IN, 2.2)  # legend at the right: a short, wide figure
    width = 0.8 / max(len(have), 1)
    for j, (exp_id, b) in enumerate(have.items()):
        acc = [np.nan if a is None else 100 * a for a in b["accuracy"]]
        ax.bar(np.arange(k) + (j - (len(have) - 1) / 2) * width, acc, width=width,
               color=COLORS.get(exp_id, "C3"), label=LABELS.get(exp_id, exp_id))
    ax.set_xticks(np.arange(k))
    ax.set_xticklabels([f"{edges[i]:.0f}\u2013{edges[i + 1]:.0f}\n(n = {first['n'][i]})"
                        for i in range(k)])
    ax.set_xlabel("review length in tokens (test-set quartiles)")
    ax.set_ylabel("test accuracy (%)")
    finite = [100 * a for b in have.values() for a in b["accuracy"] if a is not None]
    if finite:
        ax.set_ylim(max(0.0, min(finite) - 5), min(100.0, max(finite) + 3))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return save_figure(fig, path)
