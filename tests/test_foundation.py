"""io, runtime and CLI basics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from mlsplab.cli import COMMANDS, main
from mlsplab.errors import MlsplabError
from mlsplab.io import atomic_write_json, atomic_write_text, config_hash, read_json
from mlsplab.runtime import select_device


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    p = tmp_path / "sub" / "x.json"
    atomic_write_json(p, {"a": 1})
    atomic_write_json(p, {"a": 2})
    assert json.loads(p.read_text()) == {"a": 2}
    assert sorted(x.name for x in p.parent.iterdir()) == ["x.json"]


def test_atomic_write_failure_keeps_old_content(tmp_path: Path) -> None:
    p = tmp_path / "x.txt"
    atomic_write_text(p, "old")
    from mlsplab.io import atomic_write

    def broken(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(p, broken)
    assert p.read_text() == "old"
    assert [x.name for x in tmp_path.iterdir()] == ["x.txt"]


def test_read_json_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "m.json"
    bad.write_text("{")
    with pytest.raises(MlsplabError, match="m.json: not valid JSON"):
        read_json(bad)
    with pytest.raises(MlsplabError, match="file not found"):
        read_json(tmp_path / "none.json")


def test_config_hash_is_stable_and_sensitive() -> None:
    assert config_hash({"a": 1, "b": 2}) == config_hash({"b": 2, "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_select_device() -> None:
    assert select_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(MlsplabError, match="CUDA is not available"):
            select_device("cuda")
    with pytest.raises(MlsplabError, match="not a device name"):
        select_device("toaster")


def test_cli_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_cli_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
