"""The horizon pilot: how many epochs every Q3 configuration trains (``mlsplab esc10 --pilot``).

SGD (the slowest learner of the old 12-epoch protocol, still improving at its cap) and Adam are
trained with one seed for :data:`PILOT_EPOCHS` epochs, without early stopping. The horizon is
read from the slower one's validation loss: the epoch of the lowest :data:`SMOOTHING`-epoch
centred moving average, rounded up to a multiple of :data:`ROUND_TO`, at least
:data:`MIN_EPOCHS`. The curves and the choice go to ``<out>/q3-pilot/metrics.json``; its
models to ``<out>/q3-pilot/q3-models/`` (apart from the main runs, which train for the horizon).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from mlsplab.data.files import ESC50_ZIP, locate, provenance
from mlsplab.executors import SerialExecutor, Task
from mlsplab.experiments.common import experiment_dir, write_metrics
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q3.config import (
    ADAM,
    ASSIGNMENT_SPLIT,
    MIN_EPOCHS,
    PILOT_DIR,
    PILOT_EPOCHS,
    ROUND_TO,
    SGD,
    SMOOTHING,
    Q3Config,
)
from mlsplab.experiments.q3.data import extract_features, feature_identity
from mlsplab.experiments.q3.train import esc_job
from mlsplab.features.logmel import LogMelParams
from mlsplab.training import run_job


def moving_average(values: list[float], window: int = SMOOTHING) -> list[float]:
    """Centred moving average; the window shrinks at both ends (same length as ``values``)."""
    arr = np.asarray(values, dtype=np.float64)
    half = window // 2
    return [float(arr[max(0, i - half):i + half + 1].mean()) for i in range(len(arr))]


def choose_horizon(val_loss: list[float], val_accuracy: list[float] | None = None, *,
                   window: int = SMOOTHING, round_to: int = ROUND_TO,
                   min_epochs: int = MIN_EPOCHS) -> dict[str, Any]:
    """The horizon read from one validation-loss curve (see the module docstring).

    With ``val_accuracy``, also records as a check how much the smoothed validation accuracy
    still rises after the horizon (``accuracy_gain_after_horizon``, a fraction).

    Examples
    --------
    >>> choose_horizon([3 - 0.05 * e for e in range(43)] + [1 + 0.01 * e for e in range(37)])
    ... # doctest: +ELLIPSIS
    {'smoothed_min_epoch': 43, 'horizon': 50, ...}
    """
    smoothed = moving_average(val_loss, window)
    best = int(np.argmin(smoothed)) + 1  # 1-based epoch
    horizon = max(min_epochs, math.ceil(best / round_to) * round_to)
    out = {"smoothed_min_epoch": best, "horizon": horizon, "smoothed_val_loss": smoothed,
           "window": window, "round_to": round_to, "min_epochs": min_epochs}
    if val_accuracy is not None and len(val_accuracy) > horizon:
        acc = moving_average(val_accuracy, window)
        out["smoothed_val_accuracy"] = acc
        out["accuracy_gain_after_horizon"] = max(acc[horizon:]) - acc[horizon - 1]
    return out


def run_pilot(options: RunOptions, epochs: int = PILOT_EPOCHS) -> dict[str, Any]:
    """Train the pilot (SGD and Adam, seed ``options.seed``) and write its metrics.

    Returns
    -------
    dict
        ``histories`` per training, ``choices`` (``choose_horizon`` of each), ``slowest`` (the
        training whose smoothed validation loss bottoms out last) and ``horizon``.
    """
    config = Q3Config.from_options(options, epochs=epochs, quick=False)
    out = Path(options.out)
    zip_path = locate(ESC50_ZIP, options.data_dir)
    params = LogMelParams()
    features = extract_features(zip_path, out / "cache", params)
    ident = feature_identity(zip_path, params)
    jobs = [esc_job(out=out / PILOT_DIR, zip_path=zip_path, cache_dir=out / "cache",
                    params=params, feature_key=ident["cache_key"], training=t,
                    seed=options.seed, split=ASSIGNMENT_SPLIT, epochs=epochs,
                    threads=config.threads, device=config.device) for t in (SGD, ADAM)]
    executor = options.executor or SerialExecutor()
    results = executor.map([Task(f"q3 pilot {j.name}", run_job, {"job": j}, cpus=config.threads)
                            for j in jobs])
    histories = {r["training"]: r["history"] for r in results}
    choices = {k: choose_horizon([row["val_loss"] for row in h],
                                 [row["val_accuracy"] for row in h])
               for k, h in histories.items()}
    slowest = max(choices, key=lambda k: choices[k]["smoothed_min_epoch"])
    doc = {"trainings": list(histories), "seed": options.seed, "epochs": epochs,
           "histories": list(histories.values()), "epochs_completed":
               [len(h) for h in histories.values()],
           "lr": {r["training"]: r["lr"] for r in results}, "choices": choices,
           "slowest": slowest, "horizon": choices[slowest]["horizon"],
           "train_seconds": {r["training"]: r["train_seconds"] for r in results},
           "hosts": [r["host"] for r in results], "features": features,
           "data": provenance(zip_path)}
    write_metrics(experiment_dir(out, PILOT_DIR), PILOT_DIR,
                  {"pilot": config.record(), "trainings": list(histories)}, doc)
    return doc
