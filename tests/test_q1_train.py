"""Q1(b-d) runner end to end on tiny synthetic data: results, seeds, twins, resume, bad inputs."""

from __future__ import annotations

import csv
import io
import json
import pickle
import random
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from gensim.models import KeyedVectors
from synth_data import make_review, write_imdb_zip, write_unsup_gz

from mlsplab import cli
from mlsplab import runtime as train_runtime
from mlsplab.data.imdb import split_imdb
from mlsplab.errors import MlsplabError
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1 import data as q1data
from mlsplab.experiments.q1 import posteriors, train
from mlsplab.experiments.q1.config import LEARNING_RATES, SentimentConfig
from mlsplab.experiments.q1.train import build_model
from mlsplab.features.word_vectors import word2vec_params
from mlsplab.io import read_json
from mlsplab.training import load_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")

N_REVIEWS = 200  # split 80/10/10 -> 160 / 20 / 20
TWINS = {"test": 3, "val": 2}  # planted exact twins of training reviews


def write_twin_zip(path: Path, seed: int = 0) -> Path:
    """A synthetic IMDB zip whose seed-``seed`` split has TWINS test/val rows that copy a
    training review (text and label) exactly."""
    rng = random.Random(seed)
    texts = [make_review(rng, i % 2 == 0) for i in range(N_REVIEWS)]
    labels = ["positive" if i % 2 == 0 else "negative" for i in range(N_REVIEWS)]
    split = split_imdb(N_REVIEWS, seed)
    k = 0
    for name, n in TWINS.items():
        for row in getattr(split, name)[:n]:
            src = split.train[k]
            texts[row], labels[row] = texts[src], labels[src]
            k += 1
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["review", "sentiment"])
    writer.writerows(zip(texts, labels))
    return write_imdb_zip(path, csv_text=buf.getvalue())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("imdb")
    write_twin_zip(d / "IMDB_Dataset.csv.zip")
    write_unsup_gz(d / "aclImdb_unsup.txt.gz", n_reviews=200)
    return d


def opts(out: Path, data_dir: Path, **kw) -> RunOptions:
    base = RunOptions(out=out, data_dir=data_dir, quick=True, epochs=2, precision="fp32")
    return replace(base, **kw)


@pytest.fixture(scope="module")
def attention_run(data_dir, tmp_path_factory):
    """lstm-attention, 2 seeds x 2 epochs (trained once for the tests below)."""
    out = tmp_path_factory.mktemp("att")
    return out, train.run(opts(out, data_dir, imdb_seeds=2), model="lstm-attention",
                          progress=False)


def _strip(history):
    return [{k: v for k, v in h.items() if not k.endswith("seconds")} for h in history]


def test_metrics_hold_measurements_per_seed_and_their_mean(attention_run):
    out, m = attention_run
    exp = out / "q1c-lstm-attention"
    for f in ("metrics.json", "model.pt", "seed-0/result.json", "seed-1/result.json"):
        assert (exp / f).is_file(), f
    # finished seeds keep their results, not their resume checkpoints (tens of MB each)
    assert not list(exp.glob("seed-*/checkpoint.pt*"))
    assert "summary" not in m and "deviations" not in m  # prose is made at report time
    assert m["complete"] and m["seeds"] == [0, 1] and m["epochs_completed"] == 2
    assert len(m["histories"]) == 2 and all(len(h) == 2 for h in m["histories"])
    row = m["history"][0]
    assert {"train_loss", "train_eval_loss", "val_loss", "val_accuracy",
            "train_eval_seconds"} <= set(row)
    values = [p["test_accuracy"] for p in m["per_seed"]]
    assert m["test_accuracy_values"] == values
    assert m["test_accuracy"] == pytest.approx(np.mean(values))
    assert m["test_accuracy_std"] == pytest.approx(np.std(values, ddof=1))
    assert m["precision"] == "fp32" and m["config"]["precision"] == "fp32"
    assert m["train_eval_reviews"] == 160 and m["train_eval_seconds_per_epoch"] > 0


def test_duplicate_audit_and_accuracy_without_twins(attention_run):
    """The planted twins are counted in every result, and the no-twin accuracy is the
    accuracy over exactly the test rows without one."""
    _, m = attention_run
    seed0 = m["per_seed"][0]
    audit = seed0["duplicate_audit"]
    assert audit["test_rows_with_train_twin"] == TWINS["test"]
    assert audit["val_rows_with_train_twin"] == TWINS["val"]
    assert m["duplicate_audit"] == audit
    correct = np.array([c == "1" for c in seed0["test_correct"]])
    split = split_imdb(N_REVIEWS, 0)
    twin = np.isin(np.arange(len(split.test)), np.arange(TWINS["test"]))  # planted first rows
    assert seed0["n_test_no_train_twin"] == len(split.test) - TWINS["test"]
    assert seed0["test_accuracy_no_train_twin"] == pytest.approx(correct[~twin].mean())
    assert seed0["test_accuracy"] == pytest.approx(correct.mean())


def test_posteriors_recorded_per_seed(attention_run):
    """Validation and test P(positive) of every review, 6 decimals, agreeing with the
    recorded correctness; the labels beside them."""
    _, m = attention_run
    for entry in m["per_seed"]:
        assert posteriors.has_posteriors(entry)
        for split in ("val", "test"):
            p, y = posteriors.read(entry, split)
            assert len(p) == len(y) == 20 and ((p >= 0) & (p <= 1)).all()
            assert all(round(x, 6) == x for x in entry[f"{split}_posteriors"])
        p, y = posteriors.read(entry, "test")
        assert "".join("1" if c else "0" for c in (p > 0.5) == (y == 1)) == entry["test_correct"]


def test_older_result_without_posteriors_is_trained_again(data_dir, tmp_path):
    first = train.run(opts(tmp_path, data_dir, epochs=1), model="lstm-avg", progress=False)
    exp = tmp_path / "q1b-lstm-avg"
    for path in (exp / "metrics.json", exp / "seed-0" / "result.json"):  # as an older run
        doc = read_json(path)
        for entry in [doc, *doc.get("per_seed", [])]:
            for key in posteriors.KEYS:
                entry.pop(key, None)
        path.write_text(json.dumps(doc))
    again = train.run(opts(tmp_path, data_dir, epochs=1), model="lstm-avg", progress=False)
    assert posteriors.has_posteriors(again["per_seed"][0])
    assert again["config_hash"] == first["config_hash"]
    assert again["per_seed"][0]["test_correct"] == first["per_seed"][0]["test_correct"]


def test_length_buckets_and_attention_measurements(attention_run):
    _, m = attention_run
    b = m["length_buckets"]
    assert len(b["edges"]) == 5 and b["edges"] == sorted(b["edges"])
    assert sum(b["n"]) == 20
    a = m["attention"]
    assert 0 < a["entropy_mean"] <= a["uniform_entropy_mean"] + 1e-9
    assert a["top_mass_mean"] >= a["top_mass_uniform_mean"] - 1e-9
    assert len(a["position_ratio"]) == 10 and a["top_words"]
    ex = m["attention_examples"][0]
    assert len(ex["words"]) == len(ex["weights"]) and abs(sum(ex["weights"]) - 1) < 1e-5


def test_finished_run_is_skipped_and_finished_seed_not_retrained(attention_run, data_dir):
    out, m = attention_run
    exp = out / "q1c-lstm-attention"
    mtime = (exp / "metrics.json").stat().st_mtime_ns
    again = train.run(opts(out, data_dir, imdb_seeds=2), model="lstm-attention", progress=False)
    assert again["config_hash"] == m["config_hash"]
    assert (exp / "metrics.json").stat().st_mtime_ns == mtime
    # a third seed reuses seeds 0 and 1 (their result.json) and trains only seed 2
    seed_mtime = (exp / "seed-0" / "result.json").stat().st_mtime_ns
    three = train.run(opts(out, data_dir, imdb_seeds=3), model="lstm-attention", progress=False)
    assert three["seeds"] == [0, 1, 2] and three["test_accuracy_values"][:2] == \
        m["test_accuracy_values"]
    assert (exp / "seed-0" / "result.json").stat().st_mtime_ns == seed_mtime


def test_interrupted_run_resumes_to_the_same_history(data_dir, tmp_path):
    full = train.run(opts(tmp_path / "a", data_dir), model="transformer", progress=False)
    # a deadline already past stops after the first batch with a checkpoint ...
    part = train.run(opts(tmp_path / "b", data_dir, deadline=time.time()), model="transformer",
                     progress=False)
    assert part["complete"] is False and part["epochs_completed"] == 0
    assert (tmp_path / "b" / "q1d-transformer" / "seed-0" / "checkpoint.pt").is_file()
    assert "test_accuracy" not in part
    # ... and the same call without it resumes mid-epoch and finishes identically
    rest = train.run(opts(tmp_path / "b", data_dir), model="transformer", progress=False)
    assert rest["complete"] is True
    assert _strip(rest["history"]) == _strip(full["history"])
    assert rest["test_accuracy"] == full["test_accuracy"]


def test_checkpoint_of_other_word2vec_settings_is_not_resumed(data_dir, tmp_path,
                                                              monkeypatch):
    # the model's embeddings come from the word vectors: a run interrupted under other
    # word2vec settings is another configuration, refused rather than resumed with them
    train.run(opts(tmp_path, data_dir, deadline=time.time()), model="lstm-avg", progress=False)
    other = replace(word2vec_params(quick=True), sample=1e-2)
    monkeypatch.setattr(train, "word2vec_params", lambda quick: other)
    with pytest.raises(MlsplabError, match="different configuration"):
        train.run(opts(tmp_path, data_dir), model="lstm-avg", progress=False)


def test_unknown_model(tmp_path, capsys):
    with pytest.raises(MlsplabError, match="not a sentiment model"):
        train.run(RunOptions(out=tmp_path), model="gru")
    assert cli.main(["sentiment", "--model", "gru", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "invalid choice: 'gru'" in err[0]


def test_wrong_embedding_dimension(data_dir, tmp_path, monkeypatch):
    def fake(train_texts, **kw):
        kv = KeyedVectors(50)
        kv.add_vectors(["good", "bad"], np.ones((2, 50)))
        return kv, {"cache_path": "/cache/word2vec-x.kv", "source": "test"}

    monkeypatch.setattr(q1data, "get_word_vectors", fake)
    with pytest.raises(MlsplabError, match="dimension 50, expected 100"):
        train.run(opts(tmp_path, data_dir), model="lstm-avg", progress=False)


def test_foreign_checkpoint_is_refused_and_results_kept(data_dir, tmp_path):
    seed_dir = tmp_path / "q1b-lstm-avg" / "seed-0"
    seed_dir.mkdir(parents=True)
    (seed_dir / "checkpoint.pt").write_bytes(b"not a checkpoint")
    (tmp_path / "q1b-lstm-avg" / "metrics.json").write_text('{"keep": true}')
    with pytest.raises(MlsplabError, match="checkpoint"):
        train.run(opts(tmp_path, data_dir, epochs=1), model="lstm-avg", progress=False)
    assert read_json(tmp_path / "q1b-lstm-avg" / "metrics.json") == {"keep": True}


def test_empty_split(tmp_path):
    write_imdb_zip(tmp_path / "IMDB_Dataset.csv.zip", n_reviews=4)
    with pytest.raises(MlsplabError, match="split"):
        train.run(opts(tmp_path / "out", tmp_path), model="transformer", progress=False)


def test_resumed_run_keeps_its_precision(data_dir, tmp_path, monkeypatch):
    train.run(opts(tmp_path, data_dir, epochs=1, deadline=time.time()), model="lstm-avg",
              progress=False)
    # the cached machine decision now says bf16: the interrupted fp32 run still ends in fp32
    monkeypatch.setattr(train_runtime, "resolve_precision",
                        lambda requested, device, **k: train.Precision("bf16", "test cache"))
    m = train.run(opts(tmp_path, data_dir, epochs=1, precision="auto"), model="lstm-avg",
                  progress=False)
    assert m["complete"] and m["per_seed"][0]["precision"] == "fp32"
    assert "kept" in read_json(tmp_path / "q1b-lstm-avg" / "seed-0" / "result.json")[
        "precision_reason"]
    # an explicit, different precision is refused rather than mixed into one history
    monkeypatch.setattr(train_runtime, "resolve_precision",
                        lambda requested, device, **k: train.Precision(requested, "test"))
    train.run(opts(tmp_path / "c", data_dir, epochs=1, deadline=time.time()), model="lstm-avg",
              progress=False)
    with pytest.raises(MlsplabError, match="different configuration"):
        train.run(opts(tmp_path / "c", data_dir, epochs=1, precision="bf16"), model="lstm-avg",
                  progress=False)


def test_lr_and_dropout_overrides_are_recorded_and_reach_the_model(data_dir, tmp_path):
    m = train.run(opts(tmp_path, data_dir, epochs=1, deadline=time.time()), model="transformer",
                  progress=False, lr=3e-4, dropout=0.25)
    assert m["config"]["lr"] == 3e-4 and m["config"]["model_config"]["dropout"] == 0.25
    ckpt = load_checkpoint(tmp_path / "q1d-transformer" / "seed-0" / "checkpoint.pt")
    assert ckpt["optimizer"]["param_groups"][0]["lr"] == 3e-4
    default = SentimentConfig.from_options(RunOptions(quick=True), model="transformer")
    assert default.lr == LEARNING_RATES["transformer"]
    cfg = SentimentConfig.from_options(RunOptions(), model="transformer", dropout=0.25)
    assert build_model("transformer", cfg.model_config, torch.zeros(5, 100)).drop.p == 0.25
    # a different lr is a different run: it does not resume the checkpoint above
    with pytest.raises(MlsplabError, match="different configuration"):
        train.run(opts(tmp_path, data_dir, epochs=1), model="transformer", progress=False,
                  lr=1e-3, dropout=0.25)


def test_every_option_reaches_the_recorded_config(tmp_path):
    o = RunOptions(out=tmp_path, seed=7, imdb_seeds=3, quick=False, epochs=4, max_tokens=99,
                   device="cpu", precision="fp32", pretrained=Path("/x/vec.txt"),
                   data_dir=Path("/d"))
    cfg = SentimentConfig.from_options(o, model="lstm-avg")
    assert cfg.seed_list == (7, 8, 9) and cfg.epochs == 4 and cfg.max_tokens == 99
    assert cfg.pretrained == "/x/vec.txt" and cfg.device == "cpu" and cfg.data_dir == "/d"
    ident = cfg.identity(8)
    assert ident["seed"] == 8 and ident["max_tokens"] == 99 and ident["pretrained"]
    assert "device" not in ident and "data_dir" not in ident
    assert ident["train_eval_reviews"] == 5000  # in the hash: curves measured one way only


@pytest.mark.parametrize("args, message", [
    (["--lr", "0"], "--lr"), (["--lr", "nan"], "--lr"), (["--dropout", "1"], "--dropout"),
    (["--time-budget", "0"], "--time-budget"), (["--imdb-seeds", "0"], "--imdb-seeds"),
    (["--epochs", "0"], "--epochs")])
def test_bad_overrides_are_one_line_errors(data_dir, tmp_path, capsys, args, message):
    code = cli.main(["sentiment", "--model", "lstm-avg", "--quick", "--out", str(tmp_path),
                     "--data-dir", str(data_dir), "--no-progress", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0]


def test_one_precision_decision_for_every_model(data_dir, tmp_path, monkeypatch):
    """With --precision auto the first model decides (one probe) and caches; the next models
    of the run read the cache, so all record the same precision."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    calls = []
    real = train_runtime._decide

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(train_runtime, "_decide", counting)
    got = [train.run(opts(tmp_path / "out", data_dir, epochs=1, precision="auto",
                          deadline=time.time()), model=m, progress=False)
           for m in ("lstm-avg", "transformer")]
    assert len(calls) == 1
    assert got[0]["config"]["precision"] == got[1]["config"]["precision"]
    assert (tmp_path / "home" / ".cache" / "mlsplab" / "precision.json").is_file()


class PicklingExecutor:
    """Ships every task through pickle, as Ray does, and records what it was given."""

    name = "pickling"

    def __init__(self):
        self.tasks = []

    def map(self, tasks):
        self.tasks += tasks
        return [pickle.loads(pickle.dumps(t.fn))(**pickle.loads(pickle.dumps(t.kwargs)))
                for t in tasks]


def test_seeds_are_picklable_tasks_with_serial_numbers(data_dir, tmp_path):
    ex = PicklingExecutor()
    shipped = train.run(opts(tmp_path / "a", data_dir, epochs=1, imdb_seeds=2, executor=ex),
                        model="lstm-avg", progress=False)
    serial = train.run(opts(tmp_path / "b", data_dir, epochs=1, imdb_seeds=2), model="lstm-avg",
                       progress=False)
    assert [t.name for t in ex.tasks] == ["q1b-lstm-avg seed 0", "q1b-lstm-avg seed 1"]
    assert all(t.cpus >= 1 and t.gpus == 0 for t in ex.tasks)
    assert shipped["test_accuracy_values"] == serial["test_accuracy_values"]
    assert _strip(shipped["histories"][1]) == _strip(serial["histories"][1])
    assert shipped["where"] and all(p["where"] for p in shipped["per_seed"])


def test_a_training_is_seeded_once(data_dir, tmp_path, monkeypatch):
    """One call of torch.manual_seed per training (run_job's set_seed): the data, the model
    and fit do not seed again."""
    calls: list[int] = []
    real = torch.manual_seed

    def counting(seed: int):
        calls.append(seed)
        return real(seed)

    monkeypatch.setattr(torch, "manual_seed", counting)
    train.run(opts(tmp_path, data_dir, epochs=1, seed=4), model="lstm-avg", progress=False)
    assert calls == [4]
