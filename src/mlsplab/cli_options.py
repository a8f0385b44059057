"""The flags that several commands share, each defined once, with one meaning everywhere.

A command adds a shared flag with the function of that name (``add_seed(parser, ...)``), so
``--seed`` means the same thing, has the same default and is described the same way in every
command that takes it. A command whose work a flag does not affect leaves it out.

The conventions:

- ``--out DIR`` is a folder a command *writes* results to; ``--runs DIR`` a results folder it
  *reads* (``predict``, ``classify``, ``report``). There ``--out`` is still accepted, with a
  warning, for old command lines.
- ``--seed N`` is the first random seed; ``--seeds N`` (``--imdb-seeds N``, ``--esc10-seeds N``
  in ``reproduce``, which runs both) is a *count*: seeds ``N``, ``N + 1``, ... are trained.
- ``--top N`` shows the ``N`` highest-ranked items (words, classes) of each result.
- A default is printed once, by the formatter ("(default: X)"); a help text that explains its
  default itself (``None`` meaning "the assignment's 25") says so in words and is not given a
  second one.

Imports nothing heavy: ``mlsplab --help`` must stay instant.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlsplab.experiments.options import DEFAULT_OUT

PRECISIONS = ("auto", "fp32", "bf16")
DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")
DATA_DIR_ORDER = "$MLSPLAB_DATA_DIR, then ../shared/data beside the repository, then " \
                 "~/.cache/mlsplab"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Each default printed once; descriptions and the "examples:" epilogue kept as written.

    No "(default: ...)" is added to a switch (its default is always off), to a flag whose
    default is ``None`` (its help says in words what happens without it), or to a help text that
    already names its default.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        help_text = action.help or ""
        if (action.default is None or action.default is False or "default" in help_text
                or action.default == argparse.SUPPRESS):
            return help_text
        return super()._get_help_string(action)


def examples(*lines: tuple[str, str]) -> str:
    """An "examples:" epilogue from ``(command, what it does)`` pairs, as shell comments and
    commands that can be pasted."""
    return "examples:\n" + "\n".join(f"  # {what}\n  {command}" for command, what in lines)


class DeprecatedAlias(argparse.Action):
    """An old spelling of a flag: stores into the new flag's ``dest`` and warns once."""

    def __init__(self, option_strings: Sequence[str], dest: str, *, new: str,
                 **kwargs: Any) -> None:
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        print(f"{parser.prog}: warning: {option_string} is deprecated here; use {self.new}",
              file=sys.stderr)
        setattr(namespace, self.dest, True if self.nargs == 0 else values)


def add_alias(parser: argparse.ArgumentParser, old: str, new: str, dest: str, *,
              switch: bool = False, **kwargs: Any) -> None:
    """Accept ``old`` as a deprecated spelling of ``new`` (hidden from ``--help``)."""
    parser.add_argument(old, dest=dest, action=DeprecatedAlias, new=new,
                        nargs=0 if switch else None, default=argparse.SUPPRESS,
                        help=argparse.SUPPRESS, **kwargs)


def device(text: str) -> str:
    """``--device`` values: auto, cpu, cuda or cuda:N."""
    if not DEVICE_PATTERN.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r}: expected auto, cpu, cuda or cuda:N")
    return text


def positive_int(text: str) -> int:
    """An integer >= 1 (seed counts, epochs, token caps, ...)."""
    try:
        value = int(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from e
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be >= 1")
    return value


def add_out(parser: argparse.ArgumentParser, *, what: str = "each experiment writes "
            "<out>/<id>/") -> None:
    """``--out DIR``: the results folder this command writes to."""
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                        help=f"results folder written to: {what}")


def add_runs(parser: argparse.ArgumentParser, *, what: str) -> None:
    """``--runs DIR``: a results folder this command reads (``--out`` kept as an old alias)."""
    parser.add_argument("--runs", type=Path, default=DEFAULT_OUT, metavar="DIR",
                        help=f"results folder read: {what}")
    add_alias(parser, "--out", "--runs", "runs", type=Path)


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    """``--data-dir DIR``: where the data files are (``mlsplab data`` lists them)."""
    parser.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                        help=f"folder with the data files; none given: {DATA_DIR_ORDER}")


def add_seed(parser: argparse.ArgumentParser, *, drives: str) -> None:
    """``--seed N``: the random seed (the first one where several are trained).

    ``drives`` says what it makes repeatable in this command, e.g. "splits, initialisation
    and batch order".
    """
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help=f"random seed of the {drives}; the same seed gives the same "
                             "numbers")


def add_seeds(parser: argparse.ArgumentParser, *, flag: str = "--seeds", of: str,
              default: str) -> None:
    """A seed count: train each configuration ``of`` with seeds --seed, --seed + 1, ...

    ``default`` is said in words (for example "3; 1 with --quick"), as the default depends
    on other flags.
    """
    parser.add_argument(flag, type=positive_int, default=None, metavar="N",
                        help=f"how many seeds each {of} is trained with (--seed, --seed + 1, "
                             f"...; the report gives mean and standard deviation); none "
                             f"given: {default}")


def add_device(parser: argparse.ArgumentParser) -> None:
    """``--device``: where training runs."""
    parser.add_argument("--device", type=device, default="auto", metavar="DEVICE",
                        help="auto (the first CUDA GPU if there is one, else the CPU), cpu, "
                             "cuda or cuda:N")


def add_precision(parser: argparse.ArgumentParser, *, applies_to: str) -> None:
    """``--precision``: the arithmetic of the IMDB models' training (the others are fp32).

    Decided once per run, before the first training, and recorded with every result it
    affects (:func:`mlsplab.runtime.decide_precision`).
    """
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help=f"arithmetic of {applies_to}. auto: bf16 where the processor has "
                             "native bf16 arithmetic (checked once per machine and cached), "
                             "else fp32 (so fp32 on a CPU with AVX2 but no AVX-512 bf16); "
                             "decided once per run and recorded with the results")


def add_quick(parser: argparse.ArgumentParser, *, what: str) -> None:
    """``--quick``: a smoke run that checks the pipeline, not the assignment's numbers."""
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run ({what}): checks that everything runs; its numbers "
                             "are not the assignment's")


def add_verbose(parser: argparse.ArgumentParser, *, top_level: bool) -> None:
    """``-v``: accepted before and after the command name."""
    parser.add_argument("-v", "--verbose", action="store_true",
                        default=False if top_level else argparse.SUPPRESS,
                        help="debug logging")


def add_executor(parser: argparse.ArgumentParser) -> None:
    """``--executor`` and ``--address``: where independent trainings run."""
    from mlsplab.executors import EXECUTORS  # light, but only needed once a command is chosen

    parser.add_argument("--executor", default="auto", choices=EXECUTORS,
                        help="where independent trainings run: auto (process on 2+ cores, else "
                             "serial), serial (this process, one after another), process "
                             "(local worker processes side by side, one thread each), or ray "
                             "(Ray tasks; pip install 'mlsplab[ray]')")
    parser.add_argument("--address", default=None, metavar="HEAD:PORT",
                        help="a running Ray cluster's head (with --executor ray); none given: "
                             "a local Ray on this machine's cores")
