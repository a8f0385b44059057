"""Stopping a command on SIGINT, SIGTERM or SIGHUP: one signal ends the whole command.

A user's Ctrl-C, ``kill PID``, ``timeout``, systemd, and Slurm or Kubernetes preemption all ask
a program to stop with one of these signals. mlsplab answers each with :class:`StopRequested`:

* inside a training (:func:`mlsplab.fit_loop.fit`) the current batch finishes, a checkpoint is
  written, and ``fit`` raises ``StopRequested`` saying where the progress was saved;
* anywhere else the command's handler (:func:`stop_on_signals`, installed by the CLI) raises it
  at once: every file mlsplab writes is written atomically, so nothing half-written is left.

``StopRequested`` derives from ``BaseException``, like ``KeyboardInterrupt``, so that code which
lets one failed step pass to run the next (``except MlsplabError``, ``except Exception``) never
swallows it: no further step starts, and the CLI exits with ``128 + signal number`` (130 for
SIGINT, 143 for SIGTERM).

A signal this process ignores stays ignored: a command started with ``nohup``, or in the
background from a script (``cmd &``, which ignores SIGINT), must not be stopped by a Ctrl-C meant
for the foreground job, and ``kill`` still stops it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Self

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

Handler = Callable[[int, Any], None]


class StopRequested(BaseException):
    """A stop signal ended the command (after the running training wrote its checkpoint).

    Parameters
    ----------
    signum : int
        The signal that asked for the stop (``signal.SIGINT``, ``signal.SIGTERM``, ...).
    saved : str, default=""
        What was saved, in words ("progress saved in runs/q1b/seed-0/checkpoint.pt"); empty
        when the stop came outside a training.
    not_started : tuple of str, default=()
        The names of the tasks an executor cancelled before they started.
    """

    def __init__(self, signum: int, saved: str = "", not_started: tuple[str, ...] = ()) -> None:
        # the args pickle it (process and Ray workers)
        super().__init__(signum, saved, tuple(not_started))
        self.signum = int(signum)
        self.saved = saved
        self.not_started = tuple(not_started)

    @property
    def signal_name(self) -> str:
        """``"SIGINT"``, ``"SIGTERM"``, ..."""
        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"

    @property
    def exit_code(self) -> int:
        """The shell's convention for a command ended by a signal: 128 + its number."""
        return 128 + self.signum

    def __str__(self) -> str:
        return f"stopped by {self.signal_name}" + (f"; {self.saved}" if self.saved else "")


def install_handler(handler: Handler | int,
                    signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> dict[int, Any]:
    """Install ``handler`` for ``signals``; return the handlers it replaced (to restore).

    Only in the main thread (Python's rule: elsewhere nothing is installed and ``{}`` comes
    back), and never for a signal this process ignores (see the module docstring).
    """
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for s in signals:
        if signal.getsignal(s) is not signal.SIG_IGN:
            previous[s] = signal.signal(s, handler)
    return previous


def restore_handlers(previous: dict[int, Any]) -> None:
    """Put back the handlers :func:`install_handler` replaced."""
    for s, handler in previous.items():
        signal.signal(s, handler)


def raise_stop(signum: int, frame: Any) -> None:
    """A signal handler that stops the command at once by raising :class:`StopRequested`."""
    raise StopRequested(signum)


class StopFlag:
    """Stop signals remembered, not raised: for code that checks at points of its choosing (a
    training after each batch, an executor between waits; an exception raised by a handler
    inside a C extension's wait can surface as a ``SystemError``).

    ``signum`` is the first signal received (0: none yet), ``count`` how many arrived. Use as a
    context manager, or :meth:`install` and :meth:`restore`.
    """

    def __init__(self) -> None:
        self.signum = 0
        self.count = 0
        self._previous: dict[int, Any] = {}

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.signum = self.signum or signum
        self.count += 1

    def install(self) -> Self:
        self._previous = install_handler(self._on_signal)
        return self

    def restore(self) -> None:
        restore_handlers(self._previous)
        self._previous = {}

    def __enter__(self) -> Self:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.restore()


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGINT/SIGTERM/SIGHUP raise :class:`StopRequested` (see module doc).

    A training inside the block installs its own handler, which finishes the batch and writes a
    checkpoint first; the block's handler is back when the training ends.
    """
    previous = install_handler(raise_stop)
    try:
        yield
    finally:
        restore_handlers(previous)


def first_stop(errors: list[BaseException | None],
               not_started: tuple[str, ...] = ()) -> StopRequested | None:
    """The first :class:`StopRequested` among ``errors``, with what each of them saved
    (side-by-side trainings each saved their own progress) and the tasks ``not_started``."""
    stops = [e for e in errors if isinstance(e, StopRequested)]
    if not stops:
        return None
    saved = list(dict.fromkeys(s.saved for s in stops if s.saved))
    prefix = "progress saved in "
    if len(saved) > 1 and all(s.startswith(prefix) for s in saved):
        saved = [prefix + ", ".join(s[len(prefix):] for s in saved)]
    return StopRequested(stops[0].signum, "; ".join(saved), not_started)
