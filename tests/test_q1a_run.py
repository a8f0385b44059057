"""Q1(a) end to end on tiny synthetic data, and ``mlsplab embed``'s answer to bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors
from synth_data import NEGATIVE, NEUTRAL, POSITIVE, write_imdb_zip, write_unsup_gz

from mlsplab import cli
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1a import run as q1a_run
from mlsplab.experiments.q1a.config import EXPERIMENT_ID, EmbeddingsConfig

pytestmark = pytest.mark.usefixtures("isolated_data_dirs")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("data")
    write_imdb_zip(d / "IMDB_Dataset.csv.zip", n_reviews=300)
    write_unsup_gz(d / "aclImdb_unsup.txt.gz", n_reviews=300)
    return d


def _run(out: Path, data_dir: Path, **kw) -> dict:
    q1a_run.run(RunOptions(out=out, data_dir=data_dir, quick=True, **kw))
    return json.loads((out / EXPERIMENT_ID / "metrics.json").read_text())


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, data_dir: Path):
    out = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLSPLAB_OFFLINE", "1")
        return out, _run(out, data_dir)


def test_writes_measurements_only(tiny_run, data_dir: Path) -> None:
    out, m = tiny_run
    for key in ("experiment", "config", "config_hash", "run_info", "host", "quick",
                "split_sizes", "duplicate_audit", "data_files", "word_vectors", "pca",
                "validation_sentences", "sentence_plot", "frequent_plot", "reference_plot",
                "word_properties", "clusters_sentence_words", "clusters_frequent_words",
                "reference_words", "sentiment_seeds", "sentiment_probe", "nearest_neighbours"):
        assert key in m, key
    assert "summary" not in m and "deviations" not in m  # prose is built at report time
    assert m["experiment"] == EXPERIMENT_ID and m["quick"] is True
    assert m["config"]["seed"] == 0 and m["config"]["quick"] is True
    assert m["config"]["data_dir"] == str(data_dir) and m["config"]["pretrained"] is None
    assert m["split_sizes"] == {"train": 240, "val": 30, "test": 30}
    split = np.load(out / EXPERIMENT_ID / "split.npz")
    assert len(split["train"]) == 240 and int(split["seed"]) == 0
    assert m["word_vectors"]["corpus_train_reviews"] == 240  # train split only
    assert not list((out / EXPERIMENT_ID).glob("*.png"))  # figures are drawn by the report


def test_sentences_come_from_validation_rows(tiny_run) -> None:
    out, m = tiny_run
    val = set(np.load(out / EXPERIMENT_ID / "split.npz")["val"].tolist())
    sentences = m["validation_sentences"]
    assert len(sentences) == 10 and len({s["review_index"] for s in sentences}) == 10
    assert all(s["review_index"] in val and s["csv_row"] == s["review_index"] + 2
               for s in sentences)
    plot = m["sentence_plot"]
    assert set(plot["words"]) == {w for s in sentences for w in s["words_plotted"]}
    assert len(plot["x"]) == len(plot["y"]) == len(plot["sentence"]) == len(plot["words"])


def test_clusters_and_properties_are_consistent(tiny_run) -> None:
    _, m = tiny_run
    ev = m["pca"]["explained_variance_ratio"]
    assert len(ev) == 2 and ev[0] >= ev[1] > 0 and m["pca"]["frequency_weighted"] is False
    for key, plot in (("clusters_sentence_words", "sentence_plot"),
                      ("clusters_frequent_words", "frequent_plot")):
        c, words = m[key], m[plot]["words"]
        assert len(c["labels"]) == len(words) and set(c["labels"]) == set(range(1, c["k"] + 1))
        assert sum(p["size"] for p in c["clusters"]) == len(words) == c["all_words"]["size"]
        for p in c["clusters"]:
            assert sum(p["kinds"].values()) == p["size"] == len(p["words"])
            assert 0 <= p["neighbour_agreement"] <= 1
        xs = [p["centre_pc"][0] for p in c["clusters"]]
        assert xs == sorted(xs)  # numbered left to right
    props = m["word_properties"]
    assert props["great"]["kind"] == "positive" and props["the"]["kind"] == "function"
    assert props["great"]["review_log_odds"] > 0 > props["awful"]["review_log_odds"]
    assert set(POSITIVE + NEGATIVE) & set(m["frequent_plot"]["words"])
    probe = m["sentiment_probe"]
    assert probe["positive"] >= 5 and probe["negative"] >= 5
    assert 0 <= probe["balanced_accuracy_2d"] <= 1 and 0 <= probe["balanced_accuracy_100d"] <= 1


def test_finished_run_is_skipped(tiny_run, data_dir: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    out, m = tiny_run

    def boom(*a, **k):
        raise AssertionError("recomputed a finished run")

    monkeypatch.setattr(q1a_run, "get_word_vectors", boom)
    again = q1a_run.compute(EmbeddingsConfig(quick=True, data_dir=data_dir), out)
    assert again["config_hash"] == m["config_hash"]


def test_same_seed_same_numbers_other_seed_other_sentences(tiny_run, data_dir: Path,
                                                           tmp_path: Path) -> None:
    _, m1 = tiny_run
    m2 = _run(tmp_path / "again", data_dir)
    for key in ("validation_sentences", "pca", "clusters_sentence_words", "sentiment_probe",
                "reference_words"):
        assert m2[key] == m1[key], key
    m3 = _run(tmp_path / "seed1", data_dir, seed=1)
    assert m3["config"]["seed"] == 1
    assert m3["validation_sentences"] != m1["validation_sentences"]


def test_pretrained_file_is_used(data_dir: Path, tmp_path: Path) -> None:
    # 100-d random vectors for the synthetic vocabulary, as a GloVe text file (no header)
    words = sorted(set(POSITIVE + NEGATIVE + NEUTRAL))
    rng = np.random.default_rng(0)
    path = tmp_path / "glove.100d.txt"
    path.write_text("".join(w + " " + " ".join(f"{x:.5f}" for x in rng.normal(size=100)) + "\n"
                            for w in words))
    m = _run(tmp_path / "out", data_dir, pretrained=path)
    assert m["word_vectors"]["format"] == "glove-text" and m["vocab_size"] == len(words)
    assert m["config"]["pretrained"] == str(path) and m["config"]["word2vec"] is None
    assert m["config"]["pretrained_file"]["sha256"]


# ---------------------------------------------------------------- CLI and bad input


def _cli_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after any progress bars
    assert err.startswith("mlsplab embed: error: ") and "\n" not in err, err
    return err


def test_cli_runs_and_prints_the_headline(tiny_run, data_dir: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = tiny_run
    assert cli.main(["embed", "--out", str(out), "--data-dir", str(data_dir), "--quick"]) == 0
    printed = capsys.readouterr().out
    assert f"{out / EXPERIMENT_ID}/metrics.json" in printed and "of the variance" in printed


def test_cli_corrupt_zip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "bad"
    d.mkdir()
    (d / "IMDB_Dataset.csv.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    err = _cli_error(["embed", "--out", str(tmp_path / "o"), "--data-dir", str(d), "--quick"],
                     capsys)
    assert "IMDB_Dataset.csv.zip: not a valid zip archive" in err
    assert not (tmp_path / "o" / EXPERIMENT_ID / "metrics.json").exists()


def test_cli_missing_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _cli_error(["embed", "--out", str(tmp_path / "o"), "--data-dir", str(tmp_path / "e"),
                      "--quick"], capsys)
    assert "IMDB_Dataset.csv.zip not found" in err and str(tmp_path / "e") in err


def test_cli_unknown_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "d"
    d.mkdir()
    write_imdb_zip(d / "IMDB_Dataset.csv.zip", csv_text="review,sentiment\ngood,positive\n"
                   "meh,so-so\n")
    err = _cli_error(["embed", "--out", str(tmp_path / "o"), "--data-dir", str(d)], capsys)
    assert "row 3 has unknown label 'so-so'" in err


def test_cli_pretrained_missing_and_wrong_dimension(data_dir: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    base = ["embed", "--out", str(tmp_path / "o"), "--data-dir", str(data_dir), "--quick"]
    err = _cli_error(base + ["--pretrained", str(tmp_path / "nope.bin")], capsys)
    assert "nope.bin: file not found" in err
    kv = KeyedVectors(vector_size=50)
    kv.add_vectors(["good", "bad"], np.ones((2, 50), dtype=np.float32))
    path = tmp_path / "w2v50.bin"
    kv.save_word2vec_format(str(path), binary=True)
    err = _cli_error(base + ["--pretrained", str(path)], capsys)
    assert "w2v50.bin: 50-d vectors, expected 100-d" in err
    assert not (tmp_path / "o" / EXPERIMENT_ID / "metrics.json").exists()


def test_cli_pretrained_vectors_of_another_language(data_dir: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "other.txt"  # right size, but none of the data's words
    path.write_text("".join(f"wort{i} " + " ".join(["0.1"] * 100) + "\n" for i in range(20)))
    err = _cli_error(["embed", "--out", str(tmp_path / "o"), "--data-dir", str(data_dir),
                      "--pretrained", str(path)], capsys)
    assert f"{path}: only 0 training words of IMDB_Dataset.csv.zip have vectors" in err
