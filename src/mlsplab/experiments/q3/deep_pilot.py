"""The deeper CNN's design pilot: each option against the base recipe, on validation folds only.

Every variant differs from :data:`~mlsplab.experiments.q3.deep_config.DEEP` by one option (the
horizon, mixup, augmentation, the learning-rate schedule, depth) and is trained with seed 0 on
the two splits of :func:`~mlsplab.experiments.q3.config.cv_splits` whose validation folds are
4 and 5. Only validation numbers are read and written (``<out>/q3x-deep-pilot/metrics-*.json``):
the accuracy and loss at the lowest-validation-loss epoch and the validation curves. The rule,
fixed before the pilot ran: the five-fold step trains the variant with the highest mean
validation accuracy over the two folds (ties: the lower mean validation loss). The trainings
live in ``<out>/q3-models/`` like every other (another horizon in ``<out>/horizon-<n>/``), so
the five-fold step reuses the two folds whose recipe it shares.

Run: ``python -m mlsplab.experiments.q3.deep_pilot --out RESULTS [--variants base,no-mixup]``.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from mlsplab.data.files import ESC50_ZIP, locate
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q3.config import cv_splits
from mlsplab.experiments.q3.data import extract_features, feature_identity
from mlsplab.experiments.q3.deep_config import DEEP, DEEP_AUGMENT, DEEP_EPOCHS
from mlsplab.experiments.q3.run import make_jobs, run_jobs
from mlsplab.features.logmel import LogMelParams
from mlsplab.io import atomic_write_json

PILOT_ID = "q3x-deep-pilot"
# variant -> (changes to DEEP, epochs)
VARIANTS: dict[str, tuple[dict[str, Any], int]] = {
    "base": ({}, DEEP_EPOCHS),
    "horizon-30": ({}, 30),
    "no-mixup": ({"mixup": 0.0}, DEEP_EPOCHS),
    "no-augment": ({"augment": False}, DEEP_EPOCHS),
    "constant-lr-1e-3": ({"schedule": "constant", "lr": 1e-3}, DEEP_EPOCHS),
    "two-convs-per-block": ({"convs_per_block": 2}, DEEP_EPOCHS),
}
PILOT_VAL_FOLDS = (4, 5)


def run_pilot(out: Path, names: list[str], data_dir: Path | None = None,
              seed: int = 0) -> dict[str, Any]:
    """Train (or reuse) the variants ``names``; validation numbers of every finished variant."""
    zip_path = locate(ESC50_ZIP, data_dir)
    params = LogMelParams()
    ident = feature_identity(zip_path, params)
    extract_features(zip_path, out / "cache", params)
    splits = [s for s in cv_splits() if s.val in PILOT_VAL_FOLDS]
    rows: dict[str, Any] = {}
    for name in names:
        changes, epochs = VARIANTS[name]
        training = replace(DEEP, **changes)
        # a run's folder is named by recipe, seed and split, not by horizon: another horizon
        # trains in a folder of its own
        where = out if epochs == DEEP_EPOCHS else out / f"horizon-{epochs}"
        extract_features(zip_path, where / "cache", params)
        jobs = make_jobs(where, zip_path, params, ident["cache_key"], [training], (seed,), splits,
                         epochs=epochs, batch_size=16, eval_batch=8, threads=1, device="cpu",
                         augment=dict(DEEP_AUGMENT))
        results = run_jobs(RunOptions(out=where), jobs, PILOT_ID)
        rows[name] = {
            "changes": changes, "epochs": epochs, "training": asdict(training),
            "val_folds": [r["config"]["split"]["val"] for r in results],
            "val_accuracy_per_fold": [r["val_accuracy"] for r in results],
            "val_loss_per_fold": [r["val_loss"] for r in results],
            "val_accuracy": float(np.mean([r["val_accuracy"] for r in results])),
            "val_loss": float(np.mean([r["val_loss"] for r in results])),
            "best_epochs": [r["best_epoch"] for r in results],
            "train_seconds_per_fold": [r["train_seconds"] for r in results],
            "val_curves": [[(h["val_loss"], h["val_accuracy"]) for h in r["history"]]
                           for r in results]}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    names = [v for v in args.variants.split(",") if v]
    rows = run_pilot(args.out, names, args.data_dir)
    path = args.out / PILOT_ID / f"metrics-{'-'.join(names)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, {"variants": rows, "val_folds": list(PILOT_VAL_FOLDS)})
    for name, row in rows.items():
        print(f"{name}: val acc {row['val_accuracy']:.4f} {row['val_accuracy_per_fold']}, "
              f"val loss {row['val_loss']:.4f}, best epochs {row['best_epochs']}")


if __name__ == "__main__":
    main()
