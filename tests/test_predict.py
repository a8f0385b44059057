"""`mlsplab predict` on tiny models trained on synthetic data, including every bad input."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch
from synth_data import write_imdb_zip, write_unsup_gz

from mlsplab import cli
from mlsplab.errors import MlsplabError
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1 import train
from mlsplab.predict import find_predictors, predict_reviews, read_reviews, write_html

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("imdb")
    write_imdb_zip(d / "IMDB_Dataset.csv.zip", n_reviews=200)
    write_unsup_gz(d / "aclImdb_unsup.txt.gz", n_reviews=200)
    o = tmp_path_factory.mktemp("runs")
    for model in ("lstm-attention", "lstm-avg"):
        train.run(RunOptions(out=o, data_dir=d, quick=True, epochs=1, precision="fp32"),
                  model=model, progress=False)
    return o


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["predict", *args])
    got = capsys.readouterr()
    return code, got.out, got.err


def test_labels_probabilities_and_attention_words(out, capsys, tmp_path):
    html_path = tmp_path / "att.html"
    code, text, _ = run_cli(capsys, "--runs", str(out), "The movie was great, I loved it!",
                            "A <b>boring</b> & awful waste of a film.", "--html", str(html_path))
    assert code == 0
    lines = text.splitlines()
    assert lines[0].startswith("review 1: The movie was great")
    assert sum(" lstm-attention " in line for line in lines) == 2
    assert sum(" lstm-avg " in line for line in lines) == 2
    att = next(line for line in lines if "lstm-attention" in line)
    assert "probability" in att and "most weighted:" in att
    page = html_path.read_text()
    assert "&lt;b&gt;" not in page and "<b>boring</b>" not in page  # tokens, escaped
    assert "&amp;" not in page or "<span" in page
    assert page.count("<h2>Review") == 2 and "rgba(220,40,30," in page


def test_results_are_consistent(out):
    preds = find_predictors(out, None)
    assert [p.name for p in preds] == ["lstm-avg", "lstm-attention"]
    r = predict_reviews(preds, ["great wonderful excellent film"], top_words=3)[0]
    for m in r["models"]:
        assert 0.5 <= m["probability"] <= 1
        assert (m["label"] == "positive") == (m["p_positive"] > 0.5)
    att = r["models"][1]
    assert len(att["weights"]) == len(att["words"]) == 4
    assert sum(att["weights"]) == pytest.approx(1.0, abs=1e-5)
    assert [w for w, _ in att["top_words"]] == sorted(
        att["words"], key=lambda w: -att["weights"][att["words"].index(w)])[:3]
    # the same review alone or beside another gets the same probability
    twice = predict_reviews(preds, ["great wonderful excellent film", "dull"], top_words=3)
    assert twice[0]["models"][0]["p_positive"] == pytest.approx(r["models"][0]["p_positive"])


def test_file_stdin_and_one_model(out, tmp_path, capsys):
    f = tmp_path / "reviews.txt"
    f.write_text("great film\nawful film\n", encoding="utf-8")
    assert read_reviews(["-"], f, stdin=io.StringIO("dull plot\n")) == [
        "dull plot", "great film", "awful film"]
    code, text, _ = run_cli(capsys, "--runs", str(out), "--file", str(f), "--model", "lstm-avg")
    assert code == 0 and text.count("lstm-avg") == 2 and "lstm-attention" not in text


def test_model_file_loads_with_weights_only(out):
    doc = torch.load(out / "q1c-lstm-attention" / "model.pt", weights_only=True)
    assert doc["model"] == "lstm-attention" and len(doc["words"]) == doc["vectors"].shape[0] - 2


@pytest.mark.parametrize("args, fragment", [
    ([], "no review given"),
    (["   "], "argument 1: empty review"),
    (["great film", ""], "argument 2: empty review"),
    (["!!! ???"], "has no word"),
    (["zzzqx blorptastic"], "has no word"),
    (["--model", "gru", "fine"], "argument --model: invalid choice: 'gru'"),
])
def test_bad_input_is_one_line(out, capsys, args, fragment):
    code, _, err = run_cli(capsys, "--runs", str(out), *args)
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1


def test_no_trained_model_gives_the_command(tmp_path, capsys):
    code, _, err = run_cli(capsys, "--runs", str(tmp_path), "a fine film")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "no trained sentiment model" in err
    assert f"mlsplab sentiment --model lstm-attention --out {tmp_path}" in err
    with pytest.raises(MlsplabError, match="mlsplab sentiment --model transformer"):
        find_predictors(tmp_path, "transformer")


def test_corrupt_model_file_and_unreadable_input_file(tmp_path, capsys):
    bad = tmp_path / "q1b-lstm-avg"
    bad.mkdir()
    (bad / "model.pt").write_bytes(b"not torch")
    code, _, err = run_cli(capsys, "--runs", str(tmp_path), "a fine film")
    assert code == 2 and "not a readable model file" in err
    code, _, err = run_cli(capsys, "--runs", str(tmp_path), "--file", str(tmp_path / "none.txt"))
    assert code == 2 and "--file" in err and "cannot read" in err
    blank = tmp_path / "blank.txt"
    blank.write_text("good\n\nbad\n")
    with pytest.raises(MlsplabError, match="blank.txt line 2: empty review"):
        read_reviews([], blank)


def test_html_escapes_words(tmp_path):
    results = [{"review": "x", "models": [{"model": "lstm-attention", "label": "positive",
                                           "probability": 0.9, "words": ["<script>", "a&b"],
                                           "weights": [0.7, 0.3]}]}]
    page = write_html(tmp_path / "p.html", results).read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page and "a&amp;b" in page
