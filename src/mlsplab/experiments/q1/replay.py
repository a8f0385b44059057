"""Posteriors for an older network result, from a replay of its training up to the tested epoch.

A Q1 network result written before posteriors were recorded (``results/reference`` was one)
can get them without training all 25 epochs again. A training is deterministic on one machine:
the same seed, data and settings give the same weights epoch by epoch, and the weights that
were tested (those of the best validation epoch) exist once that epoch is trained. So train the
model again with ``--epochs`` set to at least its best epoch, into another folder::

    mlsplab sentiment --model lstm-avg --epochs 5 --precision bf16 --out /tmp/replay
    python -m mlsplab.experiments.q1.replay --replay /tmp/replay --into results/reference

The second command copies the replay's validation and test posteriors into the older result,
after checking that the replay is that training:

- the same configuration apart from the number of epochs;
- the same history for every epoch both ran (every loss and accuracy, exactly);
- the same best epoch, and the same decision on every test review.

Anything else is refused with the first difference found, and nothing is written. The older
result keeps its own numbers; each seed gains the posterior fields and ``posteriors_replay``
(what was replayed and checked), which the report's appendix states.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mlsplab.errors import MlsplabError
from mlsplab.experiments.q1 import posteriors
from mlsplab.experiments.q1.config import MODEL_IDS
from mlsplab.io import atomic_write_json, read_json

CHECKED_HISTORY = ("train_loss", "val_loss", "val_accuracy", "train_eval_loss",
                   "train_eval_accuracy")  # every number of an epoch's row except its timings
CHECKED_SEED = ("best_epoch", "precision", "test_accuracy", "test_correct")


def _first_difference(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """Why ``new`` (a replay's result) is not the training of ``old``, or None if it is."""
    old_cfg = {k: v for k, v in old["config"].items() if k != "epochs"}
    new_cfg = {k: v for k, v in new["config"].items() if k != "epochs"}
    if old_cfg != new_cfg:
        keys = sorted(k for k in old_cfg.keys() | new_cfg.keys()
                      if old_cfg.get(k) != new_cfg.get(k))
        return f"other settings ({', '.join(keys)})"
    new_runs = {s["seed"]: (s, h) for s, h in zip(new["per_seed"], new["histories"])}
    for o, history in zip(old["per_seed"], old["histories"]):  # histories: per seed, in order
        if o["seed"] not in new_runs:
            return f"no run of seed {o['seed']}"
        n, replayed = new_runs[o["seed"]]
        if n["epochs_completed"] < o["best_epoch"]:
            return (f"seed {o['seed']}: {n['epochs_completed']} epochs replayed, fewer than the "
                    f"best epoch {o['best_epoch']}")
        for a, b in zip(history, replayed):
            diff = [k for k in CHECKED_HISTORY if a.get(k) != b.get(k)]
            if diff:
                return (f"seed {o['seed']} epoch {a['epoch']}: {diff[0]} {b.get(diff[0])} "
                        f"against {a.get(diff[0])}")
        diff = [k for k in CHECKED_SEED if o.get(k) != n.get(k)]
        if diff:
            return f"seed {o['seed']}: another {diff[0]}"
        if not posteriors.has_posteriors(n):
            return f"seed {o['seed']}: the replay has no posteriors"
    return None


def add_posteriors(replay: Path, into: Path, experiment_id: str) -> list[int]:
    """Copy the posteriors of ``replay/<id>`` into ``into/<id>/metrics.json`` after the checks
    of the module docstring.

    Returns
    -------
    list of int
        The seeds that gained posteriors (an empty list when they all had them already).

    Raises
    ------
    MlsplabError
        If either result is missing or the replay is not the same training.
    """
    old_path = into / experiment_id / "metrics.json"
    new_path = replay / experiment_id / "metrics.json"
    for path in (old_path, new_path):
        if not path.exists():
            raise MlsplabError(f"{path}: no result of {experiment_id}")
    old, new = read_json(old_path), read_json(new_path)
    if "histories" not in old or "histories" not in new:
        raise MlsplabError(f"{new_path}: not a network's result (no per-epoch histories)")
    if all(map(posteriors.has_posteriors, old["per_seed"])):
        return []
    if (why := _first_difference(old, new)) is not None:
        raise MlsplabError(f"{new_path} is not a replay of {old_path}: {why}")
    added = []
    for o in old["per_seed"]:
        n = next(s for s in new["per_seed"] if s["seed"] == o["seed"])
        o.update({k: n[k] for k in posteriors.KEYS})
        o["posteriors_replay"] = {
            "epochs_replayed": n["epochs_completed"], "cpu": new.get("cpu"),
            "finished_at": new.get("run_info", {}).get("finished_at"),
            "checked": "configuration apart from epochs; every loss and accuracy of the "
                       "epochs replayed; best epoch; every test decision"}
        added.append(o["seed"])
    atomic_write_json(old_path, old)
    return added


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlsplab.experiments.q1.replay",
        description="Copy the posteriors of a replayed IMDB network training (the same seed "
                    "and settings, trained up to at least the tested epoch) into an older "
                    "result that lacks them, after checking the replay is that training.")
    parser.add_argument("--replay", type=Path, required=True, metavar="RUN",
                        help="results folder of the replay")
    parser.add_argument("--into", type=Path, required=True, metavar="RUN",
                        help="results folder of the older results (e.g. results/reference)")
    parser.add_argument("--only", default=None, metavar="IDS",
                        help="comma-separated experiment ids; none given: each of "
                             f"{', '.join(MODEL_IDS.values())} that the replay folder holds")
    args = parser.parse_args(argv)
    ids = ([i.strip() for i in args.only.split(",") if i.strip()] if args.only else
           [i for i in MODEL_IDS.values() if (args.replay / i / "metrics.json").exists()])
    if not ids:
        print(f"error: {args.replay}: no network result to copy from", file=sys.stderr)
        return 2
    try:
        for exp_id in ids:
            seeds = add_posteriors(args.replay, args.into, exp_id)
            print(f"{exp_id}: " + (f"posteriors added for seed(s) {seeds}" if seeds
                                   else "already has posteriors"))
    except MlsplabError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
