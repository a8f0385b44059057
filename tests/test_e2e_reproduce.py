"""End to end: `mlsplab reproduce --quick` on tiny synthetic data writes a complete report.

The data directory holds only synthetic files written here, so nothing from ../shared/data
is read; downloads are forbidden.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from synth_data import write_imdb_zip, write_unsup_gz
from synth_esc import write_esc_zip

from mlsplab.cli import main
from mlsplab.experiments.registry import PARTS, STEPS


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("data")
    write_imdb_zip(d / "IMDB_Dataset.csv.zip", n_reviews=400)
    write_unsup_gz(d / "aclImdb_unsup.txt.gz", n_reviews=200)
    write_esc_zip(d / "ESC-50-master.zip")
    return d


@pytest.mark.slow
def test_quick_reproduce_end_to_end(tiny_data: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    from pypdf import PdfReader

    monkeypatch.setenv("MLSPLAB_OFFLINE", "1")
    out = tmp_path / "runs"
    args = ["reproduce", "--quick", "--out", str(out), "--data-dir", str(tiny_data),
            "--seeds", "1", "--no-estimate"]
    assert main(args) == 0, capsys.readouterr().err

    for step in STEPS:
        for exp_id in step.ids:
            doc = json.loads((out / exp_id / "metrics.json").read_text())
            assert doc["experiment"] == exp_id
    html = (out / "report" / "index.html").read_text()
    pages = [p.extract_text() for p in PdfReader(str(out / "report" / "report.pdf")).pages]
    text = "\n".join(pages)
    for part in PARTS:
        assert part.title in html and part.title.split(" ")[0] in text
    assert "Missing: no results" not in html and "could not be built" not in html
    assert all(exp_id in html for step in STEPS for exp_id in step.ids)
    assert all("QUICK MODE" in p for p in pages)
    timings = json.loads((out / "reproduce" / "timings.json").read_text())
    assert {s.key for s in STEPS} == set(timings["experiments"])
    assert all(t["status"] == "done" for t in timings["experiments"].values())

    # a second run finds every result finished with the same config and reuses it
    assert main(args) == 0
    again = json.loads((out / "reproduce" / "timings.json").read_text())
    assert all(t["status"] == "reused" for t in again["experiments"].values()), again
    assert again["total_seconds_all_calls"] == timings["total_seconds_all_calls"]
