"""Step q1x-nbsvm (beyond the assignment): NBSVM of Wang & Manning (2012) on the Q1 split.

Word 1-2-grams from our tokenizer (terms in at least ``min_df`` training reviews), binarized;
each scaled by its naive-Bayes log-count ratio ``r`` fitted on the training reviews
(:func:`mlsplab.features.log_count_ratio.log_count_ratio`); then an L2 logistic regression
(liblinear), whose C is chosen on validation by the baseline's rule. Wang & Manning's NBSVM
puts a squared-hinge SVM on these features and interpolates its weights with their mean; the
logistic loss is used here instead so that the model gives posteriors for ``q1x-ensemble``
(the NB-logistic-regression variant). The test set is read once, by the chosen model.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlsplab.data.files import IMDB_ZIP, locate, provenance
from mlsplab.experiments.common import experiment_dir, finished_metrics, write_metrics
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1 import linear
from mlsplab.experiments.q1.config import NBSVM_ID, NbsvmConfig
from mlsplab.features.log_count_ratio import log_count_ratio
from mlsplab.io import read_json


def run(options: RunOptions) -> dict[str, Any]:
    """Fit NBSVM on the split of ``options.seed`` and write its ``metrics.json``.

    Returns
    -------
    dict
        The metrics document as written (the baseline's measurements, plus the largest and
        smallest log-count ratios and the n-grams that carry them).
    """
    from sklearn.feature_extraction.text import CountVectorizer

    cfg = NbsvmConfig.from_options(options)
    exp_dir = experiment_dir(options.out, NBSVM_ID)
    config = {**cfg.identity(),
              "data_sha256": provenance(locate(IMDB_ZIP, cfg.data_dir))["sha256"]}
    if (done := finished_metrics(exp_dir, config)) is not None:
        return done
    t_start = time.perf_counter()
    data = linear.load_split(cfg.data_dir, cfg.seed, cfg.subset)
    t0 = time.perf_counter()
    vectorizer = CountVectorizer(analyzer=lambda words: linear.ngrams(words, cfg.ngram_range),
                                 min_df=cfg.min_df, binary=True, dtype=np.float64)
    F = {"train": vectorizer.fit_transform(data.tokens["train"])}  # (n_train, n_features) 0/1
    F.update({k: vectorizer.transform(data.tokens[k]) for k in ("val", "test")})
    r = log_count_ratio(F["train"], data.labels["train"], alpha=cfg.alpha)  # (n_features,)
    X = {k: (f @ sp.diags(r)).tocsr() for k, f in F.items()}  # r * f of each review
    features_seconds = time.perf_counter() - t0
    grid = linear.fit_grid(X, data.labels, cfg.c_grid, max_iter=cfg.max_iter, seed=cfg.seed,
                           name="nbsvm")
    words = vectorizer.get_feature_names_out()
    order = np.argsort(r, kind="stable")
    metrics = {**linear.choose_and_test(grid, X, data),
               "features_seconds": features_seconds, "n_features": len(words),
               "ratio_most_positive": [[str(words[i]), float(r[i])] for i in order[::-1][:10]],
               "ratio_most_negative": [[str(words[i]), float(r[i])] for i in order[:10]],
               "wall_seconds": time.perf_counter() - t_start}
    write_metrics(exp_dir, NBSVM_ID, config, metrics)
    return read_json(Path(exp_dir) / "metrics.json")
