"""Command-line entry point: argument parsing only; the work happens in the experiment modules.

Each subcommand lives in a module exposing ``add_arguments(parser)`` and ``main(args) -> int``;
:data:`COMMANDS` holds a function per subcommand that imports that module and returns it. Only
the module of the chosen subcommand is imported, so ``mlsplab --help`` is instant (no torch).
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from mlsplab import __version__
from mlsplab.cli_options import HelpFormatter, add_verbose, examples
from mlsplab.errors import MlsplabError
from mlsplab.stopping import StopRequested, stop_on_signals

Module = Any  # a subcommand's module: add_arguments(parser) and main(args) -> int


def _reproduce() -> Module:
    from mlsplab.experiments import reproduce
    return reproduce


def _embed() -> Module:
    from mlsplab.experiments.q1a import cli
    return cli


def _sentiment() -> Module:
    from mlsplab.experiments.q1 import cli
    return cli


def _predict() -> Module:
    from mlsplab import predict
    return predict


def _bench() -> Module:
    from mlsplab.experiments import bench
    return bench


def _tdnn() -> Module:
    from mlsplab.experiments.q2 import cli
    return cli


def _esc10() -> Module:
    from mlsplab.experiments.q3 import cli
    return cli


def _classify() -> Module:
    from mlsplab import classify
    return classify


def _convdense() -> Module:
    from mlsplab.experiments.q4 import cli
    return cli


def _report() -> Module:
    from mlsplab.report import build
    return build


def _data() -> Module:
    from mlsplab.data import status
    return status


# name -> (its module, imported when called; one-line help). Order is the order of the
# assignment.
COMMANDS: dict[str, tuple[Callable[[], Module], str]] = {
    "reproduce": (_reproduce, "run every experiment of the assignment and write the report"),
    "embed": (_embed, "Q1(a): word2vec embeddings, PCA to 2-D, clustering"),
    "sentiment": (_sentiment, ("Q1(b-d): train an IMDB sentiment model (lstm-avg, "
                               "lstm-attention, transformer)")),
    "predict": (_predict, "label your own reviews with the trained IMDB models"),
    "bench": (_bench, ("benchmarks: `bench sentiment` times our IMDB training step against a "
                       "naive padded one")),
    "tdnn": (_tdnn, "Q2: TDNN parameter count and manual backprop checked against autograd"),
    "esc10": (_esc10, "Q3: ESC-10 CNN: optimizers, normalizations, ensembles"),
    "classify": (_classify, "classify your own sounds with the trained ESC-10 models"),
    "convdense": (_convdense, "Q4: conv layer vs dense layer: cost, and each as the other"),
    "report": (_report, "rebuild the HTML/PDF report from existing results"),
    "data": (_data, "which data files are present and valid, and how to get a missing one"),
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
            module().add_arguments(p)  # sets p.epilog: its examples
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
            return int(COMMANDS[args.command][0]().main(args) or 0)
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
