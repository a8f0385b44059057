"""``mlsplab embed``: Q1(a) alone (word vectors, PCA, the measured clustering)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlsplab.experiments.common import add_common_args
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1a import prose
from mlsplab.experiments.q1a.config import EXPERIMENT_ID, EmbeddingsConfig
from mlsplab.experiments.q1a.run import compute


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``mlsplab embed``: --out, --seed, --data-dir, --pretrained, --quick."""
    add_common_args(parser)
    parser.add_argument("--pretrained", type=Path, default=None, metavar="FILE",
                        help="100-d vectors to use instead of training word2vec: word2vec "
                             "binary/text, GloVe text, fastText .bin/.vec or gensim .kv")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test in < 30 s: word2vec on 2,000 + 2,000 reviews, 3 epochs")


def options_from_args(args: argparse.Namespace) -> RunOptions:
    """The :class:`RunOptions` of a parsed ``mlsplab embed`` command line."""
    return RunOptions(out=Path(args.out), data_dir=args.data_dir, seed=args.seed,
                      quick=args.quick, pretrained=args.pretrained)


def main(args: argparse.Namespace) -> int:
    """Run Q1(a) from parsed CLI arguments and print its headline numbers."""
    options = options_from_args(args)
    metrics = compute(EmbeddingsConfig.from_options(options), options.out)
    print(f"wrote {options.out / EXPERIMENT_ID}/metrics.json")
    print(prose.overview(metrics))
    print(f"`mlsplab report --out {options.out}` writes the figures and the answer.")
    return 0
