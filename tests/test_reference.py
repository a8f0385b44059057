"""The README's results and wall-time tables are generated from results/reference/ and must
match it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlsplab.errors import MlsplabError
from mlsplab.reference import (
    BEGIN,
    END,
    REFERENCE,
    WALL_BEGIN,
    WALL_END,
    copy_run,
    readme_differs,
    update_readme,
)


def test_readme_tables_match_the_reference_files() -> None:
    assert REFERENCE.is_dir(), "results/reference/ is missing"
    assert readme_differs() == [], (
        "README.md's generated blocks differ from results/reference: run "
        "`python -m mlsplab.reference`")


def test_reference_holds_text_results_only() -> None:
    # report/ (rebuilt by `mlsplab report --out results/reference`) and cache/ are git-ignored
    files = [p for p in REFERENCE.rglob("*") if p.is_file()
             and p.relative_to(REFERENCE).parts[0] not in ("report", "cache")]
    assert files and all(p.name in ("metrics.json", "timings.json") for p in files), [
        p for p in files if p.name not in ("metrics.json", "timings.json")]


def test_table_follows_the_files(tmp_path: Path) -> None:
    ref = tmp_path / "ref"
    (ref / "q3a-sgd").mkdir(parents=True)
    (ref / "q3a-sgd" / "metrics.json").write_text(json.dumps(
        {"test_accuracy": 0.625, "test_accuracy_std": 0.05,
         "test_accuracy_per_seed": [0.6, 0.65, 0.625], "config": {"epochs": 40},
         "epochs_completed": [40, 40, 30]}))
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{BEGIN}\nold\n{END}\n\n{WALL_BEGIN}\n{WALL_END}\n\nrest\n")
    assert update_readme(readme, ref) is True
    text = readme.read_text()
    assert "| q3a-sgd | 62.5 \u00b1 5.0 % | 3 seeds | 30 of 40 epochs |" in text
    assert "| q1b-lstm-avg | not in the reference run yet |" in text
    assert text.endswith("\n\nrest\n") and update_readme(readme, ref) is False
    assert "No wall times yet" in text


def test_wall_times_follow_the_timings_and_the_imdb_metrics(tmp_path: Path, capsys) -> None:
    ref = tmp_path / "ref"
    (ref / "reproduce").mkdir(parents=True)
    (ref / "q1b-lstm-avg").mkdir()
    (ref / "q1b-lstm-avg" / "metrics.json").write_text(json.dumps(
        {"test_accuracy": 0.875, "seconds_per_epoch": 250.0, "tokens_per_second": 36000.0,
         "threads": 1, "precision": "bf16", "epochs_completed": 25, "epochs_planned": 25}))
    (ref / "reproduce" / "timings.json").write_text(json.dumps(
        {"cpu": "AMD EPYC (avx2, 2 threads)", "experiments": {
            "q1b": {"status": "done", "seconds": 600.0, "seconds_all_calls": 7000.0,
                    "threads": 1, "load_average": [1.04, 2.01]},
            "q2": {"status": "done", "seconds": 1.2},
            "q4": {"status": "failed: training stopped by signal; progress saved in x",
                   "seconds": 3.0}}}))
    readme = tmp_path / "README.md"
    readme.write_text(f"{BEGIN}\n{END}\n{WALL_BEGIN}\nold\n{WALL_END}\n")
    assert readme_differs(readme, ref) == [BEGIN, WALL_BEGIN]
    assert update_readme(readme, ref) is True and readme_differs(readme, ref) == []
    text = readme.read_text()
    assert "On AMD EPYC (avx2, 2 threads);" in text and "In all 1h56m." in text
    assert ("| 1h56m | 1 | 1.0, 2.0 | 4m10s of training steps per epoch, 36,000 tokens/s, "
            "1 thread, bf16, 25 of 25 epochs |") in text
    assert "| q2 | " in text and "| 1.2s | ? | not recorded |  |" in text
    assert "| 3.0s | ? | not recorded | last call failed: training stopped by signal |" in text
    # a hand edit of a generated number is caught
    readme.write_text(text.replace("1h56m", "2h00m"))
    assert readme_differs(readme, ref) == [WALL_BEGIN]


def test_copy_from_a_run_takes_text_results_only(tmp_path: Path) -> None:
    run, ref = tmp_path / "run", tmp_path / "ref"
    for exp_id in ("q2-tdnn", "q3a-sgd"):
        (run / exp_id).mkdir(parents=True)
        (run / exp_id / "metrics.json").write_text(json.dumps({"test_accuracy": 0.5}))
    (run / "q3a-sgd" / "ckpt.pt").write_bytes(b"weights")
    (run / "report").mkdir()
    (run / "report" / "report.pdf").write_bytes(b"%PDF")
    (run / "reproduce").mkdir()
    (run / "reproduce" / "timings.json").write_text("{}")
    (run / "bench-sentiment").mkdir()  # read by q1-comparison: copied too
    (run / "bench-sentiment" / "metrics.json").write_text("{}")
    (run / "zz-other").mkdir()  # no command of mlsplab writes it: left
    (run / "zz-other" / "metrics.json").write_text("{}")
    (ref / "q3-pilot").mkdir(parents=True)
    (ref / "q3-pilot" / "metrics.json").write_text("{}")  # not in the run: kept
    assert sorted(copy_run(run, ref)) == ["bench-sentiment/metrics.json", "q2-tdnn/metrics.json",
                                          "q3a-sgd/metrics.json", "reproduce/timings.json"]
    assert sorted(str(p.relative_to(ref)) for p in ref.rglob("*") if p.is_file()) == [
        "bench-sentiment/metrics.json", "q2-tdnn/metrics.json", "q3-pilot/metrics.json",
        "q3a-sgd/metrics.json", "reproduce/timings.json"]


def test_copy_from_refuses_quick_runs_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(MlsplabError, match="no <id>/metrics.json"):
        copy_run(tmp_path, tmp_path / "ref")
    (tmp_path / "q2-tdnn").mkdir()
    (tmp_path / "q2-tdnn" / "metrics.json").write_text(json.dumps({"quick": True}))
    with pytest.raises(MlsplabError, match="q2-tdnn come from a --quick run"):
        copy_run(tmp_path, tmp_path / "ref")
    (tmp_path / "q2-tdnn" / "metrics.json").write_text(json.dumps({"quick": False}))
    (tmp_path / "q3-pilot").mkdir()
    (tmp_path / "q3-pilot" / "metrics.json").write_text(json.dumps({"config": {"quick": True}}))
    with pytest.raises(MlsplabError, match="q3-pilot come from a --quick run"):
        copy_run(tmp_path, tmp_path / "ref")
    assert not (tmp_path / "ref").exists()


def test_copy_only_some_results_keeps_the_other_wall_times(tmp_path: Path) -> None:
    run, ref = tmp_path / "run", tmp_path / "ref"
    for folder, exp_id in ((run, "q1-tfidf-baseline"), (run, "q2-tdnn"), (ref, "q3a-sgd")):
        (folder / exp_id).mkdir(parents=True)
        (folder / exp_id / "metrics.json").write_text(json.dumps({"test_accuracy": 0.5}))
    (run / "reproduce").mkdir()
    (run / "reproduce" / "timings.json").write_text(json.dumps({"cpu": "new", "experiments": {
        "q1-baseline": {"seconds": 90.0, "seconds_all_calls": 90.0},
        "q2": {"seconds": 1.0, "seconds_all_calls": 1.0}}}))
    (ref / "reproduce").mkdir()
    (ref / "reproduce" / "timings.json").write_text(json.dumps({"cpu": "old", "experiments": {
        "q3": {"seconds": 3000.0, "seconds_all_calls": 3000.0},
        "q1-baseline": {"seconds": 100.0, "seconds_all_calls": 100.0}}}))
    assert copy_run(run, ref, ["q1-tfidf-baseline"]) == ["q1-tfidf-baseline/metrics.json",
                                                         "reproduce/timings.json"]
    timings = json.loads((ref / "reproduce" / "timings.json").read_text())
    assert timings["cpu"] == "old" and timings["total_seconds_all_calls"] == 3090.0
    assert timings["experiments"] == {"q3": {"seconds": 3000.0, "seconds_all_calls": 3000.0},
                                      "q1-baseline": {"seconds": 90.0,
                                                      "seconds_all_calls": 90.0}}
    assert not (ref / "q2-tdnn").exists()
    with pytest.raises(MlsplabError, match="no <id>/metrics.json for q1x-nbsvm"):
        copy_run(run, ref, ["q1x-nbsvm"])
