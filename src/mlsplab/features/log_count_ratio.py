"""The naive-Bayes log-count ratio of NBSVM (Wang & Manning, "Baselines and bigrams: simple,
good sentiment and topic classification", ACL 2012, section 2).

With binarized feature counts ``f_i`` in {0, 1} of the training documents and labels in {0, 1},

    p = alpha + sum_{i: y_i = 1} f_i,    q = alpha + sum_{i: y_i = 0} f_i,
    r = log( (p / ||p||_1) / (q / ||q||_1) ),

and a document's NBSVM features are ``r * f`` (elementwise): each present n-gram, weighted by
how much more often it occurs in positive than in negative training documents.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def log_count_ratio(X: sp.spmatrix | np.ndarray, y: np.ndarray, *,
                    alpha: float = 1.0) -> np.ndarray:
    """The log-count ratio ``r`` of binarized features.

    Parameters
    ----------
    X : sparse matrix or ndarray of shape (n_documents, n_features)
        Feature counts of the training documents; any value > 0 counts as present.
    y : ndarray of shape (n_documents,)
        Labels, 1 (positive) or 0 (negative); both must occur.
    alpha : float > 0, default=1.0
        Smoothing added to every feature's count in each class.

    Returns
    -------
    r : ndarray of shape (n_features,), float64

    Examples
    --------
    >>> X = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 2]])
    >>> log_count_ratio(X, np.array([1, 1, 0])).round(3).tolist()  # p=(3,2,1), q=(1,1,2)
    [0.693, 0.288, -1.099]
    """
    y = np.asarray(y)
    if not alpha > 0:
        raise ValueError(f"alpha={alpha} must be > 0")
    if X.shape[0] != len(y) or not ((y == 1).any() and (y == 0).any()):
        raise ValueError(f"need one label per document ({X.shape[0]}) and both classes; got "
                         f"{len(y)} labels with classes {sorted(set(y.tolist()))}")
    present = (sp.csr_matrix(X) > 0).astype(np.float64)  # (n_documents, n_features) binary
    p = alpha + np.asarray(present[y == 1].sum(axis=0)).ravel()  # (n_features,)
    q = alpha + np.asarray(present[y == 0].sum(axis=0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))
