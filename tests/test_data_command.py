"""`mlsplab data`: which files are present and valid, how to get a missing one; and
`mlsplab data build-unsup` from a tiny synthetic aclImdb archive."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest
from synth_data import write_imdb_zip, write_unsup_gz
from synth_esc import write_esc_zip

from mlsplab.cli import main
from mlsplab.data.files import ALL_FILES, ESC50_ZIP, IMDB_UNSUP, IMDB_ZIP
from mlsplab.data.unsup import build_unsup


@pytest.fixture(scope="module")
def full_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("full")
    write_imdb_zip(d / IMDB_ZIP.name, n_reviews=20)
    write_unsup_gz(d / IMDB_UNSUP.name, n_reviews=5)
    write_esc_zip(d / ESC50_ZIP.name)
    return d


def data_command(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["data", *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.usefixtures("isolated_data_dirs")
def test_every_file_present_and_valid(full_data: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out = data_command(capsys, "--data-dir", str(full_data))
    assert code == 0
    for spec in ALL_FILES:
        assert f"ok       {spec.name} at {full_data / spec.name}" in out


@pytest.mark.usefixtures("isolated_data_dirs")
@pytest.mark.parametrize("missing", [spec.name for spec in ALL_FILES])
def test_each_missing_file_says_how_to_get_it(missing: str, full_data: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "data"
    d.mkdir()
    for spec in ALL_FILES:
        if spec.name != missing:
            (d / spec.name).symlink_to(full_data / spec.name)
    code, out = data_command(capsys, "--data-dir", str(d))
    assert code == 1
    lines = out.splitlines()
    at = lines.index(f"MISSING  {missing}")
    how = lines[at + 1]
    if missing == IMDB_UNSUP.name:
        assert "mlsplab data build-unsup --from aclImdb_v1.tar.gz" in how
        assert "word2vec is pretrained on the training split alone" in how
    else:
        assert "downloaded from http://leap.ee.iisc.ac.in/" in how
        assert "(it is not: MLSPLAB_OFFLINE is set)" in how  # the fixture forbids downloads
    assert sum(line.startswith("ok ") for line in lines) == 2


@pytest.mark.usefixtures("isolated_data_dirs")
def test_a_corrupt_file_is_bad(full_data: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "data"
    d.mkdir()
    for spec in ALL_FILES:
        (d / spec.name).symlink_to(full_data / spec.name)
    (d / IMDB_ZIP.name).unlink()
    (d / IMDB_ZIP.name).write_bytes(b"PK\x03\x04 not a zip")
    code, out = data_command(capsys, "--data-dir", str(d))
    assert code == 1
    assert f"BAD      {IMDB_ZIP.name} at {d / IMDB_ZIP.name}" in out


def write_aclimdb(path: Path) -> None:
    """A tiny aclImdb_v1.tar.gz: unlabelled reviews (one repeated, one also labelled, one on
    two lines), labelled ones, other files, a link and a member outside the layout."""
    members = {
        "aclImdb/train/unsup/10_0.txt": "Tenth review, seen later.",
        "aclImdb/train/unsup/2_0.txt": "Second review.\nIt spans two lines. ",
        "aclImdb/train/unsup/1_0.txt": " First review, <br />with a break. ",
        "aclImdb/train/unsup/3_0.txt": "A labelled review.",
        "aclImdb/train/unsup/4_0.txt": "First review, <br />with a break.",
        "aclImdb/train/unsup/5_0.txt": "Ünïcode stays.",
        "aclImdb/train/pos/0_9.txt": "A labelled review.",
        "aclImdb/test/neg/0_2.txt": "Another labelled review.",
        "aclImdb/README": "not a review",
        "aclImdb/imdb.vocab": "the\nand",
        "../evil/train/unsup/6_0.txt": "outside the layout",
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, text in members.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("aclImdb/train/unsup/7_0.txt")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)


def test_build_unsup_from_a_tiny_archive(tmp_path: Path) -> None:
    archive = tmp_path / "aclImdb_v1.tar.gz"
    write_aclimdb(archive)
    summary = build_unsup(archive, tmp_path / "out" / IMDB_UNSUP.name)
    with gzip.open(summary.path, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    # in the order of the ids; repeats and labelled reviews removed; one line each
    assert lines == ["First review, <br />with a break.", "Second review. It spans two lines.",
                     "Ünïcode stays.", "Tenth review, seen later."]
    assert (summary.unlabelled, summary.labelled, summary.removed_labelled,
            summary.removed_repeats, summary.written) == (6, 2, 1, 1, 4)
    again = build_unsup(archive, tmp_path / "again.txt.gz")
    assert again.path.read_bytes() == summary.path.read_bytes()  # repeatable to the byte
    assert not (tmp_path / "evil").exists() and not list(tmp_path.glob("out/.*part"))


@pytest.mark.usefixtures("isolated_data_dirs")
def test_build_unsup_command_writes_where_runs_look(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "aclImdb_v1.tar.gz"
    write_aclimdb(archive)
    d = tmp_path / "data"
    code, out = data_command(capsys, "build-unsup", "--from", str(archive), "--data-dir", str(d))
    assert code == 0 and f"wrote {d / IMDB_UNSUP.name}: 4 reviews" in out
    code, out = data_command(capsys, "--data-dir", str(d))
    assert f"ok       {IMDB_UNSUP.name} at {d / IMDB_UNSUP.name}" in out


@pytest.mark.parametrize("content, message", [
    (b"not a tar at all", "not a readable tar archive"),
    (None, "no aclImdb/train/unsup/*.txt members"),
])
def test_build_unsup_refuses_a_wrong_archive(tmp_path: Path, content: bytes | None,
                                             message: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "a.tar.gz"
    if content is None:
        with tarfile.open(archive, "w:gz") as tar:
            info = tarfile.TarInfo("aclImdb/README")
            tar.addfile(info, io.BytesIO(b""))
    else:
        archive.write_bytes(content)
    code, out = data_command(capsys, "build-unsup", "--from", str(archive), "--data-dir",
                             str(tmp_path / "d"))
    assert code == 2 and message in out and len(out.strip().splitlines()) == 1
