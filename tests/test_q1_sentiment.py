"""Q1(b-d) end to end on tiny synthetic data: results, resume equivalence, bad inputs."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from gensim.models import KeyedVectors
from synth_data import write_imdb_zip, write_unsup_gz

from mlsplab import cli
from mlsplab.errors import MlsplabError
from mlsplab.experiments import q1_sentiment as q1
from mlsplab.io import read_json


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("imdb")
    write_imdb_zip(d / "IMDB_Dataset.csv.zip", n_reviews=200)
    write_unsup_gz(d / "aclImdb_unsup.txt.gz", n_reviews=200)
    return d


def _strip(history):
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


def test_end_to_end_writes_results_and_skips_when_finished(data_dir, tmp_path):
    m = q1.run("lstm-attention", tmp_path, data_dir=data_dir, quick=True, epochs=2,
               progress=False)
    exp = tmp_path / "q1c-lstm-attention"
    for f in ("metrics.json", "loss_curves.png", "attention.png", "checkpoint.pt"):
        assert (exp / f).is_file(), f
    assert m["complete"] and m["epochs_completed"] == 2 and len(m["history"]) == 2
    assert set(m["history"][0]) == {"epoch", "train_loss", "val_loss", "val_accuracy", "seconds"}
    assert 0 <= m["test_accuracy"] <= 1 and 0 <= m["test_accuracy_last"] <= 1
    assert m["best_epoch"] in (1, 2) and m["n_parameters"] > 900_000
    assert m["precision"] in ("fp32", "bf16") and m["summary"]
    assert any("epochs instead of" in d for d in m["deviations"])
    ex = m["attention_examples"][0]
    assert len(ex["words"]) == len(ex["weights"]) and abs(sum(ex["weights"]) - 1) < 1e-5
    mtime = (exp / "metrics.json").stat().st_mtime_ns
    again = q1.run("lstm-attention", tmp_path, data_dir=data_dir, quick=True, epochs=2,
                   progress=False)
    assert again["config_hash"] == m["config_hash"]
    assert (exp / "metrics.json").stat().st_mtime_ns == mtime  # skipped, not retrained
    c = q1.compare(tmp_path)
    assert [r["experiment"] for r in c["table"]] == ["q1c-lstm-attention"]
    assert "q1b-lstm-avg" in c["missing"] and c["summary"]
    assert (tmp_path / "q1-comparison" / "loss_curves.png").is_file()


def test_interrupted_run_resumes_to_the_same_history(data_dir, tmp_path):
    # one precision for both runs: on a busy machine the probe can pick another one per call
    full = q1.run("transformer", tmp_path / "a", data_dir=data_dir, quick=True, epochs=2,
                  progress=False, precision="fp32")
    # a deadline already past stops after the first batch with a checkpoint ...
    part = q1.run("transformer", tmp_path / "b", data_dir=data_dir, quick=True, epochs=2,
                  progress=False, deadline=time.time(), precision="fp32")
    assert part["complete"] is False and part["epochs_completed"] == 0
    # ... and the same call without it resumes mid-epoch and finishes identically
    rest = q1.run("transformer", tmp_path / "b", data_dir=data_dir, quick=True, epochs=2,
                  progress=False)
    assert rest["complete"] is True
    assert _strip(rest["history"]) == _strip(full["history"])
    assert rest["test_accuracy"] == full["test_accuracy"]


def test_unknown_model(tmp_path, capsys):
    with pytest.raises(MlsplabError, match="not a sentiment model"):
        q1.run("gru", tmp_path)
    assert cli.main(["sentiment", "--model", "gru", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "expected one of" in err[0]


def test_wrong_embedding_dimension(data_dir, tmp_path, monkeypatch):
    def fake(train_texts, **kw):
        kv = KeyedVectors(50)
        kv.add_vectors(["good", "bad"], np.ones((2, 50)))
        return kv, {"cache_path": "/cache/word2vec-x.kv", "source": "test"}

    monkeypatch.setattr(q1, "get_word_vectors", fake)
    with pytest.raises(MlsplabError, match="dimension 50, expected 100"):
        q1.run("lstm-avg", tmp_path, data_dir=data_dir, quick=True, progress=False)


def test_foreign_checkpoint_is_refused_and_results_kept(data_dir, tmp_path):
    exp = tmp_path / "q1b-lstm-avg"
    exp.mkdir(parents=True)
    (exp / "checkpoint.pt").write_bytes(b"not a checkpoint")
    (exp / "metrics.json").write_text('{"keep": true}')
    with pytest.raises(MlsplabError, match="checkpoint"):
        q1.run("lstm-avg", tmp_path, data_dir=data_dir, quick=True, epochs=1, progress=False)
    assert read_json(exp / "metrics.json") == {"keep": True}


def test_empty_split(tmp_path):
    write_imdb_zip(tmp_path / "IMDB_Dataset.csv.zip", n_reviews=4)
    with pytest.raises(MlsplabError, match="split"):
        q1.run("transformer", tmp_path / "out", data_dir=tmp_path, quick=True, progress=False)


def test_compare_without_results(tmp_path):
    with pytest.raises(MlsplabError, match="no finished"):
        q1.compare(tmp_path)


def test_estimate_seconds_is_positive_and_scales_with_epochs(data_dir):
    one = q1.estimate_seconds("lstm-avg", data_dir=data_dir, epochs=1, probe_seconds=0.2)
    assert one > 0
    with pytest.raises(MlsplabError, match="not a sentiment model"):
        q1.estimate_seconds("cnn", data_dir=data_dir)


def test_resumed_run_keeps_its_precision(data_dir, tmp_path, monkeypatch):
    q1.run("lstm-avg", tmp_path, data_dir=data_dir, quick=True, epochs=1, progress=False,
           precision="fp32", deadline=time.time())

    def must_not_probe(*args, **kwargs):
        raise AssertionError("a resumed run must not probe the precision again")

    monkeypatch.setattr(q1, "choose_precision", must_not_probe)
    m = q1.run("lstm-avg", tmp_path, data_dir=data_dir, quick=True, epochs=1, progress=False)
    assert m["complete"] and m["precision"] == "fp32"
    assert "kept" in m["precision_reason"]
    # an explicit, different precision is refused rather than mixed into one history
    monkeypatch.setattr(q1, "choose_precision",
                        lambda requested, *a, **k: q1.Precision(requested, "test"))
    q1.run("lstm-avg", tmp_path / "c", data_dir=data_dir, quick=True, epochs=1,
           progress=False, precision="fp32", deadline=time.time())
    with pytest.raises(MlsplabError, match="different configuration"):
        q1.run("lstm-avg", tmp_path / "c", data_dir=data_dir, quick=True, epochs=1,
               progress=False, precision="bf16")


def test_lr_and_dropout_overrides_are_recorded_and_reach_the_model(data_dir, tmp_path):
    m = q1.run("transformer", tmp_path, data_dir=data_dir, quick=True, epochs=1, progress=False,
               lr=3e-4, dropout=0.25, deadline=time.time())
    assert m["config"]["lr"] == 3e-4 and m["config"]["model_config"]["dropout"] == 0.25
    ckpt = q1.load_checkpoint(tmp_path / "q1d-transformer" / "checkpoint.pt")
    assert ckpt["optimizer"]["param_groups"][0]["lr"] == 3e-4
    default = q1.experiment_config("transformer", seed=0, quick=True, epochs=1, max_tokens=None)
    assert default["lr"] == q1.LEARNING_RATES["transformer"]
    assert q1.build_model("transformer", torch.zeros(5, 100), dropout=0.25).drop.p == 0.25
    # a different lr is a different run: it does not resume the checkpoint above
    with pytest.raises(MlsplabError, match="different configuration"):
        q1.run("transformer", tmp_path, data_dir=data_dir, quick=True, epochs=1,
               progress=False, lr=1e-3, dropout=0.25)


@pytest.mark.parametrize("args, message", [
    (["--lr", "0"], "--lr"), (["--lr", "nan"], "--lr"), (["--dropout", "1"], "--dropout"),
    (["--time-budget", "0"], "--time-budget")])
def test_bad_overrides_are_one_line_errors(data_dir, tmp_path, capsys, args, message):
    code = cli.main(["sentiment", "--model", "lstm-avg", "--quick", "--out", str(tmp_path),
                     "--data-dir", str(data_dir), "--no-progress", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0]
