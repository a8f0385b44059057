"""One Q1 model's ``metrics.json`` from the results of its seeds (measurements only).

The first seed's curves, buckets and attention measurements are kept at the top level (the
report draws them); every seed's are in ``per_seed`` and ``histories``; test accuracies are
averaged over the seeds that have one, with the sample standard deviation (ddof=1) when there
are at least two.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlsplab.experiments.q1.config import SentimentConfig

# fields of a seed's result copied to the top level from the first seed
FIRST_SEED_FIELDS = (
    "history", "best_epoch", "n_parameters", "device", "cpu", "threads", "precision",
    "precision_reason", "precision_decision", "lstm_input", "data", "sizes", "lengths",
    "unknown_token_rate", "vocab_size", "duplicate_audit", "train_eval_reviews", "word_vectors",
    "length_buckets", "attention", "attention_examples", "seconds_per_epoch",
    "tokens_per_second", "val_seconds_per_epoch", "train_eval_seconds_per_epoch",
    "test_loss", "test_loss_last", "n_test_no_train_twin", "test_accuracy_train_twin",
)
# fields of each seed listed in per_seed
PER_SEED_FIELDS = (
    "seed", "where", "complete", "epochs_completed", "best_epoch", "precision",
    "test_accuracy", "test_accuracy_last", "test_accuracy_no_train_twin",
    "test_accuracy_train_twin", "n_test_no_train_twin", "duplicate_audit", "length_buckets",
    "seconds_per_epoch", "train_eval_seconds_per_epoch", "train_wall_seconds_this_call",
    "test_correct", "val_posteriors", "test_posteriors", "val_labels", "test_labels",
)


def _host(result: dict[str, Any]) -> str:
    """Where a seed trained (``where`` in results written before the one training job)."""
    return result.get("host", result.get("where"))


def _train_wall(result: dict[str, Any]) -> float | None:
    """Seconds of fit and test measurements in the call that trained the seed."""
    return result.get("train_wall_seconds", result.get("train_wall_seconds_this_call"))


def mean_std(values: list[float | None]) -> tuple[float | None, float | None, list[float]]:
    """Mean and sample std (None with fewer than two values) of the values that exist."""
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return None, None, []
    std = float(np.std(vals, ddof=1)) if len(vals) > 1 else None
    return float(np.mean(vals)), std, vals


def aggregate(cfg: SentimentConfig, results: list[dict[str, Any]]) -> dict[str, Any]:
    """The metrics of one model from its seeds' results (in seed order)."""
    first = results[0]
    doc: dict[str, Any] = {k: first.get(k) for k in FIRST_SEED_FIELDS if k in first}
    doc.update(
        model=cfg.model, model_config=cfg.model_config,
        complete=all(r["complete"] for r in results), seeds=[r["seed"] for r in results],
        epochs_planned=cfg.epochs,
        epochs_completed=min(r["epochs_completed"] for r in results),
        histories=[r["history"] for r in results],
        per_seed=[{**{k: r.get(k) for k in PER_SEED_FIELDS}, "where": _host(r),
                    "train_wall_seconds_this_call": _train_wall(r)} for r in results],
        where=sorted({_host(r) for r in results}),
    )
    for key in ("test_accuracy", "test_accuracy_last", "test_accuracy_no_train_twin"):
        mean, std, vals = mean_std([r.get(key) for r in results])
        if mean is None:
            continue
        if key == "test_accuracy_last" and len(vals) < len(results):
            mean, std = None, None  # a seed stopped inside an epoch has no last-epoch number
        doc[key], doc[f"{key}_std"], doc[f"{key}_values"] = mean, std, vals
    return doc
