"""Independent trainings side by side in local worker processes: :class:`ProcessExecutor`.

The default executor on a machine with two or more cores (``--executor auto``): the small
matrix products of these models gain little from a second thread, so two trainings on one
thread each finish sooner than one after the other on two. The standard library's process pool
does the work; this module adds what a training needs from it: one torch thread per task, the
parent's log level, and stopping on a signal as a whole (see :mod:`mlsplab.stopping`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from mlsplab.errors import MlsplabError
from mlsplab.executors import (
    SerialExecutor,
    Task,
    available_cores,
    first_line,
    run_with_threads,
)
from mlsplab.stopping import StopRequested, first_stop, install_handler

log = logging.getLogger(__name__)


class ProcessExecutor:
    """Runs tasks side by side in local worker processes, ``task.cpus`` torch threads each.

    The workers are started with ``spawn`` (a fresh interpreter: forking a process whose
    OpenMP threads already ran can deadlock) and reused from task to task. Results equal the
    serial executor's at the same thread count: each task seeds itself.

    A stop signal to this process, or a Ctrl-C at the terminal, which reaches the workers too,
    stops the whole map: queued tasks are cancelled, each running training finishes its batch
    and writes its checkpoint, and ``map`` raises :class:`~mlsplab.stopping.StopRequested`
    naming what was saved. A second signal while they save kills the workers at once (their
    previous checkpoints stay valid: every write is atomic).

    Parameters
    ----------
    max_workers : int or None, default=None
        Trainings at a time; None: the cores this process may use.
    """

    name = "process"

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers or available_cores()

    def map(self, tasks: list[Task]) -> list[Any]:
        """Run every task; results in the order of ``tasks``.

        Every task runs to its end even when another fails, so each finished task keeps what
        it wrote; then a failed one re-raises its error (an :class:`MlsplabError` as it is,
        several as one line naming each).
        """
        if len(tasks) <= 1:  # nothing to run beside it: in this process, with its progress bars
            return SerialExecutor().map(tasks)
        workers = min(self.max_workers, len(tasks))
        pool = ProcessPoolExecutor(max_workers=workers,
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker,
                                   initargs=(logging.getLogger().getEffectiveLevel(),))
        futures = [pool.submit(_run_in_worker, t.fn, t.kwargs, t.cpus) for t in tasks]
        try:
            _wait_all(futures)
        except StopRequested as stop:
            _stop_workers(pool, futures, stop)
            never = tuple(t.name for t, f in zip(tasks, futures) if f.cancelled())
            raise first_stop([stop, *_errors(futures)], never) from None
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        errors = _errors(futures)
        failed = [(t, e) for t, e in zip(tasks, errors) if e is not None]
        if (stop := first_stop(errors)) is not None:  # a worker was stopped on its own
            raise stop
        if len(failed) == 1:
            raise failed[0][1]
        if failed:
            raise MlsplabError(f"{len(failed)} of {len(tasks)} tasks failed: " + "; ".join(
                f"{t.name}: {first_line(e)}" for t, e in failed))
        return [f.result() for f in futures]


def _wait_all(futures: list[Future]) -> None:
    """Wait for every future; a stop signal to this process raises :class:`StopRequested`."""
    pending = set(futures)
    while pending:
        _, pending = wait(pending, return_when=FIRST_COMPLETED)


def _errors(futures: list[Future]) -> list[BaseException | None]:
    return [None if f.cancelled() or not f.done() else f.exception() for f in futures]


def _stop_workers(pool: ProcessPoolExecutor, futures: list[Future],
                  stop: StopRequested) -> None:
    """Cancel the queued tasks, ask each worker to stop (a training checkpoints first) and
    wait for them; a second signal meanwhile kills them."""
    for f in futures:
        f.cancel()  # only those no worker has taken yet
    processes = list((getattr(pool, "_processes", None) or {}).values())
    log.info("stopping %d worker process(es) after their checkpoints", len(processes))
    for process in processes:
        if process.is_alive():  # SIGTERM: the worker ignores SIGINT (see _init_worker)
            os.kill(process.pid, signal.SIGTERM)
    try:
        wait([f for f in futures if not f.cancelled()])
    except StopRequested:
        log.warning("second stop signal: killing the workers without waiting for their "
                    "checkpoints (the previous ones are kept)")
        for process in processes:
            if process.is_alive():
                process.kill()


_worker_stop: dict[str, int] = {"signum": 0}  # in a worker: the stop signal it received


def _init_worker(log_level: int) -> None:
    """Set up a worker process: the parent's log level, and stop signals that reach the
    training, not the pool's own machinery."""
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s "
                        f"[worker {os.getpid()}]: %(message)s", datefmt="%H:%M:%S")
    # one BLAS/OpenMP thread unless the user chose: set before numpy and torch are imported
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    # A Ctrl-C at the terminal reaches every process of the group; the parent forwards one
    # SIGTERM to each worker instead, so that a worker stops once, whatever it was doing.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    install_handler(_on_worker_signal, (signal.SIGTERM, signal.SIGHUP))


def _on_worker_signal(signum: int, frame: Any) -> None:
    """Outside a training (which installs its own handler): remember the stop and end the
    running task at once; a worker that was stopped refuses further tasks."""
    _worker_stop["signum"] = signum
    if _worker_stop.get("busy"):
        raise StopRequested(signum)


def _run_in_worker(fn: Callable[..., Any], kwargs: dict[str, Any], cpus: int) -> Any:
    """Run ``fn(**kwargs)`` in a worker with ``cpus`` torch threads, unless it was stopped."""
    if _worker_stop["signum"]:
        raise StopRequested(_worker_stop["signum"])
    _worker_stop["busy"] = 1
    try:
        return run_with_threads(fn, kwargs, cpus, os.getcwd())
    except StopRequested as stop:
        _worker_stop["signum"] = stop.signum  # a training stopped: take no further task
        raise
    finally:
        _worker_stop["busy"] = 0
