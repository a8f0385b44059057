"""How far the 2-D projection (and the 100-d space) separates positive from negative words.

Two measurements: the 15 + 15 sentiment seed words of :mod:`config` (their mean PC
coordinates, leave-one-out nearest-centroid accuracy, the polarity of their 100-d neighbours),
and a larger probe over every training-vocabulary word that VADER's lexicon rates as clearly
positive or negative (cross-validated logistic regression on PC1/PC2 against the 100-d vectors).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from threadpoolctl import threadpool_limits

from mlsplab.experiments.q1a.clusters import unit_rows
from mlsplab.experiments.q1a.config import NEGATIVE_SEEDS, POSITIVE_SEEDS, EmbeddingsConfig
from mlsplab.experiments.q1a.lexicon import STOPWORDS, vader_valences


def seed_separation(kv: Any, pca: PCA) -> dict[str, Any]:
    """Do the positive and negative seed words separate along PC1/PC2, and in 100-d?

    Separation is leave-one-out nearest-centroid accuracy (a seed word goes to the polarity
    whose other seeds' mean is nearer; 0.5 is chance) in 2-D and in 100-d cosine space, and the
    gap between the polarity means on each PC in pooled standard deviations.
    """
    pos = [w for w in POSITIVE_SEEDS if w in kv.key_to_index]
    neg = [w for w in NEGATIVE_SEEDS if w in kv.key_to_index]
    out: dict[str, Any] = {"positive": pos, "negative": neg}
    if len(pos) < 3 or len(neg) < 3:
        return out
    X = np.stack([kv[w] for w in pos + neg])  # (n_pos + n_neg, 100)
    y = np.array([1] * len(pos) + [0] * len(neg))
    P = pca.transform(X)  # (n_pos + n_neg, 2)
    for j in range(2):
        a, b = P[y == 1, j], P[y == 0, j]
        pooled = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
        out[f"pc{j + 1}"] = {"mean_positive": float(a.mean()), "mean_negative": float(b.mean()),
                             "gap_in_pooled_sd": float((a.mean() - b.mean()) / pooled)}
    out["loo_centroid_accuracy_2d"] = _loo_centroid(P, y)
    out["loo_centroid_accuracy_100d"] = _loo_centroid(unit_rows(X), y)
    # Among each seed's 10 nearest neighbours that are themselves seeds, how many share its
    # polarity? word2vec often puts antonyms close ("good" ~ "bad"): 0.5 would mean no signal.
    polarity = {w: 1 for w in pos} | {w: 0 for w in neg}
    same = total = 0
    for w in pos + neg:
        for n, _ in kv.most_similar(w, topn=10):
            if n in polarity:
                total += 1
                same += polarity[n] == polarity[w]
    out["neighbour_seeds"] = total
    out["neighbour_seeds_same_polarity"] = same / total if total else None
    return out


def _loo_centroid(X: np.ndarray, y: np.ndarray) -> float:
    correct = 0
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        c1 = X[keep & (y == 1)].mean(axis=0)
        c0 = X[keep & (y == 0)].mean(axis=0)
        pred = int(np.linalg.norm(X[i] - c1) < np.linalg.norm(X[i] - c0))
        correct += pred == y[i]
    return correct / len(y)


def lexicon_probe(vocab: Sequence[str], X: np.ndarray, P: np.ndarray,
                  cfg: EmbeddingsConfig) -> dict[str, Any]:
    """Cross-validated balanced accuracy of a logistic regression telling VADER-positive from
    VADER-negative training words, from PC1/PC2 against from the 100-d vectors.

    ``vocab`` has ``X`` of shape (n_vocab, 100) and ``P`` of shape (n_vocab, 2). Words are the
    non-stop-words with ``|valence| >= valence_threshold``; 0.5 is chance.
    """
    valences = vader_valences()
    rows = [i for i, w in enumerate(vocab) if w not in STOPWORDS
            and abs(valences.get(w, 0.0)) >= cfg.valence_threshold]
    y = np.array([valences[vocab[i]] > 0 for i in rows], dtype=int)
    out: dict[str, Any] = {"words": len(rows), "positive": int(y.sum()),
                           "negative": int(len(y) - y.sum()),
                           "threshold": cfg.valence_threshold, "folds": cfg.cv_folds}
    if min(out["positive"], out["negative"]) < cfg.cv_folds:
        return out
    folds = StratifiedKFold(cfg.cv_folds, shuffle=True, random_state=cfg.seed)
    with threadpool_limits(limits=1):
        for name, features in (("2d", P[rows]), ("100d", unit_rows(X[rows]))):
            # no standardising: it would give the 100-d noise directions the weight of the
            # few that carry polarity
            model = LogisticRegression(max_iter=2000, class_weight="balanced")
            scores = cross_val_score(model, features, y, cv=folds, scoring="balanced_accuracy")
            out[f"balanced_accuracy_{name}"] = float(scores.mean())
            out[f"balanced_accuracy_{name}_sd"] = float(scores.std(ddof=1))
    return out
