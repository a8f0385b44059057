"""Ensembles of classifiers' posteriors: plain averaging and linear weights fitted on validation.

Two ways to fit the weights ``w`` of the combination ``sum_m w_m P_m``:

* :func:`fit_simplex_weights` (the criterion we call *optimal*): minimum cross-entropy
  ``-mean_n log(sum_m w_m P_m[n, y_n])`` of the weighted posterior mixture on the validation
  set, with ``w`` on the probability simplex (``w >= 0``, ``sum w = 1``) so that the mixture is
  again a posterior. The objective is convex in ``w``; SLSQP finds its minimum.
* :func:`fit_least_squares_weights`: unconstrained least squares of the one-hot targets on the
  members' posteriors (weights may be negative or not sum to one), for comparison.

:func:`out_of_fold_combination` evaluates a weight fit on the validation set by
cross-validation, so that methods with fitted weights can be compared with plain averaging on
validation data they were not fitted on.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize

from mlsplab.errors import MlsplabError

EPS = 1e-12  # floor inside the log of the mixture posterior


def _check(probs: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 3:
        raise MlsplabError(f"posteriors must have shape (n_models, n_items, n_classes), got "
                           f"{probs.shape}")
    if labels is not None and len(labels) != probs.shape[1]:
        raise MlsplabError(f"{len(labels)} labels for {probs.shape[1]} items; pass one label "
                           "per validation item")
    return probs


def combine(probs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted sum of the members' posteriors.

    Parameters
    ----------
    probs : ndarray of shape (n_models, n_items, n_classes)
    weights : ndarray of shape (n_models,)

    Returns
    -------
    combined : ndarray of shape (n_items, n_classes)
    """
    probs = _check(probs)
    return np.tensordot(np.asarray(weights, dtype=np.float64), probs, axes=1)  # (N, C)


def average_posteriors(probs: np.ndarray) -> np.ndarray:
    """Equal-weight average of the posteriors, shape (n_items, n_classes)."""
    probs = _check(probs)
    return probs.mean(axis=0)  # (M, N, C) -> (N, C)


def mixture_cross_entropy(probs: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> float:
    """Mean ``-log`` of the weighted mixture's probability of the true class."""
    probs = _check(probs, labels)
    p_true = probs[:, np.arange(probs.shape[1]), labels]  # (M, N)
    return float(-np.mean(np.log(np.maximum(weights @ p_true, EPS))))


def fit_simplex_weights(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Simplex weights minimising the validation cross-entropy of the posterior mixture.

    Parameters
    ----------
    probs : ndarray of shape (n_models, n_items, n_classes)
        Members' posteriors on the validation set (rows sum to one).
    labels : ndarray of shape (n_items,), int
        True classes.

    Returns
    -------
    weights : ndarray of shape (n_models,), non-negative, summing to one

    Examples
    --------
    >>> good = np.eye(3)[[0, 1, 2, 0]] * 0.9 + 0.1 / 3
    >>> bad = np.full((4, 3), 1 / 3)
    >>> fit_simplex_weights(np.stack([good, bad]), np.array([0, 1, 2, 0])).round(2)
    array([1., 0.])
    """
    probs = _check(probs, labels)
    labels = np.asarray(labels, dtype=np.int64)
    n_models = probs.shape[0]
    p_true = probs[:, np.arange(probs.shape[1]), labels]  # (M, N): each member's p(true class)

    def loss(w: np.ndarray) -> float:
        return float(-np.mean(np.log(np.maximum(w @ p_true, EPS))))

    def grad(w: np.ndarray) -> np.ndarray:
        mix = np.maximum(w @ p_true, EPS)  # (N,)
        return -(p_true / mix).mean(axis=1)  # (M,)

    w0 = np.full(n_models, 1.0 / n_models)
    result = minimize(loss, w0, jac=grad, method="SLSQP", bounds=[(0.0, 1.0)] * n_models,
                      constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0,
                                    "jac": lambda w: np.ones_like(w)}],
                      options={"ftol": 1e-12, "maxiter": 500})
    w = np.clip(result.x, 0.0, None)
    w = w / w.sum()
    if loss(w) > loss(w0) + 1e-9:  # never worse than the average we started from
        w = w0
    return w


def fit_least_squares_weights(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Unconstrained least-squares weights: ``argmin_w || sum_m w_m P_m - onehot(y) ||^2``.

    Parameters
    ----------
    probs : ndarray of shape (n_models, n_items, n_classes)
    labels : ndarray of shape (n_items,), int

    Returns
    -------
    weights : ndarray of shape (n_models,) (any sign, any sum)
    """
    probs = _check(probs, labels)
    n_models, _, n_classes = probs.shape
    targets = np.eye(n_classes)[np.asarray(labels, dtype=np.int64)]  # (N, C) one-hot
    A = probs.reshape(n_models, -1).T  # (M, N, C) -> (N * C, M)
    w, *_ = np.linalg.lstsq(A, targets.reshape(-1), rcond=None)
    return w


def out_of_fold_combination(probs: np.ndarray, labels: np.ndarray,
                            fit: Callable[[np.ndarray, np.ndarray], np.ndarray],
                            n_folds: int = 5) -> np.ndarray:
    """Combined posteriors of each item with weights fitted on the other folds only.

    Weights fitted on the validation set make that set's accuracy optimistic; this gives an
    honest validation estimate for comparing weighting methods. Item ``i`` goes to fold
    ``i mod k`` with ``k = min(n_folds, n_items)``.

    Parameters
    ----------
    probs : ndarray of shape (n_models, n_items, n_classes)
        Members' posteriors on the validation set.
    labels : ndarray of shape (n_items,), int
    fit : callable ``(probs, labels) -> weights``
        E.g. :func:`fit_simplex_weights` or :func:`fit_least_squares_weights`.
    n_folds : int >= 2, default=5

    Returns
    -------
    combined : ndarray of shape (n_items, n_classes)

    Examples
    --------
    >>> good = np.eye(3)[[0, 1, 2, 0, 1, 2]] * 0.9 + 0.1 / 3
    >>> bad = np.full((6, 3), 1 / 3)
    >>> oof = out_of_fold_combination(np.stack([good, bad]), np.array([0, 1, 2, 0, 1, 2]),
    ...                               fit_simplex_weights, n_folds=3)
    >>> oof.argmax(1).tolist()
    [0, 1, 2, 0, 1, 2]
    """
    probs = _check(probs, labels)
    labels = np.asarray(labels, dtype=np.int64)
    n_items = probs.shape[1]
    if n_folds < 2 or n_items < 2:
        raise MlsplabError(f"out-of-fold weights need n_folds >= 2 and >= 2 items, got "
                           f"n_folds={n_folds} for {n_items} item(s)")
    fold = np.arange(n_items) % min(n_folds, n_items)  # (N,)
    out = np.empty(probs.shape[1:], dtype=np.float64)  # (N, C)
    for k in np.unique(fold):
        held = fold == k
        w = fit(probs[:, ~held], labels[~held])
        out[held] = combine(probs[:, held], w)
    return out
