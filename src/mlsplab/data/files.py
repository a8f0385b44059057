"""The data files the experiments need, where to look for them, and how to check them.

The data directory is searched in this order:

1. ``--data-dir`` (the ``data_dir`` argument),
2. the ``MLSPLAB_DATA_DIR`` environment variable,
3. ``../shared/data`` beside the repository root,
4. ``~/.cache/mlsplab``.

A file found nowhere is downloaded from its canonical URL into the first writable of (1), (2),
(4), then checked by content (the copies in ``../shared/data`` were rebuilt from public sources,
so their checksums differ from the course server's: a sha256 is logged and recorded with each
run, never pinned). Set ``MLSPLAB_OFFLINE=1`` to forbid downloads.
"""

from __future__ import annotations

import gzip
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from mlsplab.data.archive import open_zip, verify_zip
from mlsplab.data.download import download
from mlsplab.errors import MlsplabError
from mlsplab.io import sha256_file

log = logging.getLogger(__name__)

COURSE_URL = "http://leap.ee.iisc.ac.in/sriram/teaching/MLSP25/assignments/data"
ENV_DATA_DIR = "MLSPLAB_DATA_DIR"
ENV_OFFLINE = "MLSPLAB_OFFLINE"
REPO_ROOT = Path(__file__).resolve().parents[3]  # src/mlsplab/data/files.py -> repo root


@dataclass(frozen=True)
class DataFile:
    """A file the experiments read: its name, where it comes from, and its content check."""

    name: str
    url: str | None  # None: no public copy; the error explains how to make one
    check: Callable[[Path], None]  # raises MlsplabError if the content is wrong
    how_to_get: str


def _check_imdb_zip(path: Path) -> None:
    from mlsplab.data.imdb import IMDB_MEMBER

    verify_zip(path)
    with open_zip(path) as zf:
        if IMDB_MEMBER not in zf.namelist():
            raise MlsplabError(f"{path}: expected member {IMDB_MEMBER!r}, found {zf.namelist()}")


def _check_esc_zip(path: Path) -> None:
    from mlsplab.data.esc50 import ESC_META_MEMBER

    verify_zip(path)
    with open_zip(path) as zf:
        if ESC_META_MEMBER not in zf.namelist():
            raise MlsplabError(f"{path}: expected member {ESC_META_MEMBER!r}; not an ESC-50 zip")


def _check_text_gz(path: Path) -> None:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            n = sum(1 for _ in f)
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise MlsplabError(f"{path}: not a readable UTF-8 gzip text file ({e})") from e
    if n == 0:
        raise MlsplabError(f"{path}: empty; expected one review per line")


IMDB_ZIP = DataFile(
    "IMDB_Dataset.csv.zip",
    f"{COURSE_URL}/IMDB_Dataset.csv.zip",
    _check_imdb_zip,
    "the assignment's IMDB zip (one member 'IMDB Dataset.csv', columns review,sentiment)",
)
ESC50_ZIP = DataFile(
    "ESC-50-master.zip",
    f"{COURSE_URL}/ESC-50-master.zip",
    _check_esc_zip,
    "the ESC-50 archive (github.com/karolpiczak/ESC-50, 'Download ZIP')",
)
IMDB_UNSUP = DataFile(
    "aclImdb_unsup.txt.gz",
    None,
    _check_text_gz,
    "the unlabelled reviews of aclImdb_v1, one per line, without the labelled ones: "
    "`mlsplab data build-unsup --from aclImdb_v1.tar.gz` makes it",
)
ALL_FILES = (IMDB_ZIP, ESC50_ZIP, IMDB_UNSUP)


def search_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The directories searched for data files, in order (see module docstring)."""
    dirs: list[Path] = []
    if data_dir:
        dirs.append(Path(data_dir).expanduser())
    if os.environ.get(ENV_DATA_DIR):
        dirs.append(Path(os.environ[ENV_DATA_DIR]).expanduser())
    dirs.append(REPO_ROOT.parent / "shared" / "data")
    dirs.append(Path.home() / ".cache" / "mlsplab")
    return list(dict.fromkeys(dirs))  # drop repeats, keep order


def _download_dir(data_dir: str | os.PathLike | None) -> Path:
    if data_dir:
        return Path(data_dir).expanduser()
    if os.environ.get(ENV_DATA_DIR):
        return Path(os.environ[ENV_DATA_DIR]).expanduser()
    return Path.home() / ".cache" / "mlsplab"


def locate(spec: DataFile, data_dir: str | os.PathLike | None = None) -> Path:
    """Find ``spec`` in the search directories, downloading it if it is nowhere.

    Raises
    ------
    MlsplabError
        If the file is nowhere and cannot be downloaded: the message lists every place looked,
        the URL, and how to provide the file.
    """
    dirs = search_dirs(data_dir)
    for d in dirs:
        if (d / spec.name).is_file():
            return d / spec.name
    looked = ", ".join(str(d) for d in dirs)
    provide = (
        f"put {spec.name} ({spec.how_to_get}) in one of those directories, "
        f"or pass --data-dir / set {ENV_DATA_DIR}"
    )
    if spec.url is None:
        raise MlsplabError(f"{spec.name} not found (looked in: {looked}); {provide}")
    if os.environ.get(ENV_OFFLINE):
        raise MlsplabError(
            f"{spec.name} not found (looked in: {looked}) and {ENV_OFFLINE} is set; "
            f"download {spec.url} yourself or {provide}"
        )
    dest = _download_dir(data_dir) / spec.name
    try:
        download(spec.url, dest)
    except MlsplabError as e:
        raise MlsplabError(f"{spec.name} not found (looked in: {looked}); {e}; {provide}") from e
    try:
        spec.check(dest)
    except MlsplabError:
        bad = dest.with_name(dest.name + ".bad")
        os.replace(dest, bad)
        log.error("downloaded %s failed its content check; kept as %s", dest, bad)
        raise
    log.info("downloaded %s (sha256 %s)", dest, file_sha256(dest))
    return dest


@lru_cache(maxsize=16)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    return sha256_file(path)


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a data file, cached per (path, size, mtime) within the process."""
    st = os.stat(path)
    return _sha256_cached(os.fspath(path), st.st_size, st.st_mtime_ns)


def provenance(path: str | os.PathLike) -> dict[str, object]:
    """What to record about an input file with a run: path, size and sha256."""
    return {"path": os.fspath(path), "bytes": os.stat(path).st_size, "sha256": file_sha256(path)}
