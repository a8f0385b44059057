"""The README's results table is generated from results/reference/ and must match it."""

from __future__ import annotations

import json
from pathlib import Path

from mlsplab.reference import BEGIN, END, REFERENCE, current_block, readme_block, update_readme


def test_readme_table_matches_the_reference_files() -> None:
    assert REFERENCE.is_dir(), "results/reference/ is missing"
    assert current_block() == readme_block(), (
        "README.md's results table differs from results/reference: run "
        "`python -m mlsplab.reference`")


def test_reference_holds_text_results_only() -> None:
    files = [p for p in REFERENCE.rglob("*") if p.is_file()]
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
    readme.write_text(f"# x\n\n{BEGIN}\nold\n{END}\n\nrest\n")
    assert update_readme(readme, ref) is True
    text = readme.read_text()
    assert "| q3a-sgd | 62.5 \u00b1 5.0 % | 3 seeds | 30 of 40 epochs |" in text
    assert "| q1b-lstm-avg | not in the reference run yet |" in text
    assert text.endswith("\n\nrest\n") and update_readme(readme, ref) is False
