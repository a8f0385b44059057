"""``mlsplab embed``: Q1(a) alone (word vectors, PCA, the measured clustering)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlsplab.cli_options import add_data_dir, add_out, add_quick, add_seed, examples
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1a import prose
from mlsplab.experiments.q1a.config import EXPERIMENT_ID, EmbeddingsConfig
from mlsplab.experiments.q1a.run import compute


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``mlsplab embed``: --out, --data-dir, --quick, --seed, --pretrained."""
    add_out(parser)
    add_data_dir(parser)
    add_quick(parser, what="word2vec on 2,000 + 2,000 reviews, 3 epochs, under a minute")
    add_seed(parser, drives="data split, word2vec, the sentences shown and k-means")
    parser.add_argument("--pretrained", type=Path, default=None, metavar="FILE",
                        help="100-d vectors to use instead of training word2vec: word2vec "
                             "binary/text, GloVe text, fastText .bin/.vec or gensim .kv")
    parser.epilog = examples(
        ("mlsplab embed", "word2vec, PCA and the clustering measures (a few minutes)"),
        ("mlsplab embed --pretrained vectors.kv", "the same with your own word vectors"),
        ("mlsplab report --runs runs", "then the figures and the written answer"),
    )


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
    print(f"`mlsplab report --runs {options.out}` writes the figures and the answer.")
    return 0
