"""Runner of step ``q3``: every configuration x seed on the assignment's split, then ensembles.

Each distinct (configuration, seed) is trained once, as one :class:`~mlsplab.executors.Task`
through ``options.executor`` (serial by default, Ray when asked), and read by every experiment
that uses it: ``q3a-adam`` and ``q3b-none`` are the same training, the ensembles reuse
``q3a-sgd`` and ``q3b-batchnorm``. Then every id of :data:`STEP_IDS` gets its ``metrics.json``:
measurements only; the report's sentences, tables and figures are made from them at report
time (:mod:`mlsplab.experiments.q3.summary`, :mod:`mlsplab.experiments.q3.figures`).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from mlsplab.data.files import ESC50_ZIP, locate, provenance
from mlsplab.executors import SerialExecutor, Task
from mlsplab.experiments.common import experiment_dir, finished_metrics, write_metrics
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q3.config import (
    ADAM_BATCH_AUG,
    ASSIGNMENT_SPLIT,
    BEYOND_ENSEMBLE_ID,
    BEYOND_MEMBERS,
    ENSEMBLE_ID,
    ENSEMBLE_MEMBERS,
    ENSEMBLE_VARIANT,
    SINGLE,
    STEP_IDS,
    Q3Config,
    Split,
    Training,
)
from mlsplab.experiments.q3.data import extract_features, feature_identity
from mlsplab.experiments.q3.ensemble import (
    beyond_candidates,
    ensemble,
    mean_std,
    member_runs,
    method_candidates,
    select_headline,
)
from mlsplab.experiments.q3.train import esc_job
from mlsplab.features.logmel import LogMelParams
from mlsplab.runtime import select_device
from mlsplab.training import TrainingJob, run_job

log = logging.getLogger(__name__)

Trained = dict[tuple[str, int], dict[str, Any]]  # (training key, seed) -> run_job result
SCORES = ("test_accuracy", "test_accuracy_last", "val_accuracy", "val_accuracy_last",
          "test_loss", "test_loss_last", "val_loss", "val_loss_last")


def trainings_needed() -> list[Training]:
    """Every distinct configuration step ``q3`` trains, in a stable order."""
    seen: dict[str, Training] = {}
    for t in (*SINGLE.values(), *ENSEMBLE_MEMBERS, *ENSEMBLE_VARIANT, *BEYOND_MEMBERS):
        seen.setdefault(t.key, t)
    return list(seen.values())


def experiment_configs(config: Q3Config, feature_key: str, device: str
                       ) -> dict[str, dict[str, Any]]:
    """The config recorded (and hashed) for each id of the step."""
    base = {**config.record(), "device_used": device, "features": feature_key,
            "split": ASSIGNMENT_SPLIT.tag, "early_stopping": None}
    configs = {i: {**base, "training": asdict(t)} for i, t in SINGLE.items()}
    configs[ENSEMBLE_ID] = {**base, "members": [asdict(t) for t in ENSEMBLE_MEMBERS],
                            "variant": [asdict(t) for t in ENSEMBLE_VARIANT],
                            "weight_cv_folds": config.weight_cv_folds}
    configs[BEYOND_ENSEMBLE_ID] = {**base, "members": [asdict(t) for t in BEYOND_MEMBERS],
                                   "weight_cv_folds": config.weight_cv_folds}
    return configs


def make_jobs(out: Path, zip_path: Path, params: LogMelParams, feature_key: str,
              trainings: list[Training], seeds: tuple[int, ...], splits: list[Split], *,
              epochs: int, batch_size: int, eval_batch: int, threads: int, device: str,
              augment: dict[str, int]) -> list[TrainingJob]:
    """One training job per (training, split, seed), in that nesting order."""
    return [esc_job(out=out, zip_path=zip_path, params=params, feature_key=feature_key,
                    training=t, seed=s, split=split, epochs=epochs, batch_size=batch_size,
                    eval_batch=eval_batch, threads=threads, device=device, augment=augment)
            for t in trainings for split in splits for s in seeds]


def run_jobs(options: RunOptions, jobs: list[TrainingJob], label: str) -> list[dict[str, Any]]:
    """Every job as a Task through ``options.executor`` (serial by default); results in order."""
    gpus = 1.0 if jobs[0].device.startswith("cuda") else 0.0
    tasks = [Task(f"{label} {j.name}", run_job, {"job": j}, cpus=j.threads or 1, gpus=gpus)
             for j in jobs]
    return (options.executor or SerialExecutor()).map(tasks)


def _curves(histories: list[list[dict[str, float]]]) -> dict[str, list[float]]:
    """Per-epoch mean, std, min and max over seeds (every seed has every epoch)."""
    n = min(len(h) for h in histories)
    curves: dict[str, list[float]] = {"epoch": list(range(1, n + 1))}
    for key in ("train_loss", "val_loss", "val_accuracy"):
        values = np.array([[h[e][key] for e in range(n)] for h in histories])  # (S, E)
        curves[key] = values.mean(axis=0).tolist()
        curves[f"{key}_std"] = (values.std(axis=0, ddof=1) if len(values) > 1
                                else np.zeros(n)).tolist()
        curves[f"{key}_min"] = values.min(axis=0).tolist()
        curves[f"{key}_max"] = values.max(axis=0).tolist()
    return curves


def single_metrics(training: Training, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Measurements of one configuration over its seeds (mean ± sample std and per seed)."""
    doc: dict[str, Any] = {"optimizer": training.optimizer, "norm": training.norm,
                           "lr": training.lr, "augment": training.augment,
                           "label": training.label, "training": training.key,
                           "optimizer_settings": runs[0]["optimizer_settings"],
                           "seeds": [r["seed"] for r in runs]}
    for key in SCORES:
        values = [r[key] for r in runs]
        doc[key], doc[f"{key}_std"] = mean_std(values)
        doc[f"{key}_per_seed"] = values
    doc.update({
        "best_epochs": [r["best_epoch"] for r in runs],
        "epochs_completed": [r["epochs_completed"] for r in runs],
        "histories": [r["history"] for r in runs],
        "mean_curves": _curves([r["history"] for r in runs]),
        "confusion_matrix": np.sum([r["confusion_matrix"] for r in runs], axis=0).tolist(),
        "confusion_matrix_last": np.sum([r["confusion_matrix_last"] for r in runs],
                                        axis=0).tolist(),
        "confusion_matrix_per_seed": [r["confusion_matrix"] for r in runs],
        "confusion_matrix_last_per_seed": [r["confusion_matrix_last"] for r in runs],
        "class_names": runs[0]["class_names"],
        "n_parameters": runs[0]["n_parameters"],
        "train_seconds_per_seed": [r["train_seconds"] for r in runs],
        "hosts": [r["host"] for r in runs], "devices": [r["device"] for r in runs],
        "threads": [r["threads"] for r in runs],
        "models": [f"{r['name']}/model.pt" for r in runs],
        "disk": {k: int(sum(r["disk"][k] for r in runs)) for k in runs[0]["disk"]}})
    return doc


def ensemble_metrics(trained: Trained, seeds: tuple[int, ...], weight_cv_folds: int
                     ) -> dict[str, Any]:
    """``q3c-ensemble``: the assignment's three members, and the lr-0.001 RMSprop variant."""
    members = member_runs(trained, ENSEMBLE_MEMBERS, seeds)
    result = ensemble(members, weight_cv_folds)
    head = select_headline(method_candidates(result))
    variant = ensemble(member_runs(trained, ENSEMBLE_VARIANT, seeds), weight_cv_folds)
    entry = result["methods"][head]
    return {
        **result, "member_keys": [t.key for t in ENSEMBLE_MEMBERS],
        "lr": {t.label: t.lr for t in ENSEMBLE_MEMBERS}, "seeds": list(seeds),
        "headline_method": head,
        **{k: entry[k] for k in ("test_accuracy", "test_accuracy_std", "test_accuracy_per_seed",
                                 "val_accuracy_oof", "val_accuracy_oof_std", "val_accuracy")},
        "variant": {**variant, "member_keys": [t.key for t in ENSEMBLE_VARIANT],
                    "headline_method": select_headline(method_candidates(variant))},
        **_member_histories(members)}


def beyond_ensemble_metrics(trained: Trained, seeds: tuple[int, ...], weight_cv_folds: int
                            ) -> dict[str, Any]:
    """``q3x-ensemble``: ensembles that include the augmented models, headline on validation."""
    members = member_runs(trained, BEYOND_MEMBERS, seeds)
    families, candidates = beyond_candidates(members, ADAM_BATCH_AUG.label, weight_cv_folds)
    head = select_headline(candidates)
    h = candidates[head]
    doc = {"beyond_assignment": True, "members": list(members),
           "member_keys": [t.key for t in BEYOND_MEMBERS],
           "lr": {t.label: t.lr for t in BEYOND_MEMBERS}, "seeds": list(seeds),
           "families": families,
           "candidates": {k: {x: e[x] for x in ("family", "method", "n_models")}
                          for k, e in candidates.items()},
           "headline": {"name": head, "family": h["family"], "method": h["method"],
                        "n_models": h["n_models"]},
           **{k: h[k] for k in ("test_accuracy", "test_accuracy_std", "test_accuracy_per_seed",
                                "val_accuracy", "val_accuracy_oof", "val_accuracy_oof_std",
                                "val_cross_entropy_oof")},
           **_member_histories(members)}
    if len(h["test_accuracy_per_seed"]) < 2:  # one pooled ensemble: no spread over seeds
        doc["test_accuracy_std"] = doc["val_accuracy_oof_std"] = None
    return doc


CURVE_KEYS = ("train_loss", "val_loss", "val_accuracy")


def _member_histories(members: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The members' curves as one history per seed, like a single configuration's.

    Row ``e`` of ``histories[s]`` holds every member's numbers of seed ``s`` at epoch ``e``
    (``members``) and, under the usual keys, their mean over the members; the members' own
    histories are kept as ``member_histories`` (member -> one list per seed).
    """
    names = list(members)
    histories = []
    for s in range(len(members[names[0]])):
        runs = {n: members[n][s]["history"] for n in names}
        rows = []
        for e in range(min(len(h) for h in runs.values())):
            per = {n: {k: h[e][k] for k in CURVE_KEYS} for n, h in runs.items()}
            rows.append({"epoch": e + 1,
                         **{k: float(np.mean([p[k] for p in per.values()])) for k in CURVE_KEYS},
                         "members": per})
        histories.append(rows)
    return {"member_models": {n: [f"{r['name']}/model.pt" for r in rs]
                              for n, rs in members.items()},
            "histories": histories, "epochs_completed": [len(h) for h in histories],
            "member_histories": {n: [r["history"] for r in rs] for n, rs in members.items()},
            "hosts": sorted({r["host"] for rs in members.values() for r in rs})}


def run(options: RunOptions, **params: Any) -> None:
    """Train (or reuse) every Q3 model and write each id's ``metrics.json``.

    Parameters
    ----------
    options : RunOptions
        ``out``, ``data_dir``, ``seed``/``seeds``, ``quick``, ``device`` and ``executor`` are
        used.
    **params
        Overrides of :class:`Q3Config` fields, e.g. ``epochs=60``.
    """
    t_start, load_start = time.perf_counter(), os.getloadavg()[0]
    config = Q3Config.from_options(options, **params)
    out = Path(options.out)
    zip_path = locate(ESC50_ZIP, options.data_dir)
    feature_params = LogMelParams()
    ident = feature_identity(zip_path, feature_params)
    device = select_device(config.device).type
    configs = experiment_configs(config, ident["cache_key"], device)
    if all(finished_metrics(out / i, configs[i]) is not None for i in STEP_IDS):
        return
    features = extract_features(zip_path, out / "cache", feature_params)
    jobs = make_jobs(out, zip_path, feature_params, ident["cache_key"], trainings_needed(),
                     config.seed_list, [ASSIGNMENT_SPLIT], epochs=config.epochs,
                     batch_size=config.batch_size, eval_batch=config.eval_batch,
                     threads=config.threads, device=config.device, augment=config.augment)
    results = run_jobs(options, jobs, "q3")
    trained: Trained = {(j.recipe.training.key, j.seed): r for j, r in zip(jobs, results)}
    first = results[0]
    common = {"quick": config.quick, "epochs": config.epochs, "batch_size": config.batch_size,
              "data": provenance(zip_path), "features": features,
              "split_sizes": first["split_sizes"],
              "class_names": first["class_names"],
              "executor": getattr(options.executor, "name", "serial")}
    for exp_id, training in SINGLE.items():
        runs = [trained[(training.key, s)] for s in config.seed_list]
        doc = {**common, **single_metrics(training, runs)}
        if training.augment:
            doc["beyond_assignment"] = True
        write_metrics(experiment_dir(out, exp_id), exp_id, configs[exp_id], doc)
    doc = {**common, **ensemble_metrics(trained, config.seed_list, config.weight_cv_folds)}
    doc["q3_timing"] = {
        "wall_seconds_of_this_call": time.perf_counter() - t_start,
        "load_average_at_start": load_start, "load_average_at_end": os.getloadavg()[0],
        "train_seconds_all_models": float(sum(r["train_seconds"] for r in results)),
        "n_models": len(results), "epochs_all_models": sum(r["epochs_completed"] for r in results),
        "n_models_trained_in_this_call": sum(1 for r in results if not r.get("reused")),
        "cpu_count": os.cpu_count()}
    write_metrics(experiment_dir(out, ENSEMBLE_ID), ENSEMBLE_ID, configs[ENSEMBLE_ID], doc)
    doc = {**common, **beyond_ensemble_metrics(trained, config.seed_list, config.weight_cv_folds)}
    write_metrics(experiment_dir(out, BEYOND_ENSEMBLE_ID), BEYOND_ENSEMBLE_ID,
                  configs[BEYOND_ENSEMBLE_ID], doc)
    log.info("Q3 done in %.0f s (load average %.1f at start, %.1f at end)",
             time.perf_counter() - t_start, load_start, os.getloadavg()[0])

