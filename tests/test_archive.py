"""Safe zip reading: integrity, path traversal, absolute paths, symlinks, zip bombs."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest
from synth_data import write_imdb_zip

from mlsplab.data import archive
from mlsplab.data.archive import check_member_name, open_zip, read_member, verify_zip
from mlsplab.errors import MlsplabError


def _zip_with(path: Path, name: str, data: bytes = b"x", *, symlink: bool = False) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ok.txt", b"fine")
        info = zipfile.ZipInfo(name)
        if symlink:
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, data)
    return path


def test_good_zip_opens_and_reads(tmp_path: Path) -> None:
    path = write_imdb_zip(tmp_path / "imdb.zip", n_reviews=10)
    verify_zip(path)
    with open_zip(path) as zf:
        assert read_member(zf, "IMDB Dataset.csv", path).startswith(b"review,sentiment")


@pytest.mark.parametrize(("name", "why"), [
    ("../evil.txt", "path traversal"),
    ("data/../../evil.txt", "path traversal"),
    ("/etc/passwd", "absolute path"),
    ("\\windows\\evil.txt", "absolute path"),
    ("C:/evil.txt", "absolute path"),
])
def test_unsafe_member_names_are_refused(tmp_path: Path, name: str, why: str) -> None:
    path = _zip_with(tmp_path / "bad.zip", name)
    with pytest.raises(MlsplabError) as e:
        open_zip(path)
    msg = str(e.value)
    assert str(path) in msg and why in msg and "\n" not in msg


def test_symlink_member_is_refused(tmp_path: Path) -> None:
    path = _zip_with(tmp_path / "link.zip", "IMDB Dataset.csv", b"/etc/passwd", symlink=True)
    with pytest.raises(MlsplabError, match=r"link.zip: member 'IMDB Dataset.csv' is a symlink"):
        open_zip(path)


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * (4 * 1024**2))  # ratio ~1000:1
    with pytest.raises(MlsplabError, match=r"bomb.zip: member 'zeros.bin' claims 4194304 bytes"):
        open_zip(path)


def test_oversized_member_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "MAX_MEMBER_BYTES", 100)
    path = _zip_with(tmp_path / "big.zip", "big.txt", b"y" * 200)
    with pytest.raises(MlsplabError, match="likely zip bomb"):
        open_zip(path)


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04 truncated"])
def test_not_a_zip(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "IMDB_Dataset.csv.zip"
    path.write_bytes(content)
    with pytest.raises(MlsplabError, match=r"IMDB_Dataset.csv.zip: not a valid zip archive"):
        open_zip(path)


def test_truncated_zip(tmp_path: Path) -> None:
    path = write_imdb_zip(tmp_path / "t.zip", n_reviews=200)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(MlsplabError, match=r"t.zip: not a valid zip archive .*corrupt or trunc"):
        open_zip(path)


def test_corrupt_member_fails_crc(tmp_path: Path) -> None:
    path = tmp_path / "crc.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("IMDB Dataset.csv", b"review,sentiment\n" + b"a,positive\n" * 50)
    raw = bytearray(path.read_bytes())
    at = raw.index(b"a,positive")
    raw[at] = ord("b")  # flip one byte of stored data: the CRC no longer matches
    path.write_bytes(bytes(raw))
    with pytest.raises(MlsplabError, match=r"crc.zip: member 'IMDB Dataset.csv' fails its CRC"):
        verify_zip(path)
    with open_zip(path) as zf, pytest.raises(MlsplabError, match="is corrupt"):
        read_member(zf, "IMDB Dataset.csv", path)


def test_missing_member_and_missing_file(tmp_path: Path) -> None:
    path = write_imdb_zip(tmp_path / "x.zip", n_reviews=5)
    with open_zip(path) as zf, pytest.raises(MlsplabError, match="'nope.csv' not found"):
        read_member(zf, "nope.csv", path)
    with pytest.raises(MlsplabError, match="nothere.zip: file not found"):
        open_zip(tmp_path / "nothere.zip")


def test_check_member_name_accepts_normal_names(tmp_path: Path) -> None:
    for name in ("a.csv", "dir/sub/a.wav", "ESC-50-master/meta/esc50.csv", "a..b.txt"):
        check_member_name(name, tmp_path / "z.zip")
