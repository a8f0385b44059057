"""Q2's figure, drawn at report time from the contexts recorded in metrics.json."""

from __future__ import annotations

from pathlib import Path

from mlsplab.analysis.tdnn_arch import Contexts, connected_offsets
from mlsplab.plotting import TEXT_WIDTH_IN, new_figure, save_figure


def _layer_label(l: int, contexts: Contexts) -> str:
    if l == 0:
        return "input x"
    name = "output" if l == len(contexts) else f"layer {l}"
    offsets = ", ".join(str(c).replace("-", "\u2212") for c in contexts[l - 1])
    return f"{name}: {{{offsets}}}"


def plot_connections(contexts: Contexts, path: Path) -> Path:
    """Which frames of each layer one output frame depends on (cf. Peddinti et al. 2015, Fig. 1).

    Rows are layers (input at the bottom), columns frame offsets relative to the output frame
    ``t``; black dots are the frames the output at ``t`` depends on, lines the connections.
    """
    L = len(contexts)
    used = connected_offsets(contexts)  # used[l]: offsets of layer l that reach the output
    lo, hi = min(used[0]), max(used[0])
    fig, ax = new_figure(TEXT_WIDTH_IN, 0.4 * L + 0.9)
    for l in range(L, 0, -1):
        for u in used[l]:
            for c in contexts[l - 1]:
                ax.plot([u, u + c], [l, l - 1], color="tab:blue", lw=0.8, alpha=0.6, zorder=1)
    for l in range(L + 1):
        ax.scatter(range(lo, hi + 1), [l] * (hi - lo + 1), s=14, color="lightgray", zorder=2)
        ax.scatter(used[l], [l] * len(used[l]), s=24, color="black", zorder=3)
    ax.set_yticks(range(L + 1), [_layer_label(l, contexts) for l in range(L + 1)])
    step = max(1, (hi - lo + 1) // 16)  # at most ~16 tick labels across the text width
    ax.set_xticks(range(lo, hi + 1, step))
    ax.set_xlabel("frame offset relative to the output frame t")
    ax.grid(False)
    return save_figure(fig, path)
