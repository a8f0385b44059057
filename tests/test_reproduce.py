"""reproduce: step selection, bad flags, unwritable output."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlsplab.cli import main
from mlsplab.durations import format_duration
from mlsplab.errors import MlsplabError
from mlsplab.experiments import registry
from mlsplab.experiments.registry import PARTS, STEPS, all_ids, select_steps
from mlsplab.experiments.reproduce import _deadline, _groups, merge_timings
from mlsplab.io import atomic_write_json


def test_select_all_by_default() -> None:
    assert [s.key for s in select_steps(None)] == [s.key for s in STEPS]


def test_select_by_short_name_alias_and_full_id_in_assignment_order() -> None:
    keys = [s.key for s in select_steps("q4,q3b,q1c-lstm-attention,q1a")]
    assert keys == ["q1a", "q1c", "q3", "q4"]


def test_part_keys_select_their_steps_and_aliases_expand() -> None:
    assert [s.key for s in select_steps("q1b")] == ["q1b"]  # the step, not every q1b reader
    assert [s.key for s in select_steps("q4ii")] == ["q4"]
    assert [s.key for s in select_steps("q3x")] == ["q3", "q3x-cv"]


def test_registry_is_consistent() -> None:
    written = {i for s in STEPS for i in s.ids}
    read = {i for p in PARTS for i in p.experiment_ids}
    assert read <= written, "a part reads an id no step writes"
    assert len(set(all_ids())) == len(all_ids())
    assert {s.part for s in STEPS} <= {p.key for p in PARTS}
    assert [p.key for p in PARTS if not p.beyond] == [
        "q1a", "q1b", "q1c", "q1d", "q2", "q3a", "q3b", "q3c", "q4i", "q4ii"]


def test_registry_holds_functions_and_classes_not_strings() -> None:
    """Runners, estimates, configs and report builders are the objects themselves."""
    from mlsplab.experiments import entrypoints

    for s in STEPS:
        assert callable(s.runner) and not isinstance(s.runner, str), s.key
        assert isinstance(s.config, type) and hasattr(s.config, "from_options"), s.key
        assert s.estimate is None or callable(s.estimate), s.key
        assert s.runner.__module__ == entrypoints.__name__, s.key
    for p in PARTS:
        assert callable(p.report) and p.report.__module__ == entrypoints.__name__, p.key
    registry_source = Path(registry.__file__).read_text(encoding="utf-8")
    assert "importlib" not in registry_source and ":run\"" not in registry_source


def test_each_experiment_id_is_written_once_in_the_source() -> None:
    """An id is a constant of experiments/ids.py; code imports it (docstrings may name it)."""
    import ast

    from mlsplab.experiments import ids

    values = {v for k, v in vars(ids).items() if k.isupper() and isinstance(v, str)}
    src = Path(registry.__file__).parents[1]
    found = []
    for path in src.rglob("*.py"):
        if path.name == "ids.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in values:
                found.append(f"{path.relative_to(src)}:{node.lineno}: {node.value}")
    assert not found, found


def test_parallel_groups_join_consecutive_steps_of_one_runner() -> None:
    steps = select_steps(None)
    assert [[s.key for s in g] for g in _groups(steps, parallel=False)] == [
        [s.key] for s in steps]
    groups = [[s.key for s in g] for g in _groups(steps, parallel=True)]
    assert ["q1b", "q1c", "q1d"] in groups and sum(map(len, groups)) == len(steps)
    # with estimates, the longest training of a group starts first; serial order is untouched
    estimates = {"q1b": 8000.0, "q1c": 7800.0, "q1d": 12000.0}
    groups = [[s.key for s in g] for g in _groups(steps, parallel=True, estimates=estimates)]
    assert ["q1d", "q1b", "q1c"] in groups
    assert [[s.key] for s in steps] == [
        [s.key for s in g] for g in _groups(steps, parallel=False, estimates=estimates)]
    partial = {"q1b": 8000.0, "q1d": 12000.0}  # one unknown: registry order
    assert ["q1b", "q1c", "q1d"] in [[s.key for s in g] for g in _groups(
        steps, parallel=True, estimates=partial)]


def test_time_budget_is_shared_by_serial_trainings_and_whole_side_by_side() -> None:
    import time

    end = time.time() + 3000.0
    timed = ["q1b", "q1c", "q1d"]
    first = _deadline(end, timed, "q1b", side_by_side=False) - time.time()
    assert 990 < first < 1001
    assert _deadline(end, timed, "q1d", side_by_side=False) > end - 2
    assert _deadline(end, timed, "q1b", side_by_side=True) > end - 2
    assert _deadline(end, timed, "q2", side_by_side=False) is None
    assert _deadline(None, timed, "q1b", side_by_side=False) is None


def test_cli_bad_seed_counts_and_address_without_ray(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--imdb-seeds", "0"]) == 2
    assert "argument --imdb-seeds: 0 must be >= 1" in capsys.readouterr().err
    assert main(["reproduce", "--address", "h:6379"]) == 2
    assert "--executor ray" in capsys.readouterr().err


def test_unknown_experiment_is_a_clear_error() -> None:
    with pytest.raises(MlsplabError, match=r"unknown experiment\(s\) \['q9'\]"):
        select_steps("q1a,q9")


def test_cli_unknown_only_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--only", "bogus"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bogus" in err[0]


def test_cli_unwritable_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["reproduce", "--out", str(blocker / "sub"), "--only", "q2"]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_cli_rejects_bad_epochs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--epochs", "0"]) == 2
    assert "argument --epochs: 0 must be >= 1" in capsys.readouterr().err


def test_timings_of_separate_calls_merge_and_add_up(tmp_path: Path) -> None:
    path = tmp_path / "timings.json"
    first = {"cpu": "x", "experiments": {"q1b": {"status": "failed: stopped", "seconds": 100.0},
                                         "q2": {"status": "done", "seconds": 5.0}},
             "total_seconds": 105.0}
    atomic_write_json(path, merge_timings(path, first))
    second = {"cpu": "x", "experiments": {"q1b": {"status": "done", "seconds": 50.0},
                                          "q2": {"status": "reused", "seconds": 0.1}},
              "total_seconds": 50.1}
    merged = merge_timings(path, second)
    assert merged["experiments"]["q1b"]["seconds_all_calls"] == 150.0
    assert merged["experiments"]["q1b"]["status"] == "done"
    assert merged["experiments"]["q2"]["seconds_all_calls"] == 5.0  # reuse costs nothing
    assert merged["total_seconds_all_calls"] == 155.0
    third = {"cpu": "x", "experiments": {"q4": {"status": "done", "seconds": 1.0}},
             "total_seconds": 1.0}
    assert set(merge_timings(path, third)["experiments"]) == {"q1b", "q2", "q4"}


def test_timings_from_before_seconds_all_calls_still_merge(tmp_path: Path) -> None:
    path = tmp_path / "timings.json"
    atomic_write_json(path, {"experiments": {"q1d": {"status": "failed", "seconds": 9.0}}})
    call = {"experiments": {"q2": {"status": "done", "seconds": 2.0}}, "total_seconds": 2.0}
    assert merge_timings(path, call)["total_seconds_all_calls"] == 11.0


def test_corrupt_timings_file_is_replaced_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "timings.json"
    path.write_text("{not json")
    call = {"experiments": {"q2": {"status": "done", "seconds": 2.0}}, "total_seconds": 2.0}
    assert merge_timings(path, call)["total_seconds_all_calls"] == 2.0


@pytest.mark.parametrize("seconds,text", [(None, "?"), (2.34, "2.3s"), (65.2, "1m05s"),
                                          (3725.0, "1h02m")])
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_side_by_side_tasks_reserve_a_gpu_only_for_cuda() -> None:
    from mlsplab.experiments.reproduce import _task_gpus

    assert _task_gpus("cuda") == 1.0 and _task_gpus("cuda:1") == 1.0
    assert _task_gpus("cpu") == 0.0
    assert _task_gpus("auto") in (0.0, 1.0)
