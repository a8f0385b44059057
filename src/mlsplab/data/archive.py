"""Safe reading of zip archives: integrity, no path traversal, no symlinks, no zip bombs."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

from mlsplab.errors import MlsplabError

# A member larger than this (uncompressed) is refused; the biggest real member is 66 MB.
MAX_MEMBER_BYTES = 2 * 1024**3
# Compression ratios above this are a zip-bomb signature; real CSV/WAV members are < 20.
MAX_COMPRESSION_RATIO = 200


def check_member_name(name: str, archive: Path) -> None:
    """Raise MlsplabError if a member name could escape the extraction directory."""
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise MlsplabError(f"{archive}: unsafe member {name!r} (absolute path); refusing to read")
    if ".." in p.parts:
        raise MlsplabError(f"{archive}: unsafe member {name!r} ('..' path traversal); refusing")


def open_zip(path: str | Path) -> zipfile.ZipFile:
    """Open ``path`` as a zip after checking every member's name, type and size.

    Parameters
    ----------
    path : str or Path
        The archive.

    Returns
    -------
    zipfile.ZipFile
        The open archive; the caller closes it.

    Raises
    ------
    MlsplabError
        If the file is missing, not a zip, truncated, or holds an unsafe member
        (absolute path, ``..``, symlink, absurd uncompressed size).
    """
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError as e:
        raise MlsplabError(f"{path}: file not found") from e
    except (zipfile.BadZipFile, OSError) as e:
        raise MlsplabError(
            f"{path}: not a valid zip archive ({e}); it is corrupt or truncated, "
            "delete it and download it again"
        ) from e
    try:
        for info in zf.infolist():
            check_member_name(info.filename, path)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise MlsplabError(f"{path}: member {info.filename!r} is a symlink; refusing")
            if info.file_size > MAX_MEMBER_BYTES or (
                info.compress_size > 0
                and info.file_size > 1024**2
                and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO
            ):
                raise MlsplabError(
                    f"{path}: member {info.filename!r} claims {info.file_size} bytes "
                    f"uncompressed (from {info.compress_size}); refusing a likely zip bomb"
                )
    except BaseException:
        zf.close()
        raise
    return zf


def read_member(zf: zipfile.ZipFile, name: str, archive: str | Path) -> bytes:
    """Read one member's bytes, turning CRC errors and truncation into MlsplabError."""
    try:
        return zf.read(name)
    except KeyError as e:
        raise MlsplabError(f"{archive}: member {name!r} not found in the archive") from e
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise MlsplabError(
            f"{archive}: member {name!r} is corrupt ({e}); delete the archive and fetch it again"
        ) from e


def verify_zip(path: str | Path) -> None:
    """Full integrity check (CRC of every member); raises MlsplabError naming the bad member."""
    with open_zip(path) as zf:
        try:
            bad = zf.testzip()
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
            raise MlsplabError(f"{path}: corrupt zip archive ({e})") from e
        if bad is not None:
            raise MlsplabError(f"{path}: member {bad!r} fails its CRC check; the zip is corrupt")
