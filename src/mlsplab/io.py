"""Atomic file writes and checksums: results are never half-written."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from mlsplab.errors import MlsplabError


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Write ``path`` by calling ``write(tmp_path)`` on a temporary sibling, then renaming it.

    The temporary file is flushed to disk (``fsync``) before the rename, so a crash, a kill or
    a full disk leaves either the old file or the new one, never a partial file.

    Raises
    ------
    WriteError
        (an :class:`~mlsplab.errors.MlsplabError`) if any step fails with an ``OSError`` (no
        space left, permission denied, ...): the message names the file, the reason and that
        the previous file is kept unchanged; the temporary file is removed.
    """
    path = Path(path)
    existed = False
    tmp: Path | None = None
    try:
        existed = path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        write(tmp)
        _fsync(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            with suppress(OSError):
                tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise WriteError(path, e, existed=existed) from e
        raise
    return path


class WriteError(MlsplabError):
    """A file could not be written; the previous version (if any) is untouched.

    Attributes ``path``, ``reason`` (the OS's words, e.g. "No space left on device"),
    ``errno``, ``existed`` (a previous file was there and is kept) and ``fix`` let a caller
    say more about what the kept file means (the trainer says which checkpoint it resumes from).
    """

    def __init__(self, path: Path, error: OSError, *, existed: bool) -> None:
        self.path, self.errno, self.existed = path, error.errno, existed
        self.reason = error.strerror or str(error)
        other = Path(os.fsdecode(error.filename)) if error.filename else None
        if other is not None and not (other == path or (
                other.parent == path.parent and other.name.startswith(f".{path.name}."))):
            self.reason += f": {other}"  # another file failed (its folder, a file being read)
        self.fix = how_to_fix(error.errno, path.parent)
        kept = (f"the previous {path.name} is kept unchanged" if existed
                else "nothing was written")
        super().__init__(f"cannot write {path} ({self.reason}); {kept}; {self.fix}")


def how_to_fix(code: int | None, folder: Path) -> str:
    """What to tell the user after a write into ``folder`` failed with errno ``code``."""
    if code in (errno.ENOSPC, errno.EDQUOT):
        return "free space on that disk and rerun"
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"make {folder} writable (or write elsewhere) and rerun"
    return "fix that and rerun"


def _fsync(path: Path) -> None:
    """Flush ``path``'s data to disk (a full disk on a network file system shows up here)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (keys kept in insertion order)."""
    return atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    # numpy scalars/arrays and Paths appear in metrics dicts; make them plain JSON.
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file, raising MlsplabError naming the file if it is missing or corrupt."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise MlsplabError(f"{path}: file not found") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise MlsplabError(f"{path}: not valid JSON ({e}); delete it to recompute") from e


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            h.update(chunk)
    return h.hexdigest()


def config_hash(config: dict[str, Any]) -> str:
    """Short stable hash of a JSON-able config, used to key caches and skip finished runs."""
    blob = json.dumps(config, sort_keys=True, default=_json_default).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
