"""Q1(a)'s scatter plots, drawn at report time from the coordinates in ``metrics.json``.

Both plots are 6.3 in wide (the report's text width, printed at 1:1), with word labels of
8 pt placed greedily where they overlap no other label or marker; a label that fits nowhere is
left out and counted, so the caption can say how many words carry a label.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D

from mlsplab.plotting import TEXT_WIDTH_IN, new_figure, save_figure

LABEL_PT = 8  # word labels, at print size (the figure is printed at 1:1)
MARKER_PT = 2.5  # marker radius, also an obstacle for labels
# Cluster colours: tab10 without grey (the background cloud).
PALETTE = [matplotlib.colormaps["tab10"](i) for i in (0, 1, 2, 3, 4, 5, 6, 8, 9)]
POSITIVE, NEGATIVE = "positive", "negative"


def scatter_figure(path: Path, plot: dict[str, Any], clusters: dict[str, Any],
                   background: dict[str, Any], props: dict[str, dict[str, Any]],
                   explained: list[float], *, height: float,
                   links: list[tuple[str, str]] = ()) -> dict[str, int]:
    """Draw one plot's words in the PC1/PC2 plane, coloured by 2-D k-means cluster.

    Parameters
    ----------
    path : Path
        Where the SVG goes.
    plot : dict
        ``words``, ``x``, ``y`` (as in ``metrics.json``'s ``*_plot`` entries).
    clusters : dict
        The plot's ``clusters_*`` entry (``labels``: 1-based cluster of each word).
    background : dict
        ``x``, ``y`` of the grey reference cloud.
    props : dict
        ``word_properties`` (``kind`` marks VADER-positive/negative words).
    explained : list of float
        Explained-variance ratios of PC1 and PC2.
    height : float
        Figure height in inches (the width is the text width).
    links : list of (word, word), optional
        Pairs drawn joined by a dashed line (the semantic groups: 100-d neighbours); their
        words are labelled first.

    Returns
    -------
    dict
        ``words`` plotted and ``labelled``.
    """
    words = plot["words"]
    P = np.column_stack([plot["x"], plot["y"]])  # (n_words, 2)
    labels = np.asarray(clusters["labels"])
    fig, ax = new_figure(TEXT_WIDTH_IN, height)
    ax.scatter(background["x"], background["y"], s=2, c="0.85", zorder=0, linewidths=0)
    kinds = [props.get(w, {}).get("kind") for w in words]
    for c in range(1, int(labels.max()) + 1):
        colour = PALETTE[(c - 1) % len(PALETTE)]
        for kind, marker, size in ((POSITIVE, "^", 30), (NEGATIVE, "v", 30), (None, "o", 14)):
            idx = [j for j, k in enumerate(kinds) if labels[j] == c
                   and (k == kind or (kind is None and k not in (POSITIVE, NEGATIVE)))]
            if idx:
                ax.scatter(P[idx, 0], P[idx, 1], s=size, marker=marker, color=colour,
                           zorder=2, linewidths=0)
    where = {w: j for j, w in enumerate(words)}
    linked = [(where[a], where[b]) for a, b in links if a in where and b in where]
    for a, b in linked:
        ax.plot(P[[a, b], 0], P[[a, b], 1], ls="--", lw=0.9, color="0.2", zorder=1)
    _fit_limits(ax, P)
    ax.set_xlabel(f"PC1 ({100 * explained[0]:.1f} % of the variance)", fontsize=9)
    ax.set_ylabel(f"PC2 ({100 * explained[1]:.1f} % of the variance)", fontsize=9)
    ax.tick_params(labelsize=8)
    handles = [Line2D([], [], ls="", marker="o", color=PALETTE[(c - 1) % len(PALETTE)],
                      label=f"cluster {c} ({int((labels == c).sum())} words)")
               for c in range(1, int(labels.max()) + 1)]
    handles += [Line2D([], [], ls="", marker="^", color="0.3", label="VADER positive"),
                Line2D([], [], ls="", marker="v", color="0.3", label="VADER negative")]
    if linked:
        handles.append(Line2D([], [], ls="--", lw=0.9, color="0.2",
                              label="100-d nearest neighbours"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3,
              fontsize=8, frameon=False)
    fig.tight_layout()  # fix the axes' size first: labels are placed in display space
    # content words first, rarer first (they carry the meaning); function words where room
    in_group = {j for pair in linked for j in pair}
    order = sorted(range(len(words)), key=lambda j: (j not in in_group, kinds[j] == "function",
                                                    props.get(words[j], {}).get("count", 0)))
    n = place_labels(ax, [words[j] for j in order], P[order],
                     [PALETTE[(labels[j] - 1) % len(PALETTE)] for j in order])
    save_figure(fig, path)
    return {"words": len(words), "labelled": n}


def place_labels(ax: Any, words: list[str], P: np.ndarray, colours: list[Any]) -> int:
    """Label points greedily, in the given priority order, where a label overlaps nothing.

    Each label tries 8 positions around its point at two distances; a label that fits
    nowhere is left out (its point stays). ``P`` has shape (n_words, 2). Returns the number
    of labels drawn.
    """
    renderer = ax.figure.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    px_per_pt = ax.figure.dpi / 72
    font = FontProperties(size=LABEL_PT)
    xy = ax.transData.transform(P)  # (n_words, 2) display pixels
    r = MARKER_PT * px_per_pt
    # (n_markers + n_labels, [x0, y0, x1, y1]) display pixels: the markers are obstacles too
    placed = np.empty((2 * len(words), 4))
    placed[: len(words)] = np.hstack([xy - r, xy + r])
    offsets = [(d * dx, d * dy) for d in (3, 9)
               for dx, dy in ((1, 1), (1, -1), (-1, 1), (-1, -1), (0, 1.2), (0, -1.2), (1.4, 0),
                              (-1.4, 0))]
    n_used, n = len(words), 0
    for word, (x, y), (px, py), colour in zip(words, P, xy, colours):
        # measured once; candidate boxes are then arithmetic (creating Text objects is slow)
        w, h, _ = renderer.get_text_width_height_descent(word, font, ismath=False)
        w, h = w * 1.05 + 1, h * 1.1 + 1  # a little air between labels
        for dx, dy in offsets:
            ox, oy = px + dx * px_per_pt, py + dy * px_per_pt
            x0 = ox if dx > 0 else ox - w if dx < 0 else ox - w / 2
            y0 = oy if dy > 0 else oy - h if dy < 0 else oy - h / 2
            x1, y1 = x0 + w, y0 + h
            if x0 < box.x0 or x1 > box.x1 or y0 < box.y0 or y1 > box.y1:
                continue
            q = placed[:n_used]
            if np.any((q[:, 0] < x1) & (q[:, 2] > x0) & (q[:, 1] < y1) & (q[:, 3] > y0)):
                continue
            ha = "left" if dx > 0 else "right" if dx < 0 else "center"
            va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
            ax.annotate(word, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha,
                        va=va, fontproperties=font, color=_darker(colour))
            placed[n_used] = (x0, y0, x1, y1)
            n_used += 1
            n += 1
            break
    return n


def _darker(colour: Any, factor: float = 0.7) -> tuple[float, float, float]:
    """``colour`` darkened, so that 8 pt text in it stays legible on white."""
    r, g, b = matplotlib.colors.to_rgb(colour)
    return (r * factor, g * factor, b * factor)


def _fit_limits(ax: Any, P: np.ndarray) -> None:
    lo, hi = P.min(axis=0), P.max(axis=0)
    pad = 0.06 * (hi - lo) + 1e-6
    ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
    ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
