"""``mlsplab esc10``: every Q3 experiment (and the five-fold cross-validation), or the pilot."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from mlsplab.cli_options import (
    add_data_dir,
    add_device,
    add_executor,
    add_out,
    add_quick,
    add_seed,
    add_seeds,
    examples,
    positive_int,
)
from mlsplab.experiments.common import text_table
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q3.config import (
    CV_ID,
    ENSEMBLE_ID,
    EPOCHS,
    PILOT_EPOCHS,
    QUICK_EPOCHS,
    STEP_IDS,
)
from mlsplab.formatting import percent
from mlsplab.io import read_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``mlsplab esc10``."""
    add_out(parser)
    add_data_dir(parser)
    add_quick(parser, what=f"{QUICK_EPOCHS} epochs, 1 seed")
    add_seed(parser, drives="initialisation, batch order and augmentation")
    add_seeds(parser, of="configuration", default="3; 1 with --quick")
    parser.add_argument("--epochs", type=positive_int, default=None, metavar="N",
                        help=f"epochs of every configuration, a fixed number with no early "
                             f"stopping; none given: {EPOCHS}, the number the pilot (--pilot) "
                             "chose")
    add_device(parser)
    add_executor(parser)
    parser.add_argument("--no-cv", action="store_true",
                        help=f"skip {CV_ID}, the five-fold cross-validation (beyond the "
                             "assignment)")
    parser.add_argument("--pilot", action="store_true",
                        help=f"only the pilot that chose the number of epochs: SGD and Adam, "
                             f"one seed, {PILOT_EPOCHS} epochs; prints the epoch count its rule "
                             "picks (<out>/q3-pilot/)")
    parser.epilog = examples(
        ("mlsplab esc10", f"Q3(a-c) and {CV_ID}, 3 seeds each (about an hour on 2 cores)"),
        ("mlsplab esc10 --quick --out runs-quick", "a smoke run (minutes)"),
        ("mlsplab esc10 --seeds 5 --no-cv", "5 seeds per configuration, no cross-validation"),
        ("mlsplab esc10 --executor ray", "trainings side by side on a local Ray"),
    )


def options_from_args(args: argparse.Namespace) -> RunOptions:
    """The :class:`RunOptions` of an ``esc10`` call."""
    from mlsplab.executors import get_executor

    return RunOptions(out=Path(args.out), data_dir=args.data_dir, seed=args.seed,
                      seeds=args.seeds, quick=args.quick, device=args.device,
                      executor=get_executor(args.executor, address=args.address))


def main(args: argparse.Namespace) -> int:
    """Run Q3 (and q3x-cv unless ``--no-cv``) and print the test accuracies."""
    t0 = time.perf_counter()
    options = options_from_args(args)
    params = {} if args.epochs is None else {"epochs": args.epochs}
    if args.pilot:
        from mlsplab.experiments.q3.horizon import run_pilot

        doc = run_pilot(options, **params)
        print(f"pilot: slowest learner {doc['slowest']}, horizon {doc['horizon']} epochs "
              f"(smoothed validation loss lowest at epoch "
              f"{doc['choices'][doc['slowest']]['smoothed_min_epoch']}); {args.out}/q3-pilot/")
        return 0
    from mlsplab.experiments.q3 import cv, run

    run.run(options, **params)
    ids = list(STEP_IDS)
    if not args.no_cv:
        cv.run(options, **params)
        ids.append(CV_ID)
    rows = []
    for exp_id in ids:
        doc = read_json(Path(args.out) / exp_id / "metrics.json")
        best = doc.get("test_accuracy_per_seed", [doc["test_accuracy"]])
        std = doc.get("test_accuracy_std") if len(best) > 1 or exp_id == CV_ID else None
        rows.append([exp_id, percent(doc["test_accuracy"], std),
                     percent(doc.get("test_accuracy_last"), doc.get("test_accuracy_last_std")),
                     ", ".join(map(str, doc.get("best_epochs", []))) or "-"])
    print(text_table(rows, ["experiment", "test (best-val epoch)", "test (last epoch)",
                            "best epochs"]))
    head = read_json(Path(args.out) / ENSEMBLE_ID / "metrics.json")["headline_method"]
    print(f"{ENSEMBLE_ID} headline, chosen by out-of-fold validation accuracy: {head}")
    print(f"wall time {time.perf_counter() - t0:.0f} s; results in {args.out}")
    return 0
