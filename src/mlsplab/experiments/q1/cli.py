"""``mlsplab sentiment``: train one Q1(b-d) model (the step ``reproduce`` runs as q1b/q1c/q1d)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlsplab.cli_options import (
    add_alias,
    add_data_dir,
    add_device,
    add_out,
    add_precision,
    add_quick,
    add_seed,
    add_seeds,
    examples,
    positive_int,
)
from mlsplab.experiments.common import budget_deadline
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1.config import EPOCHS, MAX_TOKENS, MODEL_IDS, QUICK
from mlsplab.formatting import count, percent


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``mlsplab sentiment``."""
    parser.add_argument("--model", required=True, choices=sorted(MODEL_IDS),
                        help="which model: " + "; ".join(f"{m} writes {i}"
                                                         for m, i in sorted(MODEL_IDS.items())))
    add_out(parser)
    add_data_dir(parser)
    add_quick(parser, what=f"{QUICK['epochs']} epochs on {QUICK['n_train']:,} training reviews; every model "
                           "stays near chance")
    add_seed(parser, drives="data split, initialisation and batch order")
    add_seeds(parser, of="model", default="1")
    add_alias(parser, "--imdb-seeds", "--seeds", "seeds", type=positive_int)
    parser.add_argument("--epochs", type=positive_int, default=None, metavar="N",
                        help=f"epochs; none given: the assignment's {EPOCHS} (quick: "
                             f"{QUICK['epochs']}); another number is printed on the report's "
                             "first page")
    parser.add_argument("--max-tokens", type=positive_int, default=None, metavar="N",
                        help=f"keep at most this many tokens per review; none given: "
                             f"{MAX_TOKENS} (quick: {QUICK['max_tokens']})")
    add_device(parser)
    add_precision(parser, applies_to="training")
    parser.add_argument("--pretrained", type=Path, default=None, metavar="FILE",
                        help="word-vector file to use instead of training word2vec here")
    parser.add_argument("--lr", type=float, default=None,
                        help="Adam step size; none given: the model's (docs/sentiment.md)")
    parser.add_argument("--dropout", type=float, default=None,
                        help="the model's main dropout rate; none given: the model's")
    parser.add_argument("--time-budget", type=float, default=None, metavar="HOURS",
                        help="stop after this many hours with a checkpoint; rerun to resume")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--comparison", action="store_true",
                        help="afterwards, write q1-comparison (the finished models side by "
                             "side)")
    add_alias(parser, "--compare", "--comparison", "comparison", switch=True)
    parser.epilog = examples(
        ("mlsplab sentiment --model lstm-attention", "Q1(c) at the assignment's settings"),
        ("mlsplab sentiment --model lstm-avg --quick", "a smoke run (minutes, near chance)"),
        ("mlsplab sentiment --model transformer --epochs 2 --seeds 3",
         "2 epochs, seeds 0, 1, 2"),
    )


def options_from_args(args: argparse.Namespace) -> RunOptions:
    """The :class:`RunOptions` of a ``sentiment`` call."""
    return RunOptions(out=Path(args.out), data_dir=args.data_dir, seed=args.seed,
                      imdb_seeds=args.seeds or 1, quick=args.quick, epochs=args.epochs,
                      max_tokens=args.max_tokens, device=args.device, precision=args.precision,
                      pretrained=args.pretrained, deadline=budget_deadline(args.time_budget))


def main(args: argparse.Namespace) -> int:
    from mlsplab.experiments.q1 import train
    from mlsplab.experiments.q1.config import check_model

    check_model(args.model)
    options = options_from_args(args)
    m = train.run(options, model=args.model, lr=args.lr, dropout=args.dropout,
                  progress=not args.no_progress)
    exp_id = MODEL_IDS[args.model]
    if "test_accuracy" in m:
        seeds = len(m.get("seeds", [])) or 1
        acc = percent(m["test_accuracy"], m.get("test_accuracy_std"), digits=2)
        print(f"{exp_id}: test accuracy {acc}"
              f" over {count(seeds, 'seed')} (best-validation weights; "
              f"{m['epochs_completed']} of {m['epochs_planned']} epochs); without a twin in "
              f"training: {percent(m.get('test_accuracy_no_train_twin'), digits=2)}; "
              f"precision {m.get('precision')}")
    else:
        print(f"{exp_id}: no epoch finished yet (stopped at the time budget); rerun to resume")
    print(f"results: {Path(args.out) / exp_id}")
    if args.comparison:
        from mlsplab.experiments.q1 import compare

        c = compare.run(options)
        for row in c["models"]:
            print(f"  {row['experiment']}: {percent(row.get('test_accuracy'), digits=2)}")
    return 0 if m.get("complete", False) else 3
