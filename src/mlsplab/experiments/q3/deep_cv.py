"""Runner of step ``q3x-deep-cnn`` (beyond the assignment): the deeper CNN, five folds.

The protocol is q3x-cv's (:mod:`mlsplab.experiments.q3.cv`): the splits of
:func:`~mlsplab.experiments.q3.config.cv_splits` (test fold k, validation fold k - 1, training on
the other three), one seed, a fixed horizon, the lowest-validation-loss epoch tested. Each fold
is one :class:`~mlsplab.training.TrainingJob` run by ``options.executor``, so it
resumes like every training and runs side by side with ``--executor ray``. The metrics also
hold the model's parameters and multiply-adds beside the assignment's CNN.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mlsplab.data.files import provenance
from mlsplab.experiments.common import experiment_dir, write_metrics
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q3.cv import fold_metrics, plan_folds
from mlsplab.experiments.q3.deep_config import DEEP_ID, DeepCvConfig, DeepTraining
from mlsplab.experiments.q3.run import run_jobs
from mlsplab.models.esc_cnn import EscCnnConfig, conv_layers
from mlsplab.models.esc_deep_cnn import EscDeepCnn, EscDeepCnnConfig, deep_cost


def assignment_cost(config: EscCnnConfig) -> dict[str, int]:
    """Parameters and multiply-adds of one forward pass of the assignment's CNN (BatchNorm).

    Convolutions: ``k² c_in c_out`` per output position; dense layers: ``n_in n_out``.
    """
    from mlsplab.models.esc_cnn import EscCnn  # torch: imported when counting

    convs = conv_layers(config)
    conv = sum(s.kernel ** 2 * s.in_channels * s.out_channels * s.conv_hw[0] * s.conv_hw[1]
               for s in convs)
    last = convs[-1]
    flat = last.out_channels * last.pooled_hw[0] * last.pooled_hw[1]
    dense = flat * config.hidden + config.hidden ** 2 + config.hidden * config.n_classes
    model = EscCnn(config)
    return {"parameters": sum(p.numel() for p in model.parameters()),
            "multiply_adds": int(conv + dense), "conv_multiply_adds": int(conv)}


def model_cost(training: DeepTraining, n_mels: int, n_frames: int, n_classes: int
               ) -> dict[str, Any]:
    """The deeper CNN's parameters and multiply-adds beside the assignment's CNN's."""
    config = EscDeepCnnConfig(n_mels=n_mels, n_frames=n_frames, n_classes=n_classes,
                              stem_channels=training.stem_channels,
                              channels=tuple(training.channels),
                              convs_per_block=training.convs_per_block, dropout=training.dropout)
    deep = {**deep_cost(config),
            "parameters": sum(p.numel() for p in EscDeepCnn(config).parameters())}
    base = assignment_cost(EscCnnConfig(n_mels=n_mels, n_frames=n_frames, n_classes=n_classes,
                                        norm="batch"))
    return {"deep": deep, "assignment": base, "counting": "one clip, forward pass; conv: "
            "k^2 c_in c_out per output position, dense: n_in n_out; norms, pooling and "
            "activations not counted"}


def run(options: RunOptions, **params: Any) -> None:
    """Train (or reuse) the deeper CNN on every fold; write ``q3x-deep-cnn``.

    Parameters
    ----------
    options : RunOptions
        ``out``, ``data_dir``, ``seed``, ``quick``, ``device`` and ``executor`` are used.
    **params
        Overrides of :class:`DeepCvConfig` fields.
    """
    t0 = time.perf_counter()
    config = DeepCvConfig.from_options(options, **params)
    plan = plan_folds(options, config, DEEP_ID, [config.model])
    if plan is None:
        return
    out, jobs = Path(options.out), plan.jobs
    results = run_jobs(options, jobs, DEEP_ID)
    folds = fold_metrics(config.model, results)
    n_classes = len(results[0]["class_names"])
    doc = {"beyond_assignment": True, "quick": config.quick, "seed": config.seed,
           "epochs": config.epochs, "model": {**asdict(config.model), "key": config.model.key},
           **folds, "cost": model_cost(config.model, plan.jobs[0].recipe.params.n_mels,
                                       plan.jobs[0].recipe.params.n_frames, n_classes),
           "n_parameters": results[0]["n_parameters"],
           "histories": [r["history"] for r in results],
           "history_runs": [j.recipe.split.tag for j in jobs],
           "epochs_completed": [r["epochs_completed"] for r in results],
           "optimizer_settings": results[0]["optimizer_settings"],
           "class_names": results[0]["class_names"], "data": provenance(plan.zip_path),
           "features": plan.features, "executor": getattr(options.executor, "name", "serial"),
           "wall_seconds_per_fold": [r["wall_seconds"] for r in results],
           "train_seconds_all_folds": float(sum(r["train_seconds"] for r in results)),
           "n_trained_in_this_call": sum(1 for r in results if not r.get("reused")),
           "wall_seconds_of_this_call": time.perf_counter() - t0}
    write_metrics(experiment_dir(out, DEEP_ID), DEEP_ID, plan.recorded, doc)
