"""What the recorded curves say, read at report time (no training, no new measurement).

Each function reads a single-configuration metrics document (``histories``, ``mean_curves``,
per-seed scores) and returns numbers the report's sentences state, plus the one-word verdicts
those numbers support; the thresholds are here, next to the rule they implement.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mlsplab.formatting import percent

DIVERGED_FACTOR = 10.0  # training loss above 10 x the chance-level loss ln(C): diverged
LEARNED_FACTOR = 2.0  # last-epoch validation accuracy at least 2 x chance: it learned
OSCILLATION_EPOCHS = 10  # window at the end of training for the oscillation measure
OSCILLATION_STD = 0.05  # std of validation accuracy over that window above 5 points (4 of 80
# clips): it oscillated


def n_classes(doc: dict[str, Any]) -> int:
    return len(doc.get("class_names") or doc["confusion_matrix"])


def fmt_loss(x: float) -> str:
    """A loss for prose: ``1.23``, or ``1.2 × 10^4`` / ``3.2 × 10^-3`` (inline math) when
    large or small."""
    if not math.isfinite(x):
        return "not finite"
    if x == 0 or 0.01 <= abs(x) < 100:
        return f"{x:.2f}"
    exponent = math.floor(math.log10(abs(x)))
    return f"${x / 10 ** exponent:.1f} \\times 10^{{{exponent}}}$"


def predicted_classes(matrix: list[list[int]]) -> int:
    """How many classes a confusion matrix's columns (predictions) use."""
    return sum(1 for col in zip(*matrix) if sum(col) > 0)


def fmt_acc(doc: dict[str, Any], key: str = "test_accuracy") -> str:
    """Mean ± std over seeds, or the plain value for one seed or a pooled ensemble."""
    per = doc.get(f"{key}_per_seed") or doc.get(f"{key}_per_fold") or []
    std = doc.get(f"{key}_std") if len(per) > 1 else None
    return percent(doc.get(key), std)


def curve_reading(doc: dict[str, Any]) -> dict[str, Any]:
    """How one configuration trained, from its curves.

    Returns
    -------
    dict
        ``first_train_loss`` / ``last_train_loss`` / ``max_train_loss`` (+ ``max_epoch``) of the
        mean curve, ``last_val_loss``, ``last_val_accuracy``, ``min_val_loss`` (+
        ``min_val_epoch``), ``chance_loss`` (ln C), ``late_val_accuracy_std`` (per seed over
        the last epochs, mean over seeds), ``non_finite`` (any seed) and ``verdict``: one of
        ``diverged``, ``diverged, then learned``, ``learned, oscillating``, ``learned``,
        ``did not learn``.
    """
    c = doc["mean_curves"]
    chance = math.log(n_classes(doc))
    train, val = np.asarray(c["train_loss"]), np.asarray(c["val_loss"])
    finite_train = np.where(np.isfinite(train), train, np.inf)
    non_finite = any(not math.isfinite(r[k]) for h in doc["histories"] for r in h
                     for k in ("train_loss", "val_loss"))
    late = [np.std([r["val_accuracy"] for r in h[-OSCILLATION_EPOCHS:]])
            for h in doc["histories"]]
    out = {"first_train_loss": float(train[0]), "last_train_loss": float(train[-1]),
           "max_train_loss": float(np.max(finite_train)),
           "max_epoch": int(np.argmax(finite_train)) + 1,
           "last_val_loss": float(val[-1]), "last_val_accuracy": float(c["val_accuracy"][-1]),
           "min_val_loss": float(np.nanmin(val)), "min_val_epoch": int(np.nanargmin(val)) + 1,
           "chance_loss": chance, "n_classes": n_classes(doc),
           "late_val_accuracy_std": float(np.mean(late)),
           "non_finite": non_finite, "epochs": len(train)}
    blew_up = non_finite or out["max_train_loss"] > DIVERGED_FACTOR * chance
    learned = out["last_val_accuracy"] >= LEARNED_FACTOR / n_classes(doc)
    if blew_up:
        out["verdict"] = "diverged, then learned" if learned else "diverged"
    elif not learned:
        out["verdict"] = "did not learn"
    elif out["late_val_accuracy_std"] > OSCILLATION_STD:
        out["verdict"] = "learned, oscillating"
    else:
        out["verdict"] = "learned"
    return out


def epochs_to_reach(doc: dict[str, Any], level: float) -> int | None:
    """First epoch whose mean validation loss is at most ``level`` (None: never)."""
    for epoch, value in zip(doc["mean_curves"]["epoch"], doc["mean_curves"]["val_loss"]):
        if value <= level:
            return int(epoch)
    return None


def common_level(docs: dict[str, dict[str, Any]]) -> float:
    """The highest of the configurations' lowest mean validation losses among those that
    learned: a level every one of them reaches, to compare how fast each gets there."""
    lows = [min(d["mean_curves"]["val_loss"]) for d in docs.values()
            if curve_reading(d)["verdict"].startswith("learned")]
    return float(max(lows)) if lows else math.nan


def last_gap(doc: dict[str, Any]) -> float:
    """Validation minus training loss at the last epoch (mean curves)."""
    c = doc["mean_curves"]
    return float(c["val_loss"][-1] - c["train_loss"][-1])


def beyond_spread(a: dict[str, Any], b: dict[str, Any], key: str = "test_accuracy") -> bool:
    """Whether the gap between two configurations' means exceeds the larger seed std."""
    noise = max(a.get(f"{key}_std") or 0.0, b.get(f"{key}_std") or 0.0)
    return abs(a[key] - b[key]) > noise
