"""Executors: serial and Ray give the same results in task order; a failed or lost Ray task is
one clear error line; a lost worker is retried and resumes; a missing Ray says how to install it.

The Ray tests share one local 2-CPU Ray (starting one costs seconds) and skip when the
``ray`` extra is not installed. Ray workers import this module to run its task functions, so
the fixture puts this folder on their PYTHONPATH.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlsplab.errors import MlsplabError
from mlsplab.executors import RESUME_HINT, SerialExecutor, Task, get_executor, where

TESTS_DIR = Path(__file__).resolve().parent


# ---- task functions (module level: Ray workers import them by name) ----
def slow_square(x: int, delay: float = 0.0) -> dict[str, object]:
    """x squared, after ``delay`` seconds (so tasks finish out of submission order)."""
    time.sleep(delay)
    return {"x": x, "square": x * x}


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def write_then_maybe_fail(path: str, fail: bool) -> str:
    """Writes its own result file (as a training writes its checkpoint), then fails if asked."""
    if fail:
        time.sleep(0.2)
        raise ValueError("bad batch\nsecond line of the message")
    Path(path).write_text("done")
    return path


def die_once(marker: str) -> str:
    """Kills its own worker on the first attempt; the retry finds the marker (its checkpoint)."""
    if not os.path.exists(marker):
        Path(marker).write_text("started")
        os._exit(1)
    return "resumed"


def die_always() -> None:
    os._exit(1)


def raise_user_error() -> None:
    raise MlsplabError("data file x.zip: corrupt; delete it and run again")


# ---- serial and argument checks (no Ray needed) ----
def test_serial_runs_in_order() -> None:
    tasks = [Task(f"t{i}", slow_square, {"x": i}) for i in range(4)]
    assert SerialExecutor().map(tasks) == [{"x": i, "square": i * i} for i in range(4)]
    assert get_executor("serial").name == "serial"
    assert where()


def test_bad_executor_arguments() -> None:
    with pytest.raises(MlsplabError, match="--executor spark: unknown"):
        get_executor("spark")
    with pytest.raises(MlsplabError, match="--address .* only used with --executor ray"):
        get_executor("serial", address="head:6379")


def test_missing_ray_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(MlsplabError) as info:
        get_executor("ray")
    message = str(info.value)
    assert "pip install 'mlsplab[ray]'" in message and "\n" not in message


def test_cli_does_not_import_ray() -> None:
    code = ("import sys, mlsplab.cli, mlsplab.executors; "
            "sys.exit(1 if 'ray' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# ---- Ray ----
@pytest.fixture(scope="module")
def ray_executor() -> Iterator[object]:
    pytest.importorskip("ray")
    from mlsplab.executors import RayExecutor

    with pytest.MonkeyPatch.context() as mp:
        # workers are started by the raylet, which inherits the environment of ray.init
        mp.setenv("PYTHONPATH", os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH",
                                                                                  "")]))
        with RayExecutor(num_cpus=2, progress=False) as executor:
            yield executor


def test_ray_equals_serial_in_task_order(ray_executor) -> None:
    # later tasks finish first: results must still come back in task order
    tasks = [Task(f"t{i}", slow_square, {"x": i, "delay": 0.3 * (3 - i)}) for i in range(4)]
    assert ray_executor.map(tasks) == SerialExecutor().map(
        [Task(t.name, t.fn, {**t.kwargs, "delay": 0.0}) for t in tasks])
    assert ray_executor.map([]) == []


def test_ray_task_gets_its_threads(ray_executor) -> None:
    tasks = [Task("one", torch_threads, cpus=1), Task("two", torch_threads, cpus=2)]
    assert ray_executor.map(tasks) == [1, 2]


def test_raising_task_is_one_line_and_others_finish(ray_executor, tmp_path: Path) -> None:
    tasks = [Task(f"q3 seed {i}", write_then_maybe_fail,
                  {"path": str(tmp_path / f"{i}.txt"), "fail": i == 0}) for i in range(3)]
    with pytest.raises(MlsplabError) as info:
        ray_executor.map(tasks)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("1 of 3 Ray task(s) failed: q3 seed 0 raised ValueError: bad batch")
    assert "second line" not in message and message.endswith(RESUME_HINT)
    # the tasks that did not fail kept their results
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["1.txt", "2.txt"]


def test_user_error_in_task_keeps_its_message(ray_executor) -> None:
    with pytest.raises(MlsplabError, match="user raised MlsplabError: data file x.zip: corrupt"):
        ray_executor.map([Task("user", raise_user_error)])


def test_lost_worker_is_retried_and_resumes(ray_executor, tmp_path: Path) -> None:
    marker = tmp_path / "checkpoint"
    assert ray_executor.map([Task("dies once", die_once, {"marker": str(marker)})]) == ["resumed"]


def test_lost_worker_is_one_line(tmp_path: Path, ray_executor) -> None:
    from mlsplab.executors import RayExecutor

    no_retry = RayExecutor(max_retries=0, progress=False)  # joins the fixture's running Ray
    with pytest.raises(MlsplabError) as info:
        no_retry.map([Task("q3 adam seed 1", die_always),
                      Task("fine", slow_square, {"x": 3})])
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("1 of 2 Ray task(s) failed: q3 adam seed 1 was lost "
                              "(WorkerCrashedError")
    assert "resumes from its checkpoint" in message


def test_executor_pickles_for_workers(ray_executor) -> None:
    copy = pickle.loads(pickle.dumps(ray_executor))
    assert copy.name == "ray" and copy._started is False
    assert copy.map([Task("t", slow_square, {"x": 2})]) == [{"x": 2, "square": 4}]


def test_unreachable_address_fails_fast() -> None:
    pytest.importorskip("ray")
    from mlsplab.executors import RayExecutor

    t0 = time.monotonic()
    with pytest.raises(MlsplabError, match=r"--address 127\.0\.0\.1:1: no Ray head answers"):
        RayExecutor(address="127.0.0.1:1")
    assert time.monotonic() - t0 < 15


def test_another_process_joins_with_address(ray_executor) -> None:
    import ray

    address = ray.get_runtime_context().gcs_address  # what `ray start --head` prints
    code = ("import sys; from mlsplab.executors import RayExecutor, Task, where; "
            "print(RayExecutor(address=sys.argv[1], progress=False).map([Task('w', where)])[0])")
    run = subprocess.run([sys.executable, "-c", code, address], capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == where()


def test_task_larger_than_any_machine_is_refused(ray_executor) -> None:
    with pytest.raises(MlsplabError, match="task big needs 3 CPU.* has 2 and 0"):
        ray_executor.map([Task("small", slow_square, {"x": 1}), Task("big", slow_square,
                                                                      {"x": 2}, cpus=3)])
    with pytest.raises(MlsplabError, match="task gpu needs .*--device cpu"):
        ray_executor.map([Task("gpu", slow_square, {"x": 1}, gpus=1.0)])
