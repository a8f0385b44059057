"""The options of one run, shared by every experiment runner.

``mlsplab reproduce`` builds one :class:`RunOptions` from its flags and hands it to each step's
runner (see :mod:`mlsplab.experiments.registry`); a subcommand (``mlsplab esc10``, ...) builds
one from its own flags. Each experiment turns it into its typed config with
``<Config>.from_options(options, **step.params)``, so a flag reaches every experiment it names,
and what reached it is recorded in that experiment's ``metrics.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mlsplab.errors import MlsplabError

if TYPE_CHECKING:  # executors import torch-free code only, but keep the CLI import light
    from mlsplab.executors import Executor
    from mlsplab.runtime import Precision

DEFAULT_OUT = Path("runs")
C = TypeVar("C")


@dataclass
class RunOptions:
    """What a run was asked for: every flag of ``mlsplab reproduce`` (all optional)."""

    out: Path = DEFAULT_OUT  # results folder; each experiment writes <out>/<id>/
    data_dir: Path | None = None  # None: $MLSPLAB_DATA_DIR, ../shared/data, ~/.cache/mlsplab
    seed: int = 0  # splits, initialisation and batch order; the first seed of multi-seed runs
    # seed *counts* (seeds --seed, --seed + 1, ...); the seeds themselves are a config's
    # seed_list
    seeds: int | None = None  # seeds of every ESC-10 configuration (None: 3; 1 with quick)
    imdb_seeds: int = 1  # seeds of every IMDB model
    quick: bool = False  # tiny settings: checks the pipeline, not the assignment's numbers
    epochs: int | None = None  # IMDB epochs (None: the assignment's 25)
    max_tokens: int | None = None  # IMDB review length cap (None: the default cap)
    device: str = "auto"  # auto, cpu, cuda, cuda:1, ...
    precision: str = "auto"  # --precision as asked: auto, fp32, bf16
    # the precision decided from it, once per run (reproduce decides before its first step);
    # None: not decided yet, the first runner that needs it decides (runtime.decide_precision)
    precision_used: Precision | None = None
    pretrained: Path | None = None  # word vectors to load instead of pretraining word2vec
    deadline: float | None = None  # time.time() at which training stops cleanly (checkpointed)
    executor: Executor | None = field(default=None, repr=False)  # None: serial, in process


def seed_list(first: int, count: int, flag: str = "--seeds") -> tuple[int, ...]:
    """The seeds ``first, first + 1, ...`` of a seed count given by ``flag``: the one check
    of every seed count.

    Examples
    --------
    >>> seed_list(5, 3)
    (5, 6, 7)
    """
    if count < 1:
        raise MlsplabError(f"{flag} {count}; expected >= 1")
    return tuple(first + i for i in range(count))


def build_config(cls: type[C], name: str, base: dict[str, Any], params: dict[str, Any]) -> C:
    """``cls(**base, **params)`` for a dataclass config, refusing settings it does not have.

    ``base`` holds what the run's options give (``seed``, ``quick``, ...), ``params`` the
    experiment's own settings (a step's params or a subcommand's flags), which win.
    """
    names = {f.name for f in fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(params) - names)
    if unknown:
        raise MlsplabError(f"{name}: unknown setting(s) {unknown}; expected any of "
                           f"{sorted(names)}")
    return cls(**{**base, **params})


def config_from_record(cls: type[C], record: dict[str, Any]) -> C:
    """The config stored in a metrics.json ``config`` (fields it does not know are ignored)."""
    names = {f.name for f in fields(cls) if f.init}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in record.items() if k in names})
