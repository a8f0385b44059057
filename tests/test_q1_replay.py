"""Posteriors added to an older network result from a replay of its training (q1/replay.py)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from mlsplab.errors import MlsplabError
from mlsplab.experiments.q1 import posteriors
from mlsplab.experiments.q1.replay import add_posteriors, main

ID = "q1b-lstm-avg"


def _row(epoch: int) -> dict:
    return {"epoch": epoch, "train_loss": 0.5 / epoch, "val_loss": 0.3 + abs(epoch - 3) / 100,
            "val_accuracy": 0.8 + epoch / 100, "train_eval_loss": 0.4 / epoch,
            "train_eval_accuracy": 0.85, "seconds": 100.0 + epoch}


def _result(epochs: int, *, with_posteriors: bool) -> dict:
    seed = {"seed": 0, "best_epoch": 3, "precision": "bf16", "epochs_completed": epochs,
            "test_accuracy": 0.75, "test_correct": "1101"}
    if with_posteriors:
        seed.update(posteriors.record({"val": [0.9, 0.2], "test": [0.8, 0.7, 0.1, 0.6]},
                                      {"val": [1, 0], "test": [1, 1, 1, 0]}))
    return {"config": {"model": "lstm-avg", "epochs": epochs, "seed": 0, "lr": 0.001},
            "cpu": "AMD EPYC", "per_seed": [seed],
            "histories": [[_row(e) for e in range(1, epochs + 1)]]}


def _write(root: Path, doc: dict) -> Path:
    path = root / ID / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def test_a_matching_replay_adds_the_posteriors_and_says_what_was_checked(tmp_path):
    old = _write(tmp_path / "ref", _result(25, with_posteriors=False))
    _write(tmp_path / "replay", _result(4, with_posteriors=True))
    assert add_posteriors(tmp_path / "replay", tmp_path / "ref", ID) == [0]
    seed = json.loads(old.read_text())["per_seed"][0]
    assert posteriors.has_posteriors(seed)
    assert seed["test_posteriors"] == [0.8, 0.7, 0.1, 0.6]
    assert seed["posteriors_replay"]["epochs_replayed"] == 4
    assert seed["test_accuracy"] == 0.75  # the older result keeps its own numbers
    # a second call finds them there and writes nothing
    assert add_posteriors(tmp_path / "replay", tmp_path / "ref", ID) == []


@pytest.mark.parametrize("change, why", [
    (lambda d: d["histories"][0][1].update(val_loss=0.5), "epoch 2: val_loss"),
    (lambda d: d["per_seed"][0].update(test_correct="1100"), "another test_correct"),
    (lambda d: d["per_seed"][0].update(best_epoch=2), "another best_epoch"),
    (lambda d: d["config"].update(lr=0.0003), "other settings (lr)"),
])
def test_a_replay_of_another_training_is_refused_and_nothing_written(tmp_path, change, why):
    old = _write(tmp_path / "ref", _result(25, with_posteriors=False))
    before = old.read_text()
    replay = _result(4, with_posteriors=True)
    change(replay)
    _write(tmp_path / "replay", replay)
    with pytest.raises(MlsplabError, match=re.escape(why)):
        add_posteriors(tmp_path / "replay", tmp_path / "ref", ID)
    assert old.read_text() == before


def test_a_replay_that_stopped_before_the_best_epoch_is_refused(tmp_path):
    _write(tmp_path / "ref", _result(25, with_posteriors=False))
    short = _result(2, with_posteriors=True)
    _write(tmp_path / "replay", short)
    with pytest.raises(MlsplabError, match="2 epochs replayed, fewer than the best epoch 3"):
        add_posteriors(tmp_path / "replay", tmp_path / "ref", ID)


def test_the_command_names_the_file_and_exits_2(tmp_path, capsys):
    _write(tmp_path / "ref", _result(25, with_posteriors=False))
    replay = copy.deepcopy(_result(4, with_posteriors=False))
    _write(tmp_path / "replay", replay)
    assert main(["--replay", str(tmp_path / "replay"), "--into", str(tmp_path / "ref")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(tmp_path / "replay" / ID) in err
    assert "no posteriors" in err and "Traceback" not in err


def test_a_replay_folder_without_networks_is_a_clear_error(tmp_path, capsys):
    assert main(["--replay", str(tmp_path / "empty"), "--into", str(tmp_path)]) == 2
    assert "no network result to copy from" in capsys.readouterr().err
