"""Step q1x-ensemble (beyond the assignment): every Q1 model with posteriors, combined.

The members are the three networks (their run of the step's seed), the TF-IDF baseline and
NBSVM. They are combined the way Q3(c) combines its CNNs (:mod:`mlsplab.experiments.q3.ensemble`,
reused as is): posterior averaging and optimal linear (simplex) weights fitted on validation,
the method chosen by out-of-fold validation accuracy; the test set is only evaluated. Besides
the ensemble of all members: each member left out in turn, every pair (the best one chosen on
validation by the same rule), and the linear models and the networks each on their own;
McNemar's exact test of each against the single member with the best validation accuracy.

A member whose result has no posteriors (a run from before they were recorded) or no result
at all is listed under ``missing`` with the step that produces them; the ensembles combine
the others and say so, and with fewer than two members there is no ensemble.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np

from mlsplab.errors import MlsplabError
from mlsplab.experiments.common import experiment_dir, finished_metrics, write_metrics
from mlsplab.experiments.ids import Q1X_NBSVM
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1 import posteriors
from mlsplab.experiments.q1.compare import mcnemar
from mlsplab.experiments.q1.config import (
    BASELINE_ID,
    ENSEMBLE_ID,
    MODEL_IDS,
    NBSVM_ID,
    EnsembleConfig,
)
from mlsplab.experiments.q3.ensemble import ensemble, method_candidates, select_headline
from mlsplab.io import read_json
from mlsplab.models.ensemble import combine

NETWORKS = tuple(MODEL_IDS.values())
LINEAR = (BASELINE_ID, NBSVM_ID)
MEMBERS = (*NETWORKS, *LINEAR)
STEP_OF = {**{i: k for k, i in zip(("q1b", "q1c", "q1d"), NETWORKS)},
           BASELINE_ID: "q1-baseline", NBSVM_ID: Q1X_NBSVM}


def _load(out: Path, exp_id: str) -> dict[str, Any] | None:
    path = out / exp_id / "metrics.json"
    try:
        return read_json(path) if path.exists() else None
    except MlsplabError:
        return None


def _entry(doc: dict[str, Any], seed: int) -> dict[str, Any] | None:
    """The part of a result that belongs to ``seed``: a network's seed, or a linear model."""
    if "per_seed" in doc:
        return next((p for p in doc["per_seed"] if p.get("seed") == seed), None)
    return doc if doc.get("config", {}).get("seed", seed) == seed else None


def member_run(entry: dict[str, Any]) -> dict[str, Any]:
    """A result's posteriors as a run of :func:`mlsplab.experiments.q3.ensemble.ensemble`:
    two-class posteriors ``[P(negative), P(positive)]`` of shape (n_reviews, 2) per split,
    labels, and the accuracies of its decisions (P(positive) > 0.5)."""
    run: dict[str, Any] = {"seed": entry.get("seed", 0)}
    for split in posteriors.SPLITS:
        p, y = posteriors.read(entry, split)
        run[f"{split}_probs"] = np.stack([1.0 - p, p], axis=1)  # (n, 2)
        run[f"{split}_labels"] = y
        run[f"{split}_accuracy"] = float(((p > 0.5) == (y == 1)).mean())
    return run


def gather(out: Path, seed: int, ids: tuple[str, ...] = MEMBERS
           ) -> tuple[dict[str, dict[str, Any]], list[dict[str, str]]]:
    """The members' runs of ``seed`` that have posteriors, and what is missing with the step
    of ``mlsplab reproduce`` that produces it."""
    runs, missing = {}, []
    for exp_id in ids:
        doc = _load(out, exp_id)
        entry = _entry(doc, seed) if doc else None
        step = STEP_OF[exp_id]  # `mlsplab reproduce --only <step>` adds what is missing
        if doc is None:
            missing.append({"experiment": exp_id, "reason": "no result", "step": step})
        elif entry is None:
            missing.append({"experiment": exp_id, "reason": f"no run of seed {seed}",
                            "step": step})
        elif not posteriors.has_posteriors(entry):
            missing.append({"experiment": exp_id, "reason": "no posteriors (an older run)",
                            "step": step})
        else:
            runs[exp_id] = member_run(entry)
    for key in ("val_labels", "test_labels"):
        differ = [i for i in runs if not np.array_equal(runs[i][key],
                                                         next(iter(runs.values()))[key])]
        if differ:
            raise MlsplabError(f"{out}: {', '.join(differ)} have other {key.split('_')[0]} "
                               f"reviews than {next(iter(runs))}; rerun them with the same "
                               "--seed and --quick setting")
    return runs, missing


def _correct(pred: np.ndarray, y: np.ndarray) -> str:
    return "".join("1" if c else "0" for c in pred == y)


def evaluate(runs: dict[str, dict[str, Any]], folds: int, best_correct: str
             ) -> dict[str, Any]:
    """The headline ensemble of ``runs`` (method chosen out of fold on validation) and
    McNemar's test against the best single member (its test correctness ``best_correct``)."""
    result = ensemble({k: [r] for k, r in runs.items()}, folds)
    head = select_headline(method_candidates(result))
    entry = result["methods"][head]
    probs = np.stack([r["test_probs"] for r in runs.values()])  # (M, N, 2)
    pred = combine(probs, np.asarray(entry["weights_per_seed"][0])).argmax(1)  # (N,)
    correct = _correct(pred, next(iter(runs.values()))["test_labels"])
    return {"members": list(runs), "method": head, "weights": entry["weights_per_seed"][0],
            "test_accuracy": entry["test_accuracy"], "val_accuracy": entry["val_accuracy"],
            "val_accuracy_oof": entry["val_accuracy_oof"],
            "val_cross_entropy_oof": entry["val_cross_entropy_oof"],
            "methods": {m: {k: result["methods"][m][k] for k in
                            ("test_accuracy", "val_accuracy", "val_accuracy_oof", "weights_mean")}
                        for m in ("average", "optimal-weights")},
            "mcnemar_vs_best_single": mcnemar(correct, best_correct), "test_correct": correct}


def subsets(names: list[str]) -> dict[str, list[str]]:
    """The ensembles measured: all members, each left out, the linear models, the networks."""
    groups = {"all": names}
    if len(names) > 2:
        groups.update({f"without {m}": [n for n in names if n != m] for m in names})
    for label, family in (("linear models", LINEAR), ("networks", NETWORKS)):
        chosen = [n for n in names if n in family]
        if len(chosen) >= 2 and chosen != names:
            groups[label] = chosen
    return groups


def combinations(runs: dict[str, dict[str, Any]], folds: int) -> dict[str, Any]:
    """Every measurement of the step from the members' runs (none, one or more).

    Returns
    -------
    dict
        ``single`` (member -> accuracies and McNemar against the best single member),
        ``best_single`` (the member with the best validation accuracy), ``n_val``, ``n_test``;
        with two members or more also ``ensembles`` (:func:`subsets` label -> :func:`evaluate`),
        ``pairs``, ``best_pair`` (chosen on validation by the headline rule) and
        ``networks_added`` (the ensemble of all members against that of the linear models
        alone: test difference and McNemar), None when one of the two is missing.
    """
    names = list(runs)
    empty = {"ensembles": {}, "pairs": {}, "best_pair": None, "networks_added": None,
             "nbsvm_vs_baseline": None}
    if not names:
        return {"single": {}, "best_single": None, "n_val": 0, "n_test": 0, **empty}
    best = max(names, key=lambda k: runs[k]["val_accuracy"])  # ties: the first in order
    y = runs[best]["test_labels"]
    correct = {k: _correct(r["test_probs"].argmax(1), y) for k, r in runs.items()}
    doc: dict[str, Any] = {
        "single": {k: {"val_accuracy": r["val_accuracy"], "test_accuracy": r["test_accuracy"],
                       "mcnemar_vs_best_single": None if k == best else
                       mcnemar(correct[k], correct[best])} for k, r in runs.items()},
        "best_single": best, "n_val": len(runs[best]["val_labels"]), "n_test": len(y), **empty}
    if NBSVM_ID in runs and BASELINE_ID in runs:
        doc["nbsvm_vs_baseline"] = mcnemar(correct[NBSVM_ID], correct[BASELINE_ID])
    if len(names) < 2:
        return doc
    doc["ensembles"] = {label: evaluate({k: runs[k] for k in group}, folds, correct[best])
                        for label, group in subsets(names).items()}
    doc["pairs"] = {f"{a} + {b}": evaluate({a: runs[a], b: runs[b]}, folds, correct[best])
                    for a, b in itertools.combinations(names, 2)}
    doc["best_pair"] = select_headline(doc["pairs"])  # on validation only
    full, lin = doc["ensembles"]["all"], doc["ensembles"].get("linear models")
    if lin is not None and any(n in NETWORKS for n in names):
        doc["networks_added"] = {
            "difference": full["test_accuracy"] - lin["test_accuracy"],
            "val_oof_difference": full["val_accuracy_oof"] - lin["val_accuracy_oof"],
            "mcnemar": mcnemar(full["test_correct"], lin["test_correct"])}
    return doc


def run(options: RunOptions) -> dict[str, Any]:
    """Write ``<out>/q1x-ensemble/metrics.json`` from the Q1 results under ``options.out``.

    Raises
    ------
    MlsplabError
        If no member has a result, or members were run on different splits.
    """
    cfg = EnsembleConfig.from_options(options)
    out = Path(options.out)
    runs, missing = gather(out, cfg.seed, cfg.members)
    if not runs and all(m["reason"] == "no result" for m in missing):
        raise MlsplabError(f"no Q1 results under {out}; run `mlsplab reproduce --only "
                           f"q1-baseline,q1x-nbsvm --out {out}` first")
    inputs = {i: (_load(out, i) or {}).get("config_hash") for i in cfg.members}
    config = {**cfg.identity(), "inputs": inputs, "with_posteriors": list(runs)}
    exp_dir = experiment_dir(out, ENSEMBLE_ID)
    if (done := finished_metrics(exp_dir, config)) is not None:
        return done
    metrics = {"beyond_assignment": True, "seed": cfg.seed, "folds": cfg.folds,
               "candidates": list(runs), "missing": missing, **combinations(runs, cfg.folds)}
    for k in metrics["single"]:
        metrics["single"][k]["wall_seconds"] = (_load(out, k) or {}).get("wall_seconds")
    if metrics["ensembles"]:  # the headline: every member with posteriors
        metrics["test_accuracy"] = metrics["ensembles"]["all"]["test_accuracy"]
    write_metrics(exp_dir, ENSEMBLE_ID, config, metrics)
    return read_json(exp_dir / "metrics.json")
