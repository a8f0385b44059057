"""What the linear Q1 models share: the split as token lists, a logistic regression per C of a
grid, the choice of C on validation, and the one reading of the test set.

The TF-IDF baseline (:mod:`.baseline`) and NBSVM (:mod:`.nbsvm`) differ only in their features;
both use the seeded split of the neural models (the quick subset in quick mode), our tokenizer
and word 1-2-grams, and choose C by :func:`~.selection.one_standard_error_choice`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlsplab.data.files import IMDB_ZIP, locate, provenance
from mlsplab.data.imdb import ImdbReviews, load_imdb, train_twin_mask
from mlsplab.experiments.common import experiment_dir, finished_metrics, write_metrics
from mlsplab.experiments.q1 import posteriors
from mlsplab.experiments.q1.config import LENGTH_BUCKETS, MAX_TOKENS
from mlsplab.experiments.q1.data import SPLITS, audit_rows, split_rows
from mlsplab.experiments.q1.selection import RULE_TEXT, one_standard_error_choice
from mlsplab.features.tokenizer import tokenize
from mlsplab.io import read_json

if TYPE_CHECKING:
    from mlsplab.experiments.options import RunOptions
    from mlsplab.experiments.q1.config import BaselineConfig

log = logging.getLogger(__name__)
# (config, split) -> (features of each split, extra measurements such as n_features)
Featurizer = Callable[[Any, "TokenSplit"], tuple[dict[str, Any], dict[str, Any]]]


@dataclass
class TokenSplit:
    """The reviews of one seeded split as token lists, with their labels."""

    zip_path: Path
    reviews: ImdbReviews
    rows: dict[str, np.ndarray]  # split -> row indices into reviews
    tokens: dict[str, list[list[str]]]  # split -> one token list per review
    labels: dict[str, np.ndarray]  # split -> (n,) 0/1


def load_split(data_dir: str | Path | None, seed: int,
               subset: dict[str, int] | None) -> TokenSplit:
    """Read the IMDB file, split it with ``seed`` (first ``subset`` rows) and tokenize."""
    zip_path = locate(IMDB_ZIP, data_dir)
    reviews = load_imdb(zip_path)
    rows = split_rows(len(reviews), seed, subset)
    return TokenSplit(zip_path, reviews, rows,
                      {k: [tokenize(reviews.texts[i]) for i in r] for k, r in rows.items()},
                      {k: reviews.labels[r] for k, r in rows.items()})


def ngrams(words: list[str], ngram_range: tuple[int, int]) -> list[str]:
    """Word n-grams of ``words`` for n in ``ngram_range`` (inclusive), joined by spaces."""
    lo, hi = ngram_range
    return [" ".join(words[i:i + n]) for n in range(lo, hi + 1)
            for i in range(len(words) - n + 1)]


def fit_grid(X: dict[str, Any], labels: dict[str, np.ndarray], c_grid: tuple[float, ...], *,
             max_iter: int, seed: int, name: str) -> dict[str, Any]:
    """One L2 logistic regression (liblinear) per C on the training rows, scored on validation.

    Parameters
    ----------
    X : dict
        ``"train"``, ``"val"`` -> sparse matrix of shape (n_reviews, n_features).
    labels : dict
        ``"train"``, ``"val"`` -> ndarray of shape (n_reviews,).

    Returns
    -------
    dict
        ``models`` (C -> fitted model), ``n_correct`` (C -> correct validation reviews),
        ``fit_seconds`` (C -> seconds), ``n_iter`` (C -> solver iterations).
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    grid: dict[str, Any] = {"models": {}, "n_correct": {}, "fit_seconds": {}, "n_iter": {}}
    for c in c_grid:
        t0 = time.perf_counter()
        clf = LogisticRegression(C=c, solver="liblinear", max_iter=max_iter, random_state=seed)
        # liblinear's solver sums its dot products and norms over all features with BLAS;
        # OpenBLAS splits such a sum across threads, so the thread count changed the rounding
        # and, at large C, a validation review (docs/sentiment.md): one thread, one order
        with threadpool_limits(limits=1, user_api="blas"):
            clf.fit(X["train"], labels["train"])
        grid["fit_seconds"][c] = time.perf_counter() - t0
        grid["n_correct"][c] = int((clf.predict(X["val"]) == labels["val"]).sum())
        grid["n_iter"][c] = int(np.max(clf.n_iter_))
        grid["models"][c] = clf
        log.info("%s C=%g: validation accuracy %.4f (%.1f s)", name, c,
                 grid["n_correct"][c] / len(labels["val"]), grid["fit_seconds"][c])
    return grid


def choose_and_test(grid: dict[str, Any], X: dict[str, Any], data: TokenSplit
                    ) -> dict[str, Any]:
    """Choose C on validation, read the test set once with that model, and measure.

    Returns
    -------
    dict
        The measurements both linear models record: ``test_accuracy`` (also without and with
        a training twin), ``chosen_c``, ``selection`` (the rule and its numbers),
        ``val_accuracy_by_c``, ``val_accuracy``, ``fit_seconds_by_c``, ``solver_iterations_by_c``,
        ``sizes``, ``duplicate_audit``, ``length_buckets``, ``test_correct``, the posteriors of
        :func:`.posteriors.record`, ``data``.
    """
    from mlsplab.experiments.q1 import evaluate as ev

    n_val = len(data.labels["val"])
    selection = one_standard_error_choice(grid["n_correct"], n_val)
    chosen = grid["models"][selection["chosen_c"]]
    p_test = chosen.predict_proba(X["test"])[:, 1]  # the one reading of the test set
    correct = (p_test > 0.5) == (data.labels["test"] == 1)
    p_val = chosen.predict_proba(X["val"])[:, 1]
    twin = train_twin_mask(data.reviews.texts, data.rows["train"], data.rows["test"])
    test_lengths = np.array([len(t) for t in data.tokens["test"]])
    by_c = {str(c): k / n_val for c, k in grid["n_correct"].items()}
    return {
        "test_accuracy": float(correct.mean()),
        "test_accuracy_no_train_twin": ev.accuracy_where(correct, ~twin),
        "test_accuracy_train_twin": ev.accuracy_where(correct, twin),
        "n_test_no_train_twin": int((~twin).sum()),
        "chosen_c": selection["chosen_c"],
        "selection": {**selection, "text": RULE_TEXT},
        "val_accuracy_by_c": by_c, "val_accuracy": by_c[str(selection["chosen_c"])],
        "fit_seconds_by_c": {str(c): s for c, s in grid["fit_seconds"].items()},
        "solver_iterations_by_c": {str(c): k for c, k in grid["n_iter"].items()},
        "sizes": {k: len(data.rows[k]) for k in SPLITS},
        "duplicate_audit": audit_rows(data.reviews.texts, data.rows),
        "length_buckets": ev.length_buckets(test_lengths, correct, MAX_TOKENS,
                                            ev.length_edges(test_lengths, LENGTH_BUCKETS)),
        "test_correct": "".join("1" if c else "0" for c in correct),
        **posteriors.record({"val": p_val, "test": p_test},
                            {"val": data.labels["val"], "test": data.labels["test"]}),
        "data": provenance(data.zip_path),
    }


def run_linear(options: RunOptions, cfg: BaselineConfig, exp_id: str, featurize: Featurizer,
               name: str) -> dict[str, Any]:
    """One linear model's step: skip if finished, else load the split, make the features,
    fit the grid, choose C, read the test set once and write ``<out>/<exp_id>/metrics.json``.

    Returns
    -------
    dict
        The metrics document as written (``features_seconds`` and ``wall_seconds``, the
        latter with tokenization, beside :func:`choose_and_test`'s and ``featurize``'s).
    """
    exp_dir = experiment_dir(options.out, exp_id)
    config = {**cfg.identity(),
              "data_sha256": provenance(locate(IMDB_ZIP, cfg.data_dir))["sha256"]}
    if (done := finished_metrics(exp_dir, config)) is not None:
        return done
    t_start = time.perf_counter()
    data = load_split(cfg.data_dir, cfg.seed, cfg.subset)
    t0 = time.perf_counter()
    X, extra = featurize(cfg, data)
    features_seconds = time.perf_counter() - t0
    grid = fit_grid(X, data.labels, cfg.c_grid, max_iter=cfg.max_iter, seed=cfg.seed, name=name)
    metrics = {**choose_and_test(grid, X, data), **extra, "features_seconds": features_seconds,
               "wall_seconds": time.perf_counter() - t_start}
    write_metrics(exp_dir, exp_id, config, metrics)
    return read_json(Path(exp_dir) / "metrics.json")
