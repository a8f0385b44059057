"""Command-line entry point: argument parsing only; the work happens in the experiment modules.

Each subcommand lives in a module exposing ``add_arguments(parser)`` and ``main(args) -> int``.
Only the module of the chosen subcommand is imported, so ``mlsplab --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import shlex
import sys
from typing import NoReturn

from mlsplab import __version__
from mlsplab.cli_options import HelpFormatter, add_verbose, examples
from mlsplab.errors import MlsplabError
from mlsplab.stopping import StopRequested, stop_on_signals

# name -> (module, one-line help). Order is the order of the assignment.
COMMANDS: dict[str, tuple[str, str]] = {
    "reproduce": ("mlsplab.experiments.reproduce",
                  "run every experiment of the assignment and write the report"),
    "embed": ("mlsplab.experiments.q1a.cli",
              "Q1(a): word2vec embeddings, PCA to 2-D, clustering"),
    "sentiment": ("mlsplab.experiments.q1.cli",
                  ("Q1(b-d): train an IMDB sentiment model (lstm-avg, lstm-attention, "
                  "transformer)")),
    "predict": ("mlsplab.predict", "label your own reviews with the trained IMDB models"),
    "bench": ("mlsplab.experiments.bench",
              ("benchmarks: `bench sentiment` times our IMDB training step against a naive "
              "padded one")),
    "tdnn": ("mlsplab.experiments.q2.cli",
             "Q2: TDNN parameter count and manual backprop checked against autograd"),
    "esc10": ("mlsplab.experiments.q3.cli",
              "Q3: ESC-10 CNN: optimizers, normalizations, ensembles"),
    "classify": ("mlsplab.classify", "classify your own sounds with the trained ESC-10 models"),
    "convdense": ("mlsplab.experiments.q4.cli",
                  "Q4: conv layer vs dense layer: cost, and each as the other"),
    "report": ("mlsplab.report.build", "rebuild the HTML/PDF report from existing results"),
    "data": ("mlsplab.data.status",
             "which data files are present and valid, and how to get a missing one"),
}

EXAMPLES = examples(
    ("mlsplab report --runs results/reference", "the reference run's report, no training"),
    ("mlsplab reproduce --quick --out runs-quick", "a smoke run of every step"),
    ("mlsplab reproduce", "the whole assignment (hours; prints an estimate first)"),
    ("mlsplab data", "which data files are present"),
    ("mlsplab COMMAND --help", "a command's flags and examples"),
)


class UsageError(MlsplabError):
    """A command line argparse refused (unknown flag, bad value)."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors, like every other error of mlsplab (its subcommands'
    parsers are of this class too)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message}; see `{self.prog} --help`")


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = Parser(
        prog="mlsplab",
        description="Reproduce every experiment of the MLSP assignment and write the report.",
        formatter_class=HelpFormatter, epilog=EXAMPLES,
    )
    parser.add_argument("--version", action="version", version=f"mlsplab {__version__}")
    add_verbose(parser, top_level=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((a for a in argv if not a.startswith("-")), None)  # the command's name
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text,
                           formatter_class=HelpFormatter)
        if name == chosen:
            add_verbose(p, top_level=False)
            importlib.import_module(module).add_arguments(p)  # sets p.epilog: its examples
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except UsageError as e:
        print(e, file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    if args.command is None:
        parser.print_help()
        return 2
    try:
        # one Ctrl-C or `kill` stops the whole command (a training checkpoints first)
        with stop_on_signals():
            return int(importlib.import_module(COMMANDS[args.command][0]).main(args) or 0)
    except MlsplabError as e:
        print(f"mlsplab {args.command}: error: {e}", file=sys.stderr)
        return 2
    except StopRequested as e:
        print(_stopped_line(args.command, e, argv), file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:  # SIGINT before the handler was installed
        print(f"mlsplab {args.command}: stopped by SIGINT", file=sys.stderr)
        return 130


def _stopped_line(command: str, stop: StopRequested, argv: list[str]) -> str:
    """The one line a stopped command prints: what was saved, and how to go on."""
    saved = stop.saved or "finished results are kept"
    return (f"mlsplab {command}: stopped by {stop.signal_name}; {saved}; to resume, run the "
            f"same command again: mlsplab {shlex.join(argv)}")


if __name__ == "__main__":
    raise SystemExit(main())
