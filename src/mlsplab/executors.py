"""Where independent trainings run: in this process, in local worker processes, or as Ray tasks.

An experiment that has several independent trainings (Q1's models, Q3's configuration x seed
grid) describes each as a :class:`Task` and hands the list to ``options.executor.map``. Each
task must be a module-level function with picklable arguments that writes its own checkpoint,
so that a task that is lost resumes from it on the next call.

* :class:`SerialExecutor` runs them one after another in this process;
* :class:`~mlsplab.process_executor.ProcessExecutor` runs them side by side in local worker
  processes, one torch thread each (the default on a machine with two or more cores);
* :class:`RayExecutor` runs them as Ray tasks, locally or on a cluster.

A stop signal (:mod:`mlsplab.stopping`) stops every executor as a whole: no further task
starts, the running ones write their checkpoints, and ``map`` raises
:class:`~mlsplab.stopping.StopRequested`.

Ray is an optional extra (``pip install 'mlsplab[ray]'``) and is imported only by
:class:`RayExecutor`, so the CLI starts as fast without it.
"""

from __future__ import annotations

import logging
import os
import platform
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, Self

from mlsplab import ray_auth
from mlsplab.errors import MlsplabError
from mlsplab.stopping import StopFlag, StopRequested

log = logging.getLogger(__name__)

EXECUTORS = ("auto", "serial", "process", "ray")  # --executor; auto: process on 2+ cores
INSTALL_RAY = "pip install 'mlsplab[ray]'"
RESUME_HINT = "run the same command again: finished tasks are reused and this one resumes " \
              "from its checkpoint"


@dataclass(frozen=True)
class Task:
    """One independent training: ``fn(**kwargs)``, with the resources it needs."""

    name: str  # shown in progress and errors, e.g. "q3 adam/batch seed 1"
    fn: Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)
    cpus: int = 1  # CPU threads the task uses (torch.set_num_threads inside the task)
    gpus: float = 0.0


class Executor(Protocol):
    name: str

    def map(self, tasks: list[Task]) -> list[Any]:
        """Run every task; results in the order of ``tasks``."""


class SerialExecutor:
    """Runs tasks one after another in this process (the default)."""

    name = "serial"

    def map(self, tasks: list[Task]) -> list[Any]:
        return [task.fn(**task.kwargs) for task in tasks]


def where() -> str:
    """The host a task runs on, recorded with its results."""
    return platform.node()


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def get_executor(name: str = "auto", *, address: str | None = None) -> Executor:
    """The executor named by ``--executor``.

    Parameters
    ----------
    name : {"auto", "serial", "process", "ray"}, default="auto"
        ``serial`` runs tasks in this process; ``process`` in local worker processes, one per
        core; ``ray`` as Ray tasks; ``auto`` is ``process`` on two or more cores, else
        ``serial``.
    address : str or None, default=None
        ``--address``: the Ray cluster to join (``HEAD:6379``); None starts a local Ray.
        Only valid with ``name="ray"``.

    Raises
    ------
    MlsplabError
        An unknown name, ``--address`` without ``--executor ray``, or Ray not installed.
    """
    if name not in EXECUTORS:
        raise MlsplabError(f"--executor {name}: unknown; expected one of {', '.join(EXECUTORS)}")
    if name == "ray":
        return RayExecutor(address=address)
    if address is not None:
        raise MlsplabError(f"--address {address}: only used with --executor ray; add "
                           "--executor ray or drop --address")
    if name == "process" or (name == "auto" and available_cores() >= 2):
        from mlsplab.process_executor import ProcessExecutor  # imports executors' Task

        return ProcessExecutor()
    return SerialExecutor()


def import_ray() -> Any:
    """The ``ray`` module, or an :class:`MlsplabError` saying how to install it."""
    try:
        import ray
    except ImportError as e:
        raise MlsplabError(f"--executor ray: Ray is not installed ({e}); install it with "
                           f"{INSTALL_RAY}, or use --executor serial") from e
    return ray


def run_with_threads(fn: Callable[..., Any], kwargs: dict[str, Any], cpus: int,
                     cwd: str) -> Any:
    """Run ``fn(**kwargs)`` inside a Ray worker with ``cpus`` torch threads.

    Ray reserves ``cpus`` cores for the task; torch would otherwise use every core of the
    machine and the tasks sharing it would slow each other down. Relative paths (``--out runs``)
    mean the same folder as on the driver when ``cwd`` exists here (a shared filesystem).
    """
    import torch

    from mlsplab.locking import release_all

    torch.set_num_threads(max(int(cpus), 1))
    if os.path.isdir(cwd):
        os.chdir(cwd)
    try:
        return fn(**kwargs)
    finally:  # Ray reuses workers: a finished task must not keep its folders locked
        release_all()


class RayExecutor:
    """Runs tasks as Ray tasks, each reserving ``task.cpus`` CPUs and ``task.gpus`` GPUs.

    Parameters
    ----------
    address : str or None, default=None
        A running cluster to join (``HEAD:6379``, started with ``ray start --head``); None
        starts a local Ray on this machine, with ``num_cpus`` CPUs. An already initialised Ray
        (``ray.init`` called by the caller) is used as it is.
    num_cpus : int or None, default=None
        CPUs of the local Ray; None: ``os.cpu_count()``. Ignored with ``address``.
    max_retries : int, default=1
        Times Ray reruns a task whose worker or node died (a rerun resumes from the task's
        checkpoint); an exception raised by the task itself is never retried.
    progress : bool, default=True
        A tqdm bar over completed tasks.

    Raises
    ------
    MlsplabError
        Ray is not installed, or the cluster at ``address`` cannot be reached.
    """

    name = "ray"

    def __init__(self, address: str | None = None, *, num_cpus: int | None = None,
                 max_retries: int = 1, progress: bool = True) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.max_retries = max_retries
        self.progress = progress
        self._started = False  # this executor called ray.init (so close() shuts it down)
        self._init()

    def _init(self) -> None:
        ray = import_ray()
        if self.address:
            _check_reachable(self.address)
        if ray.is_initialized():
            return
        try:
            if self.address:
                ray_auth.enable_if_token_available()  # as `ray start` does: see ray_auth
                ray.init(address=self.address, log_to_driver=False,
                         logging_level=logging.WARNING)
            else:
                # "local": a new Ray even where `ray start` left one running on this machine
                ray.init(address="local", num_cpus=self.num_cpus or os.cpu_count(),
                         include_dashboard=False, log_to_driver=False,
                         logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as e:
            ray.shutdown()  # whatever half-started processes this call left
            where_to = f"--address {self.address}" if self.address else "a local Ray"
            auth = f"; {ray_auth.join_failure_hint()}" if self.address else ""
            raise MlsplabError(f"--executor ray: could not start or join {where_to}: "
                               f"{first_line(e)}{auth}; check `ray status` on the head node, "
                               "or drop --address for a local Ray") from e
        self._started = True
        log.info("Ray resources: %s", ray.cluster_resources())

    def map(self, tasks: list[Task]) -> list[Any]:
        """Run every task as a Ray task; results in the order of ``tasks``.

        Every task runs to its end even when another fails, so each finished task keeps the
        results it wrote. Then the failures (an exception in the task, a worker or node that
        died, an object that was lost) raise one :class:`MlsplabError` line naming them.
        """
        from mlsplab.progress import progress_bar

        ray = import_ray()
        if not ray.is_initialized():  # unpickled in another process, or after close()
            self._init()
        _check_fits(tasks, ray)
        remote = ray.remote(run_with_threads)
        cwd = os.getcwd()
        refs = [remote.options(num_cpus=task.cpus, num_gpus=task.gpus, name=task.name,
                               max_retries=self.max_retries)
                .remote(task.fn, task.kwargs, task.cpus, cwd)
                for task in tasks]
        index = {ref: i for i, ref in enumerate(refs)}
        results: list[Any] = [None] * len(tasks)
        failures: list[str] = []
        pending = list(refs)
        # signals are polled between short waits: raised inside Ray's wait they would surface
        # as a SystemError
        with StopFlag() as stop:
            try:
                with progress_bar(total=len(tasks), desc="ray tasks", unit="task",
                                  disable=not self.progress) as bar:
                    while pending:
                        if stop.signum:
                            raise StopRequested(stop.signum)
                        ready, pending = ray.wait(pending, num_returns=1, timeout=1.0)
                        if not ready:
                            continue
                        i = index[ready[0]]
                        try:
                            results[i] = ray.get(ready[0])
                        except ray.exceptions.RayError as e:
                            failures.append(_describe(tasks[i].name, e, ray))
                            log.error("task %s failed: %s", tasks[i].name, failures[-1])
                        bar.set_postfix_str(tasks[i].name, refresh=False)
                        bar.update(1)
            except StopRequested as e:  # Ctrl-C or kill: running tasks checkpoint, then stop
                _cancel_after_checkpoints(ray, pending, stop)
                raise StopRequested(e.signum, "each running Ray task saved its progress in its "
                                              "checkpoint") from None
            except BaseException:  # a lost driver connection: stop what is still queued
                for ref in pending:
                    ray.cancel(ref, force=True)
                raise
        if failures:
            raise MlsplabError(f"{len(failures)} of {len(tasks)} Ray task(s) failed: "
                               f"{'; '.join(failures)}; {RESUME_HINT}")
        return results

    def close(self) -> None:
        """Shut down the Ray this executor started (a joined cluster keeps running)."""
        if self._started:
            import_ray().shutdown()
            self._started = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        # a copy shipped to a worker (inside a task's options) uses that worker's Ray
        return {**self.__dict__, "_started": False}


def _cancel_after_checkpoints(ray: Any, refs: list[Any], stop: StopFlag,
                              timeout: float = 600.0) -> None:
    """Cancel ``refs``: a queued task never starts, a running one gets a KeyboardInterrupt, on
    which its training finishes the batch and writes its checkpoint; wait for them to end
    (a second signal, or ``timeout`` seconds, stops waiting)."""
    for ref in refs:
        ray.cancel(ref, force=False)
    seen, end = stop.count, time.monotonic() + timeout
    while refs and time.monotonic() < end:
        if stop.count > seen:
            log.warning("second stop signal: not waiting for the Ray tasks' checkpoints")
            return
        _, refs = ray.wait(refs, num_returns=len(refs), timeout=1.0)


def _check_reachable(address: str, timeout: float = 10.0) -> None:
    """Fail fast when nothing listens at ``HOST:PORT`` (``ray.init`` would retry forever)."""
    host, sep, port = address.rpartition(":")
    if "://" in address or not sep or not port.isdigit():
        return  # "auto", "ray://...": Ray resolves and checks these itself
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise MlsplabError(f"--address {address}: no Ray head answers there ({e}); start one "
                           f"with `ray start --head --port {port}` on {host}, or pass the address "
                           "that `ray start --head` printed") from e


def _check_fits(tasks: list[Task], ray: Any) -> None:
    """Refuse a task that no machine of the cluster can hold (Ray would wait for it forever)."""
    nodes = [node["Resources"] for node in ray.nodes() if node["Alive"]]
    most_cpus = max((node.get("CPU", 0.0) for node in nodes), default=0.0)
    most_gpus = max((node.get("GPU", 0.0) for node in nodes), default=0.0)
    for task in tasks:
        if task.cpus > most_cpus or task.gpus > most_gpus:
            raise MlsplabError(
                f"--executor ray: task {task.name} needs {task.cpus} CPU(s) and {task.gpus} "
                f"GPU(s), but the largest machine of the Ray cluster has {most_cpus:g} and "
                f"{most_gpus:g}; add a machine that has them (`ray start --address ...`)"
                + (", or train on the CPU (--device cpu)" if task.gpus > most_gpus else ""))


def _describe(name: str, error: Exception, ray: Any) -> str:
    """One line for a failed task: its name, and what happened to it."""
    if isinstance(error, ray.exceptions.RayTaskError):
        cause = error.cause if error.cause is not None else error
        return f"{name} raised {type(cause).__name__}: {first_line(cause)}"
    # WorkerCrashedError, NodeDiedError, ObjectLostError, OutOfMemoryError, TaskCancelledError,
    # ...: the process running the task is gone; its checkpoint is not
    return f"{name} was lost ({type(error).__name__}: {first_line(error)})"


def first_line(error: BaseException) -> str:
    """The error's message on one line (Ray's messages span several)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
