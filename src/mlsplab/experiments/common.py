"""What every experiment shares: common CLI flags, output folders, metrics files."""

from __future__ import annotations

import argparse
import logging
import platform
import time
from pathlib import Path
from typing import Any

from mlsplab import __version__
from mlsplab.errors import MlsplabError
from mlsplab.io import atomic_write_json, config_hash, how_to_fix, read_json
from mlsplab.locking import lock_dir

log = logging.getLogger(__name__)

DEFAULT_OUT = "runs"


def add_common_args(parser: argparse.ArgumentParser, *, data: bool = True) -> None:
    """Add ``--out``, ``--seed`` and (if ``data``) ``--data-dir`` to a subcommand, as defined
    once in :mod:`mlsplab.cli_options`."""
    from mlsplab.cli_options import add_data_dir, add_out, add_seed

    add_out(parser)
    add_seed(parser, drives="data split, initialisation and batch order")
    if data:
        add_data_dir(parser)


def budget_deadline(hours: float | None) -> float | None:
    """The ``time.time()`` at which a ``--time-budget`` of ``hours`` ends (None: no budget)."""
    if hours is None:
        return None
    if not hours > 0:  # also refuses nan
        raise MlsplabError(f"--time-budget={hours} must be > 0 hours")
    return time.time() + 3600 * hours


def experiment_dir(out: str | Path, experiment_id: str, *, lock: bool = True) -> Path:
    """``<out>/<experiment_id>/``, created and locked for writing by this process.

    The lock (:func:`mlsplab.locking.lock_dir`) is held until the process exits, so a second
    ``mlsplab`` process writing the same experiment into the same ``--out`` stops with an error
    naming this one's pid; calling this again in the same process is free. ``lock=False`` is
    for a worker process (a Ray task) writing into a folder that its driver has locked.

    Raises
    ------
    MlsplabError
        If the folder cannot be written, or another live process holds its lock.
    """
    path = Path(out) / experiment_id
    try:
        if lock:
            lock_dir(path)  # opening <path>/.lock for writing is also the write test
        else:
            path.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # e.g. no space left for the lock file's few bytes
        raise MlsplabError(f"--out {out}: cannot write {path} ({e.strerror}); nothing in it "
                           f"was changed; {how_to_fix(e.errno, path)}") from e
    return path


def writable_dir(path: str | Path, flag: str = "--out") -> Path:
    """``path``, created; a clear error naming ``flag`` if it cannot be written. Takes no lock
    (see :func:`experiment_dir` for folders an experiment writes its results to)."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise MlsplabError(f"{flag} {path.parent}: cannot write {path} ({e.strerror})") from e
    return path


def run_info() -> dict[str, Any]:
    """Versions and machine facts recorded with every result."""
    import torch  # here, not at the top: `reproduce --help` imports this module

    from mlsplab.runtime import cpu_name

    return {
        "mlsplab_version": __version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "cpu": cpu_name(),
        "host": platform.node(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_metrics(exp_dir: str | Path, experiment_id: str, config: dict[str, Any],
                  metrics: dict[str, Any]) -> Path:
    """Write ``<exp_dir>/metrics.json``: id, config, its hash, run info, then ``metrics``."""
    doc = {"experiment": experiment_id, "config": config, "config_hash": config_hash(config),
           "run_info": run_info(), **metrics}
    return atomic_write_json(Path(exp_dir) / "metrics.json", doc)


def finished_metrics(exp_dir: str | Path, config: dict[str, Any], *,
                     filename: str = "metrics.json") -> dict[str, Any] | None:
    """The existing metrics of a finished run with this exact config, else None.

    A metrics file marked ``"complete": false`` (training stopped at a time budget) counts as
    unfinished, so the caller resumes it from its checkpoint. Finding a finished run is logged,
    since the caller then skips the work. ``filename`` names another results file of the same
    shape (``config_hash`` at the top), e.g. one training's ``result.json``.
    """
    path = Path(exp_dir) / filename
    if not path.exists():
        return None
    try:
        doc = read_json(path)
    except MlsplabError as e:
        log.warning("%s; recomputing", e)
        return None
    if doc.get("config_hash") != config_hash(config):
        log.info("%s is from another configuration; recomputing", path)
        return None
    if doc.get("complete") is False:  # a run stopped at a deadline: resume it
        return None
    log.info("%s: finished run with this configuration found; skipping", Path(exp_dir).name)
    return doc


def text_table(rows: list[list[Any]], header: list[str]) -> str:
    """A right-aligned plain-text table for a subcommand's printed output."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]

    def line(row: list[Any]) -> str:
        return "  ".join(str(x).rjust(w) for x, w in zip(row, widths))

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])
