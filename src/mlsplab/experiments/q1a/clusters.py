"""The measurements behind Q1(a)'s answer: clusters of the plotted words and what they share,
whether 2-D neighbourhoods keep the 100-d ones, and how far PC1/PC2 carry sentiment.

Conventions: ``P`` is an array of 2-D PCA coordinates, shape (n_words, 2); ``U`` the same
words' 100-d vectors scaled to unit length, shape (n_words, 100), so that Euclidean distance
ranks neighbours like cosine similarity does. Every function returns JSON-able numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import spearmanr
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from threadpoolctl import threadpool_limits

from mlsplab.experiments.q1a.config import NEGATIVE_SEEDS, POSITIVE_SEEDS, EmbeddingsConfig
from mlsplab.experiments.q1a.lexicon import KINDS, POS_TAGS

Props = dict[str, dict[str, Any]]  # word -> lexicon.word_properties entry


def unit_rows(X: np.ndarray) -> np.ndarray:
    """Rows of ``X`` scaled to unit L2 norm (zero rows stay zero)."""
    norms = np.linalg.norm(X, axis=1, keepdims=True)  # (n, 1)
    return X / np.where(norms > 0, norms, 1.0)


def nearest(X: np.ndarray, k: int) -> np.ndarray:
    """Indices of each row's ``k`` nearest other rows (Euclidean), shape (n, k)."""
    sq = (X * X).sum(axis=1)
    d = sq[:, None] + sq[None, :] - 2 * X @ X.T  # (n, n) squared distances
    np.fill_diagonal(d, np.inf)
    k = min(k, len(X) - 1)
    idx = np.argpartition(d, k - 1, axis=1)[:, :k]  # (n, k), unordered
    order = np.take_along_axis(d, idx, axis=1).argsort(axis=1)
    return np.take_along_axis(idx, order, axis=1)


def neighbourhood_overlap(P: np.ndarray, U: np.ndarray, k: int) -> dict[str, float]:
    """How many of each word's ``k`` nearest 100-d (cosine) neighbours are also among its ``k``
    nearest in the 2-D plane, on average, and that share for random neighbours."""
    near_2d, near_100d = nearest(P, k), nearest(U, k)
    k = near_2d.shape[1]
    shared = [len(set(a) & set(b)) / k for a, b in zip(near_2d, near_100d)]
    return {"k": k, "words": len(P), "mean_overlap": float(np.mean(shared)),
            "chance": k / (len(P) - 1)}


def kmeans_by_silhouette(P: np.ndarray, cfg: EmbeddingsConfig) -> dict[str, Any]:
    """k-means on the 2-D points for k = k_min..k_max; the k with the best silhouette wins.

    Clusters are renumbered 0, 1, ... from left to right along PC1, so cluster 1 of the
    report is the leftmost.
    """
    scores: dict[str, float] = {}
    best: tuple[float, int, np.ndarray] | None = None
    for k in range(cfg.k_min, min(cfg.k_max, len(P) - 1) + 1):
        labels = KMeans(n_clusters=k, n_init=10, random_state=cfg.seed).fit_predict(P)
        scores[str(k)] = float(silhouette_score(P, labels))
        if best is None or scores[str(k)] > best[0]:
            best = (scores[str(k)], k, labels)
    assert best is not None, "need at least 3 points to cluster"
    silhouette, k, labels = best
    centres_x = [P[labels == c, 0].mean() for c in range(k)]
    rank = np.argsort(np.argsort(centres_x))  # old label -> position from the left
    return {"k": k, "silhouette": silhouette, "silhouette_by_k": scores,
            "labels": rank[labels]}


def cluster_profiles(words: Sequence[str], P: np.ndarray, U: np.ndarray, labels: np.ndarray,
                     props: Props, cfg: EmbeddingsConfig) -> list[dict[str, Any]]:
    """What each cluster's words have in common, as counts (see ``lexicon`` for the kinds).

    ``neighbour_agreement``: of each member's ``n_neighbours`` nearest 100-d neighbours among
    the plotted words, the share in the same 2-D cluster (``agreement_chance``: the same share
    for random neighbours). ``central_words``: the members nearest (cosine) to the cluster's
    mean 100-d direction.
    """
    near = nearest(U, cfg.n_neighbours)  # (n_words, k) among the plotted words
    n = len(words)
    profiles = []
    for c in range(int(labels.max()) + 1):
        idx = np.flatnonzero(labels == c)
        members = [words[i] for i in idx]
        centre = unit_rows(U[idx].mean(axis=0, keepdims=True))[0]  # (100,)
        by_centrality = idx[np.argsort(-(U[idx] @ centre))]
        profiles.append({
            "cluster": c + 1,
            "centre_pc": [round(float(v), 4) for v in P[idx].mean(axis=0)],
            **describe(members, props, cfg),
            "positive_seeds": [w for w in members if w in POSITIVE_SEEDS],
            "negative_seeds": [w for w in members if w in NEGATIVE_SEEDS],
            "neighbour_agreement": float(np.mean(labels[near[idx]] == c)),
            "agreement_chance": (len(idx) - 1) / (n - 1),
            "central_words": [words[i] for i in by_centrality[: cfg.n_central]],
            "words": [words[i] for i in by_centrality],
        })
    return profiles


def describe(words: Sequence[str], props: Props, cfg: EmbeddingsConfig) -> dict[str, Any]:
    """Counts and means of the words' measured properties (see :mod:`.lexicon`)."""
    kinds = Counter(props[w]["kind"] for w in words)
    valences = [props[w]["valence"] for w in words if props[w]["valence"] is not None]
    first = [props[w]["first_person_share"] for w in words
             if props[w]["first_person_share"] is not None]
    lean = [props[w]["review_log_odds"] for w in words]
    return {
        "size": len(words),
        "kinds": {kind: kinds.get(kind, 0) for kind in KINDS},
        "pos": {t: sum(t in props[w]["pos"] for w in words) for t in POS_TAGS},
        "median_rank": _median_rank(words, props),
        "valence_words": len(valences),
        "mean_valence": float(np.mean(valences)) if valences else None,
        "first_person_words": len(first),
        "mean_first_person_share": float(np.mean(first)) if first else None,
        "review_lean": {"positive": sum(v >= cfg.lean_log_odds for v in lean),
                        "negative": sum(v <= -cfg.lean_log_odds for v in lean)},
    }


def _median_rank(words: Sequence[str], props: Props) -> float | None:
    """Median frequency rank (1 = most frequent) of the words counted in the training split."""
    ranks = [props[w]["rank"] for w in words if props[w]["rank"] is not None]
    return float(np.median(ranks)) if ranks else None


def clustering(words: Sequence[str], P: np.ndarray, X: np.ndarray, props: Props,
               cfg: EmbeddingsConfig) -> dict[str, Any]:
    """k-means on one plot's points, its agreement with 100-d k-means, each cluster's profile,
    and how well the plot keeps the words' 100-d neighbourhoods."""
    U = unit_rows(X)
    # A few hundred points: one thread is faster than OpenMP start-up on a shared machine.
    with threadpool_limits(limits=1):
        km = kmeans_by_silhouette(P, cfg)
        labels_100d = KMeans(n_clusters=km["k"], n_init=10,
                             random_state=cfg.seed).fit_predict(U)
    labels = km.pop("labels")
    return {
        **km,
        "ari_2d_vs_100d": float(adjusted_rand_score(labels, labels_100d)),
        "labels": [int(v) + 1 for v in labels],
        "all_words": describe(words, props, cfg),
        "clusters": cluster_profiles(words, P, U, labels, props, cfg),
        "neighbourhood": neighbourhood_overlap(P, U, cfg.n_neighbours),
    }


def groupings(words: Sequence[str], P: np.ndarray, X: np.ndarray, props: Props,
              cfg: EmbeddingsConfig) -> dict[str, dict[str, Any]]:
    """For each kind of word (and part of speech): do its members' nearest neighbours share it,
    in the 2-D plane and in 100-d, against the base rate?

    For a group G of the ``words``: the mean over members of the share of their
    ``n_neighbours`` nearest words that are in G (2-D Euclidean; 100-d cosine); ``chance`` is
    (|G| - 1) / (n - 1). A grouping the plot shows has ``share_2d`` well above ``chance``.
    """
    near_2d, near_100d = nearest(P, cfg.n_neighbours), nearest(unit_rows(X), cfg.n_neighbours)
    groups = {kind: [props[w]["kind"] == kind for w in words] for kind in KINDS}
    for tag in POS_TAGS:  # content words only: stop words are not in the POS lexicon
        groups[tag] = [tag in props[w]["pos"] and props[w]["kind"] != "function"
                       for w in words]
    out = {}
    for name, member in groups.items():
        m = np.array(member)
        if m.sum() < 2:
            continue
        out[name] = {"words": int(m.sum()), "chance": float((m.sum() - 1) / (len(m) - 1)),
                     "share_2d": float(m[near_2d[m]].mean()),
                     "share_100d": float(m[near_100d[m]].mean())}
    return out


def axis_correlates(P: np.ndarray, words: Sequence[str], props: Props) -> dict[str, Any]:
    """What PC1 and PC2 follow among ``words``: Spearman correlation with log frequency and
    with VADER valence, and the mean coordinate of function words against the others."""
    log_count = np.log([max(props[w]["count"], 1) for w in words])
    function = np.array([props[w]["kind"] == "function" for w in words])
    has_valence = np.array([props[w]["valence"] is not None for w in words])
    valence = np.array([props[w]["valence"] or 0.0 for w in words])
    out: dict[str, Any] = {"words": len(words), "function_words": int(function.sum()),
                           "valence_words": int(has_valence.sum())}
    for j in range(2):
        pc = P[:, j]
        out[f"pc{j + 1}"] = {
            "spearman_log_count": float(spearmanr(pc, log_count).statistic),
            "spearman_valence": (float(spearmanr(pc[has_valence],
                                                 valence[has_valence]).statistic)
                                 if has_valence.sum() > 2 else None),
            "mean_function": float(pc[function].mean()) if function.any() else None,
            "mean_other": float(pc[~function].mean()) if (~function).any() else None,
            "sd": float(pc.std(ddof=1)),
        }
    return out
