"""Checkpoint files of the trainer: atomic torch saves, checked loads, removal when done.

A checkpoint loads with ``torch.load(weights_only=True)`` and carries a format tag; a truncated,
corrupt or foreign file is refused with one line naming it and how to start the run again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from mlsplab.errors import MlsplabError
from mlsplab.io import atomic_write

CHECKPOINT_FORMAT = "mlsplab-checkpoint-v1"


def load_checkpoint(path: str | Path, *, restart: str | None = None) -> dict[str, Any]:
    """Load a trainer checkpoint with ``weights_only=True``, checking that it is one of ours.

    Parameters
    ----------
    path : path
        The checkpoint (``<run>.pt`` or its ``.best`` file).
    restart : str, optional
        How to start that run again, for the error message; default "delete <path> to start
        that run again".

    Raises
    ------
    MlsplabError
        One line naming the file and how to restart the run, if the file is truncated,
        corrupt, not a torch file, or not an mlsplab checkpoint.
    """
    path = Path(path)
    restart = restart or f"delete {path} to start that run again"
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for truncated/corrupt/foreign files
        detail = " ".join(f"{type(e).__name__}: {e}".split())[:160]  # one line
        raise MlsplabError(
            f"{path}: not a readable checkpoint, truncated or corrupt ({detail}); {restart}, "
            "or restore the file from a backup") from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise MlsplabError(
            f"{path}: not an mlsplab checkpoint (format tag missing); {restart}, or use "
            "another --out")
    return ckpt


def remove_checkpoint(checkpoint_path: str | Path) -> int:
    """Delete a finished run's resume checkpoint and its ``.best`` file; the bytes freed.

    Call it only once the run's results (and any weights to keep) are written elsewhere.
    """
    freed = 0
    path = Path(checkpoint_path)
    for p in (path, path.with_name(path.name + ".best")):
        if p.exists():
            freed += p.stat().st_size
            p.unlink()
    return freed


def save_torch(path: str | Path, obj: Any) -> None:
    """``torch.save`` through a temporary file and rename (:func:`mlsplab.io.atomic_write`).

    Raises
    ------
    mlsplab.io.WriteError
        If the file cannot be written (full disk, no permission); the previous file is kept.
    """
    def write(tmp: Path) -> None:
        # Through a Python file object, so that a failed write raises OSError (ENOSPC, ...);
        # torch.save(obj, <path>) reports it only as "RuntimeError: unexpected pos ...".
        # torch may still replace that OSError by such a RuntimeError while closing the zip
        # archive; the OSError is then the RuntimeError's context: raise it instead.
        with open(tmp, "wb") as f:
            try:
                torch.save(obj, f)
            except RuntimeError as e:
                cause = _os_error_behind(e)
                if cause is None:
                    raise
                raise OSError(cause.errno, cause.strerror, str(tmp)) from e

    atomic_write(path, write)


def _os_error_behind(error: BaseException) -> OSError | None:
    """The first OSError in ``error``'s chain of causes/contexts, or None."""
    seen: set[int] = set()
    cur: BaseException | None = error
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, OSError):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None
