"""End to end: `mlsplab reproduce --quick` on tiny synthetic data writes a complete report, and
every flag of reproduce reaches the recorded config of each experiment it applies to.

The data directory holds only synthetic files written here, so nothing from ../shared/data
is read; downloads are forbidden. One reproduce call (module-scoped) with non-default flags
serves every test here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from synth_data import write_imdb_zip, write_unsup_gz
from synth_esc import write_esc_zip

from mlsplab.cli import main
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.registry import PARTS, STEPS

# every flag of reproduce away from its default (--pretrained, --time-budget, --executor and
# --address are checked below without a full run)
FLAGS = ["--quick", "--seed", "3", "--esc10-seeds", "2", "--imdb-seeds", "2", "--epochs", "1",
         "--max-tokens", "48", "--device", "cpu", "--precision", "fp32", "--no-estimate"]
IMDB_IDS = ("q1b-lstm-avg", "q1c-lstm-attention", "q1d-transformer")
Q3_IDS = next(s.ids for s in STEPS if s.key == "q3")


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("data")
    write_imdb_zip(d / "IMDB_Dataset.csv.zip", n_reviews=400)
    write_unsup_gz(d / "aclImdb_unsup.txt.gz", n_reviews=200)
    write_esc_zip(d / "ESC-50-master.zip")
    return d


@pytest.fixture(scope="module")
def quick_run(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    mp = pytest.MonkeyPatch()
    mp.setenv("MLSPLAB_OFFLINE", "1")
    out = tmp_path_factory.mktemp("e2e") / "runs"
    try:
        assert main(["reproduce", "--out", str(out), "--data-dir", str(tiny_data), *FLAGS]) == 0
    finally:
        mp.undo()
    return out


def _config(out: Path, exp_id: str) -> dict[str, Any]:
    return json.loads((out / exp_id / "metrics.json").read_text())["config"]


@pytest.mark.slow
def test_quick_reproduce_end_to_end(quick_run: Path, tiny_data: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from pypdf import PdfReader

    out = quick_run
    for step in STEPS:
        for exp_id in step.ids:
            doc = json.loads((out / exp_id / "metrics.json").read_text())
            assert doc["experiment"] == exp_id
            assert "summary" not in doc, f"{exp_id}: prose belongs to the report, not metrics"
    html = (out / "report" / "index.html").read_text()
    pages = [p.extract_text() for p in PdfReader(str(out / "report" / "report.pdf")).pages]
    text = "\n".join(pages)
    for part in PARTS:
        assert part.title in html and part.title.split(" ")[0] in text
    assert "Missing: no results" not in html and "could not be built" not in html
    assert all("QUICK MODE" in p for p in pages)
    timings = json.loads((out / "reproduce" / "timings.json").read_text())
    assert {s.key for s in STEPS} == set(timings["experiments"])
    assert all(t["status"] == "done" for t in timings["experiments"].values())
    # each step says how many threads it had and how loaded the machine was
    assert all(t["threads"] >= 1 and len(t["load_average"]) == 2
               for t in timings["experiments"].values())

    # a second run finds every result finished with the same config and reuses it
    monkeypatch.setenv("MLSPLAB_OFFLINE", "1")
    assert main(["reproduce", "--out", str(out), "--data-dir", str(tiny_data), *FLAGS]) == 0
    again = json.loads((out / "reproduce" / "timings.json").read_text())
    assert all(t["status"] == "reused" for t in again["experiments"].values()), again
    assert again["total_seconds_all_calls"] == timings["total_seconds_all_calls"]


@pytest.mark.slow
def test_every_flag_reaches_the_recorded_config(quick_run: Path, tiny_data: Path) -> None:
    out = quick_run
    for exp_id in ("q1a-embeddings", *IMDB_IDS, "q1-tfidf-baseline", "q1x-nbsvm",
                   "q1x-ensemble", "q2-tdnn", "q3x-cv", "q4-conv-dense"):
        config = _config(out, exp_id)
        assert config["seed"] == 3, exp_id  # --seed
        assert config["quick"] is True, exp_id  # --quick
    # the ensemble reads every Q1 model's posteriors of the first seed
    ensemble = json.loads((out / "q1x-ensemble" / "metrics.json").read_text())
    assert ensemble["candidates"] == [*IMDB_IDS, "q1-tfidf-baseline", "q1x-nbsvm"]
    assert ensemble["missing"] == [] and "without q1x-nbsvm" in ensemble["ensembles"]
    for exp_id in ("q1a-embeddings", *IMDB_IDS, "q1-tfidf-baseline", "q1x-nbsvm", *Q3_IDS,
                   "q3x-cv"):
        # --data-dir: the data files each experiment recorded (path and sha256) are the ones there
        text = (out / exp_id / "metrics.json").read_text()
        assert json.dumps(str(tiny_data))[1:-1] in text, exp_id
    for exp_id in IMDB_IDS:
        config = _config(out, exp_id)
        assert config["seeds"] == [3, 4]  # --seed and --imdb-seeds
        assert config["epochs"] == 1  # --epochs
        assert config["max_tokens"] == 48  # --max-tokens
        assert config["device"] == "cpu"  # --device
        assert config["precision"] == "fp32"  # --precision
        doc = json.loads((out / exp_id / "metrics.json").read_text())
        assert len(doc["histories"]) == 2 and all(len(h) == 1 for h in doc["histories"])
    for exp_id in Q3_IDS:
        config = _config(out, exp_id)
        assert config["seeds"] == [3, 4], exp_id  # --seed and --seeds
        assert config["device"] == "cpu", exp_id  # --device
        doc = json.loads((out / exp_id / "metrics.json").read_text())
        if "histories" in doc:
            assert len(doc["histories"]) == 2, exp_id
    assert _config(out, "q3x-cv")["device"] == "cpu"


def test_flags_without_a_run_reach_the_configs(tmp_path: Path) -> None:
    """--pretrained reaches Q1(a) and Q1(b-d); --executor and --address build the executor."""
    vectors = tmp_path / "vectors.txt"
    options = RunOptions(pretrained=vectors, seed=7)
    for step in STEPS:
        if step.key in ("q1a", "q1b"):
            config = step.config.from_options(options, **step.params)
            assert str(config.pretrained) == str(vectors), step.key
            assert config.seed == 7
