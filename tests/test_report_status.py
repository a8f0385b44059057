"""The report's status line counts the parts its overview table shows as missing: a part whose
own result is absent is missing even when a result it compares with (the baseline) is there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlsplab.experiments import registry
from mlsplab.report.document import Bullets, Paragraph
from mlsplab.report.overview import status_blocks
from mlsplab.report.parts import build_part
from mlsplab.report.results import load_results

REFERENCE = Path(__file__).resolve().parents[1] / "results" / "reference"


@pytest.mark.slow
def test_status_counts_every_part_the_overview_shows_missing(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    shutil.copytree(REFERENCE, out, ignore=shutil.ignore_patterns("report", "cache"))
    for exp_id in ("q1b-lstm-avg", "q1c-lstm-attention", "q1d-transformer", "q1-comparison"):
        shutil.rmtree(out / exp_id)
    results = load_results(out)
    outcomes = [build_part(p, results, tmp_path / "fig") for p in registry.PARTS]
    missing_in_overview = {o.part.key for o in outcomes if o.status.startswith("missing")}
    assert {"q1b", "q1c", "q1d"} <= missing_in_overview

    blocks = status_blocks(outcomes, results)
    summary = next(b.text for b in blocks if isinstance(b, Paragraph))
    n = len(registry.PARTS)
    m = len(missing_in_overview)
    assert f"{n - m} parts of {n} answered, {m} parts missing" in summary
    items = next(b.items for b in blocks if isinstance(b, Bullets))
    for label in ("Q1(b)", "Q1(c)", "Q1(d)"):
        assert any(item.startswith(f"{label} missing: run `") for item in items), items
