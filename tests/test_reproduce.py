"""reproduce: step selection, bad flags, unwritable output."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlsplab.cli import main
from mlsplab.errors import MlsplabError
from mlsplab.experiments.reproduce import STEPS, select_steps


def test_select_all_by_default() -> None:
    assert [s.key for s in select_steps(None)] == [s.key for s in STEPS]


def test_select_by_short_name_alias_and_full_id_in_assignment_order() -> None:
    keys = [s.key for s in select_steps("q4,q3b,q1c-lstm-attention,q1a")]
    assert keys == ["q1a", "q1c", "q3", "q4"]


def test_unknown_experiment_is_a_clear_error() -> None:
    with pytest.raises(MlsplabError, match=r"unknown experiment\(s\) \['q9'\]"):
        select_steps("q1a,q9")


def test_cli_unknown_only_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--only", "bogus"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bogus" in err[0]


def test_cli_unwritable_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["reproduce", "--out", str(blocker / "sub"), "--only", "q2"]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_cli_rejects_bad_epochs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--epochs", "0"]) == 2
    assert "--epochs=0" in capsys.readouterr().err
