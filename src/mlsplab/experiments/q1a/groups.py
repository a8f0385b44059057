"""Semantic groups among the plotted sentence words, found from the recorded measurements.

A group is a set of plotted words joined by 100-d nearest-neighbour links: word ``a`` links to
``b`` when ``b`` is among ``a``'s recorded nearest 100-d neighbours (cosine) over the whole
vocabulary. Links among a handful of sentence words are rare, so a link is evidence that the
two words are used alike; nothing is typed in, and other sentences give other groups. Each
group is then placed in the PCA plane: the share of all pairs of plotted words that lie farther
apart than its members do; "close" when that share is at least two thirds, so the report can
say which groups the plot shows.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

CLOSE_SHARE = 2 / 3  # members nearer than this share of all plotted pairs: "close"
MAX_GROUPS = 6


def _components(words: list[str], links: dict[tuple[str, str], float]) -> list[list[str]]:
    """Connected components of the link graph, in the plot's word order."""
    parent = {w: w for w in words}

    def root(w: str) -> str:
        while parent[w] != w:
            parent[w] = parent[parent[w]]
            w = parent[w]
        return w

    for a, b in links:
        parent[root(a)] = root(b)
    groups: dict[str, list[str]] = {}
    for w in words:
        groups.setdefault(root(w), []).append(w)
    return [g for g in groups.values() if len(g) > 1]


def semantic_groups(m: dict[str, Any]) -> dict[str, Any]:
    """The groups of the sentence plot, their 100-d links and where they lie in the plane.

    Parameters
    ----------
    m : dict
        Q1(a)'s metrics (``sentence_plot``, ``nearest_neighbours``).

    Returns
    -------
    dict
        ``groups``: list of ``{"words", "links": [(a, b, cosine)], "cosine" (mean),
        "spread" (largest plane distance between members), "farther_share" (share of all
        plotted pairs farther apart than that), "close" (bool)}``, strongest link first;
        ``n_linked_words``: plotted words with recorded neighbours.
    """
    plot, nn = m["sentence_plot"], m.get("nearest_neighbours") or {}
    xy = {w: (x, y) for w, x, y in zip(plot["words"], plot["x"], plot["y"])}
    links: dict[tuple[str, str], float] = {}
    for a in xy:
        for b, cosine in nn.get(a, []):
            if b in xy and b != a:
                links[tuple(sorted((a, b)))] = float(cosine)  # type: ignore[index]
    distances = np.array([math.dist(xy[a], xy[b]) for a, b in itertools.combinations(xy, 2)])
    groups = []
    for words in _components(list(xy), links):
        inside = [(a, b, c) for (a, b), c in links.items() if a in words and b in words]
        spread = max(math.dist(xy[a], xy[b]) for a, b in itertools.combinations(words, 2))
        farther = float(np.mean(distances > spread))
        groups.append({"words": words, "links": inside,
                       "cosine": float(np.mean([c for _, _, c in inside])),
                       "spread": spread, "farther_share": farther,
                       "close": farther >= CLOSE_SHARE})
    groups.sort(key=lambda g: -g["cosine"])
    return {"groups": groups[:MAX_GROUPS], "n_linked_words": sum(1 for w in xy if w in nn)}


def group_name(group: dict[str, Any]) -> str:
    """``'storyline, premise and potential'``."""
    words = [f"\u201c{w}\u201d" for w in group["words"]]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
