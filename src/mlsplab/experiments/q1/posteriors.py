"""Per-review posteriors of the Q1 models in their results, written and read back.

Every Q1 result (the three networks, per seed, and the linear models) records, for the
validation and the test reviews of its split in row order, ``P(positive)`` of each review
rounded to :data:`DIGITS` decimals (``val_posteriors``, ``test_posteriors``) and the true
labels as a string of ``0``/``1`` (``val_labels``, ``test_labels``). That is what an ensemble
needs: it can be rebuilt from ``metrics.json`` files without the models.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DIGITS = 6  # decimals kept of each posterior: 1e-6 is far below any decision that matters
SPLITS = ("val", "test")
KEYS = tuple(f"{s}_{k}" for s in SPLITS for k in ("posteriors", "labels"))


def record(p_positive: dict[str, np.ndarray], labels: dict[str, np.ndarray]) -> dict[str, Any]:
    """The posterior fields of a result.

    Parameters
    ----------
    p_positive : dict
        ``"val"`` and ``"test"`` -> ndarray of shape (n_reviews,), ``P(positive)`` in [0, 1].
    labels : dict
        ``"val"`` and ``"test"`` -> ndarray of shape (n_reviews,), 0 (negative) or 1.

    Returns
    -------
    dict
        ``val_posteriors``, ``test_posteriors`` (lists of floats), ``val_labels``,
        ``test_labels`` (strings of ``0``/``1``).
    """
    doc: dict[str, Any] = {}
    for split in SPLITS:
        p = np.asarray(p_positive[split], dtype=np.float64)
        y = np.asarray(labels[split])
        assert p.shape == y.shape, (split, p.shape, y.shape)
        doc[f"{split}_posteriors"] = [round(float(x), DIGITS) for x in p]
        doc[f"{split}_labels"] = "".join("1" if v == 1 else "0" for v in y)
    return doc


def has_posteriors(doc: dict[str, Any] | None) -> bool:
    """Whether ``doc`` (a result, or one seed's entry of it) holds every posterior field."""
    return bool(doc) and all(doc.get(k) for k in KEYS)


def read(doc: dict[str, Any], split: str) -> tuple[np.ndarray, np.ndarray]:
    """``(P(positive), labels)`` of ``split`` from a result that has them, as arrays of shape
    (n_reviews,); a value that is not finite becomes 0.5, which favours neither class."""
    p = np.asarray(doc[f"{split}_posteriors"], dtype=np.float64)
    p[~np.isfinite(p)] = 0.5
    y = np.frombuffer(doc[f"{split}_labels"].encode("ascii"), dtype=np.uint8) - ord("0")
    return p, y.astype(np.int64)
