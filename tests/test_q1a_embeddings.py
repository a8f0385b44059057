"""Q1(a) end to end on tiny synthetic data, and the CLI's answer to bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors
from synth_data import write_imdb_zip, write_unsup_gz

from mlsplab import cli
from mlsplab.experiments import q1a_embeddings
from mlsplab.experiments.q1a_embeddings import EXPERIMENT_ID, PLOT_FILES, run


pytestmark = pytest.mark.usefixtures("isolated_data_dirs")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("data")
    write_imdb_zip(d / "IMDB_Dataset.csv.zip", n_reviews=300)
    write_unsup_gz(d / "aclImdb_unsup.txt.gz", n_reviews=300)
    return d


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, data_dir: Path):
    out = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLSPLAB_OFFLINE", "1")
        metrics = run(out, data_dir=data_dir, seed=0, quick=True)
    return out, metrics


def test_writes_metrics_split_and_both_plots(tiny_run) -> None:
    out, metrics = tiny_run
    exp = out / EXPERIMENT_ID
    doc = json.loads((exp / "metrics.json").read_text())
    for f in PLOT_FILES:
        assert (exp / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for key in ("experiment", "config", "config_hash", "run_info", "quick", "split_sizes",
                "duplicate_audit", "data_files", "word_vectors", "vocab_size", "corpus_reviews",
                "corpus_tokens", "pca", "validation_sentences", "clusters_sentence_words",
                "clusters_frequent_words", "nearest_neighbours", "sentiment_axis", "summary",
                "deviations"):
        assert key in doc, key
    assert doc["experiment"] == EXPERIMENT_ID and doc["quick"] is True
    assert doc["split_sizes"] == {"train": 240, "val": 30, "test": 30}
    split = np.load(exp / "split.npz")
    assert len(split["train"]) == 240 and int(split["seed"]) == 0
    assert doc["word_vectors"]["corpus_unsup_reviews"] == 300
    assert doc["word_vectors"]["corpus_train_reviews"] == 240  # train split only
    assert doc["data_files"]["imdb"]["sha256"] and doc["data_files"]["unsup"]["bytes"] > 0


def test_sentences_come_from_validation_rows(tiny_run) -> None:
    out, metrics = tiny_run
    val = set(np.load(out / EXPERIMENT_ID / "split.npz")["val"].tolist())
    sentences = metrics["validation_sentences"]
    assert len(sentences) == 10 and len({s["review_index"] for s in sentences}) == 10
    assert all(s["review_index"] in val and s["csv_row"] == s["review_index"] + 2
               for s in sentences)
    assert all(6 <= len(s["text"].split()) and s["words_plotted"] for s in sentences)


def test_pca_and_clusters_are_measured(tiny_run) -> None:
    _, m = tiny_run
    ev = m["pca"]["explained_variance_ratio"]
    assert len(ev) == 2 and ev[0] >= ev[1] > 0 and m["pca"]["frequency_weighted"] is False
    assert m["pca"]["explained_variance_2d"] == pytest.approx(sum(ev))
    for key in ("clusters_sentence_words", "clusters_frequent_words"):
        c = m[key]
        assert 2 <= c["k"] == len(c["clusters"]) and -1 <= c["silhouette"] <= 1
        assert sum(cl["size"] for cl in c["clusters"]) == sum(len(cl["words"])
                                                             for cl in c["clusters"])
    plotted = m["sentence_plot"]["points"]
    assert set(plotted) == {w for s in m["validation_sentences"] for w in s["words_plotted"]}
    assert 0 < m["sentence_plot"]["labelled"] <= len(plotted)
    nn = m["nearest_neighbours"]["great"]
    assert len(nn) == 5 and all(-1 <= s <= 1.0001 for _, s in nn)
    sa = m["sentiment_axis"]
    assert 0 <= sa["loo_nearest_centroid_accuracy_2d"] <= 1
    assert any("PC1 explains" in line for line in m["summary"])
    assert any("pre-trained word2vec" in d for d in m["deviations"])


def test_finished_run_is_skipped(tiny_run, data_dir: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    out, metrics = tiny_run

    def boom(*a, **k):
        raise AssertionError("recomputed a finished run")

    monkeypatch.setattr(q1a_embeddings, "get_word_vectors", boom)
    again = run(out, data_dir=data_dir, seed=0, quick=True)
    assert again["config_hash"] == json.loads(
        (out / EXPERIMENT_ID / "metrics.json").read_text())["config_hash"]
    assert again["summary"] == metrics["summary"]


def test_same_seed_same_numbers(tiny_run, data_dir: Path, tmp_path: Path) -> None:
    _, m1 = tiny_run
    m2 = run(tmp_path / "again", data_dir=data_dir, seed=0, quick=True)
    assert m2["validation_sentences"] == m1["validation_sentences"]
    assert m2["pca"] == m1["pca"] and m2["summary"] == m1["summary"]


def test_pretrained_file_is_used(data_dir: Path, tmp_path: Path) -> None:
    # 100-d random vectors for the synthetic vocabulary, as a GloVe text file (no header)
    from synth_data import NEGATIVE, NEUTRAL, POSITIVE

    words = sorted(set(POSITIVE + NEGATIVE + NEUTRAL))
    rng = np.random.default_rng(0)
    path = tmp_path / "glove.100d.txt"
    path.write_text("".join(w + " " + " ".join(f"{x:.5f}" for x in rng.normal(size=100)) + "\n"
                            for w in words))
    m = run(tmp_path / "out", data_dir=data_dir, seed=0, quick=True, pretrained=path)
    assert m["word_vectors"]["format"] == "glove-text" and m["vocab_size"] == len(words)
    assert not any("pre-trained word2vec" in d for d in m["deviations"])


# ---------------------------------------------------------------- CLI bad input


def _cli_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after any progress bars
    assert err.startswith("mlsplab embed: error: ") and "\n" not in err, err
    return err


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
