"""Where independent trainings run: in this process one after another, or as Ray tasks.

An experiment that has several independent trainings (Q1's models, Q3's configuration x seed
grid) describes each as a :class:`Task` and hands the list to ``options.executor.map``. Each
task must be a module-level function with picklable arguments that writes its own checkpoint,
so that a task that is lost resumes from it on the next call.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


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


def get_executor(name: str = "serial", *, address: str | None = None) -> Executor:
    """The executor named by ``--executor``."""
    if name == "serial":
        return SerialExecutor()
    from mlsplab.errors import MlsplabError

    raise MlsplabError(f"--executor {name}: unknown; expected serial or ray")
