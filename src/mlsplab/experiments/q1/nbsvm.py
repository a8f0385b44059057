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

from typing import Any

import numpy as np
import scipy.sparse as sp

from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1 import linear
from mlsplab.experiments.q1.config import NBSVM_ID, NbsvmConfig
from mlsplab.features.log_count_ratio import log_count_ratio

TOP_RATIOS = 10  # n-grams with the largest and smallest log-count ratio, recorded


def run(options: RunOptions) -> dict[str, Any]:
    """Fit NBSVM on the split of ``options.seed`` and write its ``metrics.json``.

    Returns
    -------
    dict
        The metrics document as written (the baseline's measurements, plus the n-grams with
        the largest and smallest log-count ratios).
    """
    return linear.run_linear(options, NbsvmConfig.from_options(options), NBSVM_ID,
                             nb_features, "nbsvm")


def nb_features(cfg: NbsvmConfig, data: linear.TokenSplit
                ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``r * f`` of each review: its binary n-gram indicators ``f`` scaled by the log-count
    ratio ``r`` of the training reviews, shape (n_reviews, n_features) per split."""
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(analyzer=lambda words: linear.ngrams(words, cfg.ngram_range),
                                 min_df=cfg.min_df, binary=True, dtype=np.float64)
    F = {"train": vectorizer.fit_transform(data.tokens["train"])}  # (n_train, n_features) 0/1
    F.update({k: vectorizer.transform(data.tokens[k]) for k in ("val", "test")})
    r = log_count_ratio(F["train"], data.labels["train"], alpha=cfg.alpha)  # (n_features,)
    X = {k: (f @ sp.diags(r)).tocsr() for k, f in F.items()}
    words = vectorizer.get_feature_names_out()
    order = np.argsort(r, kind="stable")
    return X, {"n_features": len(words),
               "ratio_most_positive": [[str(words[i]), float(r[i])]
                                       for i in order[::-1][:TOP_RATIOS]],
               "ratio_most_negative": [[str(words[i]), float(r[i])]
                                       for i in order[:TOP_RATIOS]]}
