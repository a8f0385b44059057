"""One writer per experiment folder: an exclusive ``flock`` on ``<folder>/.lock``.

Two ``mlsplab`` processes training the same experiment into the same ``--out`` would overwrite
each other's checkpoints and metrics. :func:`lock_dir` takes an exclusive, non-blocking
``fcntl.flock`` on ``<folder>/.lock`` and keeps the file open until the process exits, so

* a second process gets a one-line :class:`~mlsplab.errors.MlsplabError` naming the folder
  and the holder's pid, host and start time (written into the lock file);
* a lock left by a killed process (``kill -9``, a crash, a power cut) is free again, because
  the kernel drops a ``flock`` when its holder dies; the next process takes it over, logs
  "taking over the lock of pid N (no longer running)" and removes the temporary files that
  the dead writer left half-written;
* the same process may lock the same folder any number of times (a no-op after the first).

A process that exits normally empties its lock files, so the next run starts silently. Reading
results (the report) takes no lock. ``flock`` is advisory and local to one machine: on a network
file system it may not exclude a process on another host.
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import json
import logging
import os
import platform
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from mlsplab.errors import MlsplabError

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"
NO_LOCKS = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS)  # flock unsupported here
TMP_GLOB = ".*.tmp"  # what io.atomic_write's temporary files look like (mkstemp prefix/suffix)


@dataclass(frozen=True)
class _Held:
    fd: int
    pid: int  # the process that took it: a forked child must not empty its parent's file
    inode: int  # of the lock file when it was taken: a deleted and re-created folder differs


_held: dict[Path, _Held] = {}  # folder (resolved) -> open, flock-ed lock file of this process
_registry_lock = threading.Lock()


def lock_dir(folder: str | Path) -> Path:
    """Take the exclusive write lock of ``folder`` (created) for the rest of this process.

    Parameters
    ----------
    folder : path
        The experiment folder, ``<out>/<id>``.

    Returns
    -------
    Path
        The lock file, ``<folder>/.lock``.

    Raises
    ------
    MlsplabError
        If another live process holds the lock (the message names it), or the folder cannot
        be written.
    """
    folder = Path(folder).resolve()
    path = folder / LOCK_NAME
    with _registry_lock:
        held = _held.get(folder)
        if held is not None and _same_file(held, path):
            return path  # this process holds it already
        if held is not None:  # the folder was deleted or its lock file replaced: lock anew
            with suppress(OSError):
                os.close(held.fd)
            del _held[folder]
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        locked = True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = _read_owner(fd)
            os.close(fd)
            raise MlsplabError(_busy_message(folder, other)) from None
        except OSError as e:
            if e.errno not in NO_LOCKS:
                os.close(fd)
                raise
            # e.g. some network file systems: run unguarded rather than not at all
            locked = False
            log.warning("%s: this file system has no file locks (%s); nothing stops a second "
                        "process from writing here too", folder, e.strerror)
        previous = _read_owner(fd)
        try:
            _write_owner(fd)
        except OSError:  # no space for a few bytes: give the lock back, report the error
            os.close(fd)
            raise
        _held[folder] = _Held(fd, os.getpid(), os.fstat(fd).st_ino)
    if previous and locked:
        _take_over(folder, previous)
    return path


def release(folder: str | Path) -> None:
    """Give up this process's lock of ``folder`` (no-op if it holds none); the file is emptied."""
    folder = Path(folder).resolve()
    with _registry_lock:
        held = _held.pop(folder, None)
    if held is not None:
        _close(held)


def release_all() -> None:
    """Give up every lock of this process. Runs at exit, so a normal exit leaves empty files."""
    with _registry_lock:
        helds = list(_held.values())
        _held.clear()
    for held in helds:
        _close(held)


def holder(folder: str | Path) -> dict[str, object] | None:
    """What ``<folder>/.lock`` says about its last holder (pid, host, started), or None."""
    path = Path(folder) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        return _read_owner(fd)
    finally:
        os.close(fd)


def pid_running(pid: int) -> bool:
    """True if a process ``pid`` exists on this machine and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    try:  # a killed child that its parent has not reaped yet still answers kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _same_file(held: _Held, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == held.inode
    except FileNotFoundError:
        return False


def _read_owner(fd: int) -> dict[str, object] | None:
    with suppress(OSError, ValueError):  # empty, half-written or foreign content: no owner
        owner = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        if isinstance(owner, dict) and isinstance(owner.get("pid"), int):
            return owner
    return None


def _write_owner(fd: int) -> None:
    owner = {"pid": os.getpid(), "host": platform.node(),
             "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(owner) + "\n").encode("utf-8"), 0)


def _close(held: _Held) -> None:
    if held.pid != os.getpid():  # a forked child: the lock and its file are the parent's
        return
    with suppress(OSError):
        os.ftruncate(held.fd, 0)  # a clean exit: the next process has nothing to take over
    with suppress(OSError):
        os.close(held.fd)  # closing drops the flock


def _describe(owner: dict[str, object] | None) -> str:
    if owner is None:
        return "pid not yet recorded"
    host = "" if owner.get("host") == platform.node() else f" on {owner.get('host')}"
    return f"pid {owner['pid']}{host}, started {owner.get('started', '?')}"


def _busy_message(folder: Path, owner: dict[str, object] | None) -> str:
    stop = f"stop it (kill {owner['pid']}), " if owner else ""
    return (f"{folder} is being written by another mlsplab process ({_describe(owner)}); "
            f"wait for it to finish, {stop}or use another --out")


def _take_over(folder: Path, previous: dict[str, object]) -> None:
    """Log whose lock this was and remove the temporary files its writer left behind."""
    pid = previous["pid"]
    if previous.get("host", platform.node()) != platform.node():
        state = f"on {previous.get('host')}; it no longer holds it"
    elif pid == os.getpid():
        return  # released earlier by this very process (release())
    elif pid_running(int(pid)):
        state = "it no longer holds it"
    else:
        state = "no longer running"
    leftovers = [p for p in folder.rglob(TMP_GLOB) if p.is_file()]
    for p in leftovers:
        with suppress(OSError):
            p.unlink()
    log.warning("%s: taking over the lock of pid %s (%s)%s", folder, pid, state,
                f"; removed {len(leftovers)} half-written temporary file(s)" if leftovers
                else "")


atexit.register(release_all)
