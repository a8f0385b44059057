"""The source code a report was made with: version, commit, tree hash and ``source.zip``.

The assignment asks for the source code with the report. ``source.zip`` is built from the
files of the installed package (``mlsplab/`` beside this module), not from ``git``, which a
user's copy may not have; the git commit is stated only when the package sits in a git
checkout. The tree hash is the SHA-256 of the sorted relative paths and contents of the same
files that go into the zip, so the report names exactly the source it ships.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import mlsplab
from mlsplab.errors import MlsplabError
from mlsplab.io import atomic_write

PACKAGE_DIR = Path(mlsplab.__file__).resolve().parent
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}
_NAME = re.compile(r"[^\w.\-]", re.UNICODE)  # what cannot stand in the file name


@dataclass(frozen=True)
class SourceInfo:
    """Which source made the report."""

    version: str  # mlsplab.__version__
    tree_sha256: str  # over the package's files (paths and contents)
    n_files: int
    commit: str | None = None  # the git commit, when the package sits in a checkout


def package_files(root: Path = PACKAGE_DIR) -> list[Path]:
    """The package's source files under ``root``, sorted (no caches or compiled files)."""
    return sorted(p for p in root.rglob("*") if p.is_file()
                  and not _SKIP_DIRS.intersection(p.relative_to(root).parts)
                  and p.suffix not in _SKIP_SUFFIXES)


def tree_sha256(files: list[Path], root: Path = PACKAGE_DIR) -> str:
    """SHA-256 over each file's path relative to ``root`` and its bytes, in order."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _git_commit(root: Path) -> str | None:
    """The commit of the checkout holding ``root``, or None (no git, or not a checkout)."""
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", commit) else None


def source_info(root: Path = PACKAGE_DIR) -> SourceInfo:
    """Version, tree hash and (when there is one) git commit of the package at ``root``."""
    files = package_files(root)
    return SourceInfo(mlsplab.__version__, tree_sha256(files, root), len(files),
                      _git_commit(root))


def write_source_zip(path: Path, root: Path = PACKAGE_DIR) -> Path:
    """Write the package's source files to the zip ``path`` (atomically) as ``mlsplab/...``."""
    files = package_files(root)

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in files:
                archive.write(file, f"mlsplab/{file.relative_to(root).as_posix()}")

    return atomic_write(path, write)


def submission_name(author: str) -> str:
    """``Assignment3_FullName.pdf`` for ``"Full Name"`` (the assignment's file name: the name
    with its spaces removed).

    Raises
    ------
    MlsplabError
        If the name is empty or holds a character a file name cannot (``/``, ``:`` ...).
    """
    name = "".join(author.split())
    if not name or _NAME.search(name):
        raise MlsplabError(f"--author {author!r}: expected a name of letters (spaces, '.', '-' "
                           "allowed), which becomes the file name Assignment3_<name>.pdf")
    return f"Assignment3_{name}.pdf"
