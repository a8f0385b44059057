"""``mlsplab sentiment``: train one Q1(b-d) model (the step ``reproduce`` runs as q1b/q1c/q1d)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlsplab.experiments.common import add_common_args, budget_deadline
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1.config import EPOCHS, MAX_TOKENS, MODEL_IDS, QUICK
from mlsplab.formatting import count, percent
from mlsplab.runtime import PRECISIONS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help=f"one of {sorted(MODEL_IDS)}")
    add_common_args(parser)
    parser.add_argument("--imdb-seeds", type=int, default=1,
                        help="train with this many seeds (--seed, --seed + 1, ...); the "
                             "report gives the mean and standard deviation")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"epochs; none given: the assignment's {EPOCHS} (quick: "
                             f"{QUICK['epochs']}); another number is recorded as a deviation")
    parser.add_argument("--max-tokens", type=int, default=None,
                        help=f"keep at most this many tokens per review; none given: "
                             f"{MAX_TOKENS} (quick: {QUICK['max_tokens']})")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test on small subsets (2000/500/500 reviews, 2 epochs)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="auto: bf16 where the processor has native bf16 arithmetic "
                             "(decided once per machine and cached), else fp32")
    parser.add_argument("--pretrained", type=Path, default=None,
                        help="word-vector file to use instead of training word2vec here")
    parser.add_argument("--lr", type=float, default=None,
                        help="Adam step size; none given: the model's (docs/sentiment.md)")
    parser.add_argument("--dropout", type=float, default=None,
                        help="the model's main dropout rate; none given: the model's")
    parser.add_argument("--time-budget", type=float, default=None, metavar="HOURS",
                        help="stop after this many hours with a checkpoint; rerun to resume")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--compare", action="store_true",
                        help="afterwards, write the q1-comparison of the finished models")


def options_from_args(args: argparse.Namespace) -> RunOptions:
    """The :class:`RunOptions` of a ``sentiment`` call."""
    return RunOptions(out=Path(args.out), data_dir=args.data_dir, seed=args.seed,
                      imdb_seeds=args.imdb_seeds, quick=args.quick, epochs=args.epochs,
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
    if args.compare:
        from mlsplab.experiments.q1 import compare

        c = compare.run(options)
        for row in c["models"]:
            print(f"  {row['experiment']}: {percent(row.get('test_accuracy'), digits=2)}")
    return 0 if m.get("complete", False) else 3
