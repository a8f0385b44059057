"""Step q1-baseline: TF-IDF word 1-2-grams + logistic regression on the Q1 split.

Published IMDB numbers use other splits; this baseline uses the same seeded split as the
neural models (the quick subset in quick mode), so it tells a reader what they buy. The
features are fitted on the training reviews only (our tokenizer; sublinear tf; terms in at
least ``min_df`` reviews); the L2 strength ``C`` is chosen on validation from a small grid by
the one-standard-error rule (:mod:`.selection`); the test set is read once, by the chosen
model, at the end. Its validation and test posteriors are recorded for ``q1x-ensemble``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1 import linear
from mlsplab.experiments.q1.config import BASELINE_ID, BaselineConfig


def run(options: RunOptions) -> dict[str, Any]:
    """Fit the baseline on the split of ``options.seed`` and write its ``metrics.json``.

    Returns
    -------
    dict
        The metrics document as written.
    """
    return linear.run_linear(options, BaselineConfig.from_options(options), BASELINE_ID,
                             tfidf_features, "tf-idf baseline")


def tfidf_features(cfg: BaselineConfig, data: linear.TokenSplit
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sublinear TF-IDF of word n-grams fitted on the training reviews, each split's rows of
    shape (n_reviews, n_features) float32, and ``n_features``."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=lambda words: linear.ngrams(words, cfg.ngram_range),
                                 min_df=cfg.min_df, sublinear_tf=True, dtype=np.float32)
    X = {"train": vectorizer.fit_transform(data.tokens["train"])}  # (n_train, n_features)
    X.update({k: vectorizer.transform(data.tokens[k]) for k in ("val", "test")})
    return X, {"n_features": len(vectorizer.vocabulary_)}
