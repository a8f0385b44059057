"""Ensemble weights: simplex cross-entropy fit and least squares on known toy cases."""

from __future__ import annotations

import numpy as np
import pytest

from mlsplab.errors import MlsplabError
from mlsplab.models.ensemble import (
    average_posteriors,
    combine,
    fit_least_squares_weights,
    fit_simplex_weights,
    mixture_cross_entropy,
)


def _posteriors(labels: np.ndarray, correct: float, n_classes: int, rng) -> np.ndarray:
    """Posteriors that put ``correct`` on the true class for a random half... of the items."""
    p = rng.dirichlet(np.ones(n_classes), size=len(labels)) * (1 - correct)
    p[np.arange(len(labels)), labels] += correct
    return p


def test_simplex_weights_recover_the_better_model() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, size=200)
    good = _posteriors(y, 0.8, 5, rng)
    noise = rng.dirichlet(np.ones(5), size=200)  # knows nothing
    w = fit_simplex_weights(np.stack([noise, good, noise[::-1]]), y)
    assert w.shape == (3,) and np.isclose(w.sum(), 1) and (w >= 0).all()
    assert w[1] > 0.9
    ls = fit_least_squares_weights(np.stack([noise, good, noise[::-1]]), y)
    assert np.argmax(ls) == 1


def test_complementary_models_get_interior_weights_and_lower_loss() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, size=400)
    a = _posteriors(y, 0.6, 4, rng)
    b = _posteriors(y, 0.6, 4, rng)
    a[:200] = rng.dirichlet(np.ones(4), size=200)  # a is useless on the first half
    b[200:] = rng.dirichlet(np.ones(4), size=200)  # b on the second
    probs = np.stack([a, b])
    w = fit_simplex_weights(probs, y)
    assert 0.3 < w[0] < 0.7
    ce = mixture_cross_entropy(probs, y, w)
    assert ce < mixture_cross_entropy(probs, y, np.array([1.0, 0.0]))
    assert ce < mixture_cross_entropy(probs, y, np.array([0.0, 1.0]))
    assert ce <= mixture_cross_entropy(probs, y, np.array([0.5, 0.5])) + 1e-9


def test_least_squares_is_exact_when_a_member_is_the_target() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, size=50)
    exact = np.eye(3)[y]
    other = rng.dirichlet(np.ones(3), size=50)
    assert np.allclose(fit_least_squares_weights(np.stack([other, exact]), y), [0, 1],
                       atol=1e-8)


def test_average_and_combine() -> None:
    p = np.random.default_rng(3).dirichlet(np.ones(3), size=(2, 5))  # (M=2, N=5, C=3)
    assert np.allclose(average_posteriors(p), (p[0] + p[1]) / 2)
    assert np.allclose(combine(p, [0.25, 0.75]), 0.25 * p[0] + 0.75 * p[1])
    with pytest.raises(MlsplabError, match="shape"):
        average_posteriors(p[0])
    with pytest.raises(MlsplabError, match="4 labels for 5 items"):
        fit_simplex_weights(p, np.zeros(4, dtype=int))
