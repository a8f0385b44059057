"""Step q1-baseline: TF-IDF word 1-2-grams + logistic regression on the Q1 split.

Published IMDB numbers use other splits; this baseline uses the same seeded split as the
neural models (the quick subset in quick mode), so it tells a reader what they buy. The
features are fitted on the training reviews only (our tokenizer; sublinear tf; terms in at
least ``min_df`` reviews); the L2 strength ``C`` is chosen on validation from a small grid by
the one-standard-error rule (:mod:`.selection`); the test set is read once, by the chosen
model, at the end. Its validation and test posteriors are recorded for ``q1x-ensemble``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from mlsplab.data.files import IMDB_ZIP, locate, provenance
from mlsplab.experiments.common import experiment_dir, finished_metrics, write_metrics
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1 import linear
from mlsplab.experiments.q1.config import BASELINE_ID, BaselineConfig
from mlsplab.io import read_json


def run(options: RunOptions) -> dict[str, Any]:
    """Fit the baseline on the split of ``options.seed`` and write its ``metrics.json``.

    Returns
    -------
    dict
        The metrics document as written.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    cfg = BaselineConfig.from_options(options)
    exp_dir = experiment_dir(options.out, BASELINE_ID)
    config = {**cfg.identity(),
              "data_sha256": provenance(locate(IMDB_ZIP, cfg.data_dir))["sha256"]}
    if (done := finished_metrics(exp_dir, config)) is not None:
        return done
    t_start = time.perf_counter()
    data = linear.load_split(cfg.data_dir, cfg.seed, cfg.subset)
    t0 = time.perf_counter()
    vectorizer = TfidfVectorizer(analyzer=lambda words: linear.ngrams(words, cfg.ngram_range),
                                 min_df=cfg.min_df, sublinear_tf=True, dtype=np.float32)
    X = {"train": vectorizer.fit_transform(data.tokens["train"])}  # (n_train, n_features)
    X.update({k: vectorizer.transform(data.tokens[k]) for k in ("val", "test")})
    features_seconds = time.perf_counter() - t0
    grid = linear.fit_grid(X, data.labels, cfg.c_grid, max_iter=cfg.max_iter, seed=cfg.seed,
                           name="tf-idf baseline")
    metrics = {**linear.choose_and_test(grid, X, data),
               "features_seconds": features_seconds, "n_features": len(vectorizer.vocabulary_),
               "wall_seconds": time.perf_counter() - t_start}
    write_metrics(exp_dir, BASELINE_ID, config, metrics)
    return read_json(Path(exp_dir) / "metrics.json")
