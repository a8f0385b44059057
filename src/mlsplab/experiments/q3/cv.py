"""Runner of step ``q3x-cv`` (beyond the assignment): ESC-10 five-fold cross-validation.

Published ESC-10 results (Piczak 2015: CNN 80.5 %, random forest 72.7 %, human 95.7 %) are the
mean over the dataset's five predefined folds, which keep the clips of one source recording
together. For each model of :data:`CV_MODELS`: five trainings, test fold k, validation fold
k - 1 (cyclically), training on the other three, with Q3's fixed horizon and its selection rule
(the lowest-validation-loss epoch is tested; the last epoch is reported beside it). The run with
test fold 5 is the assignment's split, so it is the very training of step ``q3``'s first seed
and is reused from ``<out>/q3-models/`` when that exists.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlsplab.data.files import ESC50_ZIP, locate, provenance
from mlsplab.experiments.common import experiment_dir, finished_metrics, write_metrics
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q3.config import CV_ID, CrossValidationConfig, Training, cv_splits
from mlsplab.experiments.q3.data import extract_features, feature_identity
from mlsplab.experiments.q3.ensemble import mean_std
from mlsplab.experiments.q3.run import make_jobs, run_jobs
from mlsplab.features.logmel import LogMelParams
from mlsplab.runtime import select_device
from mlsplab.training import TrainingJob


def fold_metrics(training: Training, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One model's cross-validation: per-fold rows, mean ± std over folds, summed confusion."""
    folds = [{"test_fold": r["config"]["split"]["test"], "val_fold": r["config"]["split"]["val"],
              "train_folds": r["config"]["split"]["train"], "n_test": len(r["test_labels"]),
              **{k: r[k] for k in ("test_accuracy", "test_accuracy_last", "val_accuracy",
                                   "best_epoch")}} for r in runs]
    doc: dict[str, Any] = {"label": training.label, "training": asdict(training),
                           "lr": training.lr, "folds": folds}
    for key in ("test_accuracy", "test_accuracy_last", "val_accuracy"):
        doc[key], doc[f"{key}_std"] = mean_std([f[key] for f in folds])
        doc[f"{key}_per_fold"] = [f[key] for f in folds]
    correct = sum(round(f["test_accuracy"] * f["n_test"]) for f in folds)
    tested = [name for r in runs for name in r["test_files"]]
    doc.update({
        "pooled_test_accuracy": correct / sum(f["n_test"] for f in folds),
        "n_clips_tested": len(tested), "n_distinct_clips_tested": len(set(tested)),
        "confusion_matrix": np.sum([r["confusion_matrix"] for r in runs], axis=0).tolist(),
        "best_epochs": [r["best_epoch"] for r in runs],
        "train_seconds_per_fold": [r["train_seconds"] for r in runs],
        "hosts": sorted({r["host"] for r in runs}),
        "models": [f"{r['name']}/model.pt" for r in runs]})
    return doc


@dataclass
class FoldPlan:
    """The trainings of one five-fold step, planned: what it records and the jobs to run."""

    recorded: dict[str, Any]  # the step's config as metrics.json records (and hashes) it
    features: dict[str, Any]  # the feature cache, described for metrics.json
    jobs: list[TrainingJob]  # one per (training, split), in that nesting order
    zip_path: Path


def plan_folds(options: RunOptions, config: Any, exp_id: str,
               trainings: list[Any]) -> FoldPlan | None:
    """The jobs of ``trainings`` on every split of :func:`cv_splits`, with ``config``'s
    seed, horizon and batch sizes; None when ``<out>/<exp_id>`` is already finished.

    ``config`` is :class:`CrossValidationConfig` or any config with the same fields (``seed``,
    ``epochs``, ``n_folds``, ``batch_size``, ``eval_batch``, ``threads``, ``device``,
    ``augment``, ``record()``): every five-fold step shares this protocol.
    """
    out = Path(options.out)
    zip_path = locate(ESC50_ZIP, options.data_dir)
    feature_params = LogMelParams()
    ident = feature_identity(zip_path, feature_params)
    splits = cv_splits(config.n_folds)
    recorded = {**config.record(), "device_used": select_device(config.device).type,
                "features": ident["cache_key"], "splits": [s.tag for s in splits],
                "early_stopping": None}
    if finished_metrics(out / exp_id, recorded) is not None:
        return None
    features = extract_features(zip_path, out / "cache", feature_params)
    jobs = make_jobs(out, zip_path, feature_params, ident["cache_key"], trainings,
                     (config.seed,), splits, epochs=config.epochs,
                     batch_size=config.batch_size, eval_batch=config.eval_batch,
                     threads=config.threads, device=config.device, augment=config.augment)
    return FoldPlan(recorded, features, jobs, zip_path)


def run(options: RunOptions, **params: Any) -> None:
    """Train (or reuse) every fold of every model of :data:`CV_MODELS`; write ``q3x-cv``.

    Parameters
    ----------
    options : RunOptions
        ``out``, ``data_dir``, ``seed``, ``quick``, ``device`` and ``executor`` are used.
    **params
        Overrides of :class:`CrossValidationConfig` fields.
    """
    t0 = time.perf_counter()
    config = CrossValidationConfig.from_options(options, **params)
    plan = plan_folds(options, config, CV_ID, list(config.models))
    if plan is None:
        return
    jobs, out = plan.jobs, Path(options.out)
    results = run_jobs(options, jobs, CV_ID)
    n = config.n_folds  # jobs: model-major, one per split
    models = {m.key: fold_metrics(m, results[i * n:(i + 1) * n])
              for i, m in enumerate(config.models)}
    head = models[config.models[0].key]  # the assignment's Adam/BatchNorm CNN
    doc = {"beyond_assignment": True, "quick": config.quick, "seed": config.seed,
           "epochs": config.epochs, "model_order": list(models), "models": models,
           **{k: head[k] for k in ("test_accuracy", "test_accuracy_std", "test_accuracy_last",
                                   "test_accuracy_last_std")},
           "lr": {m.label: m.lr for m in config.models},
           "histories": [r["history"] for r in results],
           "history_runs": [f"{j.recipe.training.label} {j.recipe.split.tag}" for j in jobs],
           "epochs_completed": [r["epochs_completed"] for r in results],
           "class_names": results[0]["class_names"], "data": provenance(plan.zip_path),
           "features": plan.features, "executor": getattr(options.executor, "name", "serial"),
           "train_seconds_all_folds": float(sum(r["train_seconds"] for r in results)),
           "n_trained_in_this_call": sum(1 for r in results if not r.get("reused")),
           "wall_seconds_of_this_call": time.perf_counter() - t0}
    write_metrics(experiment_dir(out, CV_ID), CV_ID, plan.recorded, doc)
