"""The ETA of `mlsplab reproduce` counts side-by-side trainings as overlapping: a group's
elapsed time is its makespan on the workers, not the sum of its steps."""

from __future__ import annotations

import pytest

from mlsplab.experiments.registry import step
from mlsplab.experiments.reproduce import _eta, makespan


@pytest.mark.parametrize(("seconds", "workers", "expected"), [
    ([100.0], 2, 100.0),
    ([300.0, 200.0, 100.0], 1, 600.0),
    ([300.0, 200.0, 100.0], 2, 300.0),  # the two shorter ones share a worker
    ([100.0, 360.0, 220.0], 2, 360.0),
    ([50.0, 50.0, 50.0, 50.0], 4, 50.0),
    ([], 2, 0.0),
])
def test_makespan(seconds: list[float], workers: int, expected: float) -> None:
    assert makespan(seconds, workers) == expected


def test_eta_overlaps_a_side_by_side_group_and_adds_the_rest() -> None:
    imdb = [step("q1b"), step("q1c"), step("q1d")]
    estimates = {"q1b": 5000.0, "q1c": 5200.0, "q1d": 8000.0, "q3": None}
    # two at a time: q1d on one worker, q1b then q1c on the other
    assert _eta([imdb, [step("q3")]], estimates, workers=2) == 10200.0
    assert _eta([[s] for s in imdb], estimates, workers=1) == 18200.0


def test_a_step_that_finished_beside_a_stopped_one_counts_as_written(tmp_path) -> None:
    from mlsplab.experiments.reproduce import _metrics_mtimes, wrote_results

    q1b = step("q1b")
    before = _metrics_mtimes(tmp_path, q1b)
    assert not wrote_results(tmp_path, q1b, before)  # nothing written yet
    (tmp_path / "q1b-lstm-avg").mkdir()
    (tmp_path / "q1b-lstm-avg" / "metrics.json").write_text("{}")
    assert wrote_results(tmp_path, q1b, before)
    assert not wrote_results(tmp_path, q1b, _metrics_mtimes(tmp_path, q1b))  # reused, not new
