"""Step q1-baseline: TF-IDF word 1-2-grams + logistic regression on the Q1 split.

Published IMDB numbers use other splits; this baseline uses the same seeded split as the
neural models (the quick subset in quick mode), so it tells a reader what they buy. The
features are fitted on the training reviews only (our tokenizer; sublinear tf; terms in at
least ``min_df`` reviews); the L2 strength ``C`` is chosen on validation accuracy from a small
grid; the test set is read once, by the chosen model, at the end.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from mlsplab.data.files import IMDB_ZIP, locate, provenance
from mlsplab.data.imdb import load_imdb, train_twin_mask
from mlsplab.experiments.common import experiment_dir, finished_metrics, write_metrics
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1.config import BASELINE_ID, LENGTH_BUCKETS, MAX_TOKENS, BaselineConfig
from mlsplab.experiments.q1.data import audit_rows, split_rows
from mlsplab.features.tokenizer import tokenize
from mlsplab.io import read_json

log = logging.getLogger(__name__)


def run(options: RunOptions) -> dict[str, Any]:
    """Fit the baseline on the split of ``options.seed`` and write its ``metrics.json``.

    Returns
    -------
    dict
        The metrics document as written.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from mlsplab.experiments.q1 import evaluate as ev

    cfg = BaselineConfig.from_options(options)
    exp_dir = experiment_dir(options.out, BASELINE_ID)
    zip_path = locate(IMDB_ZIP, cfg.data_dir)
    config = {**cfg.identity(), "data_sha256": provenance(zip_path)["sha256"]}
    if (done := finished_metrics(exp_dir, config)) is not None:
        return done
    t_start = time.perf_counter()
    reviews = load_imdb(zip_path)
    rows = split_rows(len(reviews), cfg.seed, cfg.subset)
    tokens = {k: [tokenize(reviews.texts[i]) for i in r] for k, r in rows.items()}
    labels = {k: reviews.labels[r] for k, r in rows.items()}
    t0 = time.perf_counter()
    vectorizer = TfidfVectorizer(analyzer=lambda words: _ngrams(words, cfg.ngram_range),
                                 min_df=cfg.min_df, sublinear_tf=True, dtype=np.float32)
    X = {"train": vectorizer.fit_transform(tokens["train"])}  # (n_train, n_features) sparse
    X.update({k: vectorizer.transform(tokens[k]) for k in ("val", "test")})
    features_seconds = time.perf_counter() - t0
    val_accuracy, fit_seconds, models = {}, {}, {}
    for c in cfg.c_grid:
        t0 = time.perf_counter()
        clf = LogisticRegression(C=c, solver="liblinear", max_iter=cfg.max_iter,
                                 random_state=cfg.seed)
        clf.fit(X["train"], labels["train"])
        fit_seconds[str(c)] = time.perf_counter() - t0
        val_accuracy[str(c)] = float((clf.predict(X["val"]) == labels["val"]).mean())
        models[c] = clf
        log.info("tf-idf baseline C=%g: validation accuracy %.4f (%.1f s)", c,
                 val_accuracy[str(c)], fit_seconds[str(c)])
    best_c = max(cfg.c_grid, key=lambda c: (val_accuracy[str(c)], -c))  # ties: stronger L2
    correct = models[best_c].predict(X["test"]) == labels["test"]  # the one reading of test
    twin = train_twin_mask(reviews.texts, rows["train"], rows["test"])
    test_lengths = np.array([len(t) for t in tokens["test"]])
    metrics = {
        "test_accuracy": float(correct.mean()),
        "test_accuracy_no_train_twin": ev.accuracy_where(correct, ~twin),
        "test_accuracy_train_twin": ev.accuracy_where(correct, twin),
        "n_test_no_train_twin": int((~twin).sum()),
        "chosen_c": best_c, "val_accuracy_by_c": val_accuracy,
        "val_accuracy": val_accuracy[str(best_c)], "fit_seconds_by_c": fit_seconds,
        "features_seconds": features_seconds, "n_features": len(vectorizer.vocabulary_),
        "sizes": {k: len(r) for k, r in rows.items()},
        "duplicate_audit": audit_rows(reviews.texts, rows),
        "length_buckets": ev.length_buckets(test_lengths, correct, MAX_TOKENS,
                                            ev.length_edges(test_lengths, LENGTH_BUCKETS)),
        "test_correct": "".join("1" if c else "0" for c in correct),
        "data": provenance(zip_path),
        "wall_seconds": time.perf_counter() - t_start,
    }
    write_metrics(exp_dir, BASELINE_ID, config, metrics)
    return read_json(Path(exp_dir) / "metrics.json")


def _ngrams(words: list[str], ngram_range: tuple[int, int]) -> list[str]:
    """Word n-grams of ``words`` for n in ``ngram_range`` (inclusive), joined by spaces."""
    lo, hi = ngram_range
    return [" ".join(words[i:i + n]) for n in range(lo, hi + 1)
            for i in range(len(words) - n + 1)]
