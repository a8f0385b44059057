"""One Ctrl-C (SIGINT) or `kill` (SIGTERM) stops `mlsplab reproduce` as a whole: the running
training checkpoints, the next step never starts, the command prints one line and exits with
128 + the signal's number, `timings.json` says "stopped", and running the same command again
resumes and ends with the numbers of an uninterrupted run. With every executor.

The command runs in a subprocess (``tests/stop_steps.py``: reproduce over two tiny real training
steps), so the signal is a real one sent by ``os.kill``, as a terminal or ``kill`` sends it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mlsplab.errors import MlsplabError
from mlsplab.executors import SerialExecutor, Task
from mlsplab.process_executor import ProcessExecutor
from mlsplab.stopping import StopRequested, first_stop

TESTS = Path(__file__).resolve().parent


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(TESTS), str(TESTS.parent / "src"), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1", "MLSPLAB_OFFLINE": "1", **extra}
    return env


def _reproduce(out: Path, executor: str, **env: str) -> subprocess.Popen[str]:
    # a new session: a Ctrl-C at the terminal that runs the suite must not reach it
    return subprocess.Popen(
        [sys.executable, str(TESTS / "stop_steps.py"), "reproduce", "--out", str(out), "--only",
         "first,second", "--executor", executor, "--no-estimate"],
        env=_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)


def _wait_for_checkpoints(process: subprocess.Popen[str], out: Path, timeout: float,
                          n: int) -> None:
    """Until ``n`` trainings of the first step have written a checkpoint mid-way."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the run ended before it was stopped: {process.communicate()}")
        if len(list((out / "first").glob("seed-*/checkpoint.pt"))) >= n:
            return
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"no checkpoint within {timeout} s: {process.communicate()}")


def _runs(out: Path) -> list[dict[str, Any]]:
    return json.loads((out / "first" / "metrics.json").read_text())["runs"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    out = tmp_path_factory.mktemp("whole") / "runs"
    run = _reproduce(out, "serial")
    stdout, stderr = run.communicate(timeout=300)
    assert run.returncode == 0, stdout + stderr
    return _runs(out)


def _stop_then_resume(tmp_path: Path, executor: str, signum: int,
                      uninterrupted: list[dict[str, Any]], *, timeout: float = 120) -> str:
    out = tmp_path / "runs"
    run = _reproduce(out, executor, STOP_TEST_STEP_SLEEP="0.1")
    # side by side, both trainings are under way when the signal comes
    _wait_for_checkpoints(run, out, timeout, n=1 if executor == "serial" else 2)
    os.kill(run.pid, signum)
    stdout, stderr = run.communicate(timeout=timeout)

    assert run.returncode == 128 + signum, stdout + stderr
    assert not (out / "second-started").exists()  # no further step started
    assert not (out / "first" / "metrics.json").exists()
    assert list((out / "first").glob("seed-*/checkpoint.pt"))  # progress was saved
    name = signal.Signals(signum).name
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"mlsplab reproduce: stopped by {name}; ")
    assert f"run the same command again: mlsplab reproduce --out {out}" in last
    assert "Traceback" not in stderr
    timings = json.loads((out / "reproduce" / "timings.json").read_text())
    assert timings["experiments"]["first"]["status"] == f"stopped by {name}"
    assert "second" not in timings["experiments"]

    again = _reproduce(out, executor)  # the same command, without the slow steps
    stdout, stderr = again.communicate(timeout=timeout)
    assert again.returncode == 0, stdout + stderr
    assert (out / "second-started").exists()
    assert _runs(out) == uninterrupted
    return last


@pytest.mark.slow
def test_sigint_stops_the_whole_serial_run_and_a_rerun_resumes(
        tmp_path: Path, uninterrupted: list[dict[str, Any]]) -> None:
    last = _stop_then_resume(tmp_path, "serial", signal.SIGINT, uninterrupted)
    assert "progress saved in" in last and "checkpoint.pt" in last


@pytest.mark.slow
def test_sigterm_stops_the_whole_serial_run_with_143(
        tmp_path: Path, uninterrupted: list[dict[str, Any]]) -> None:
    _stop_then_resume(tmp_path, "serial", signal.SIGTERM, uninterrupted)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_the_process_executor_after_both_checkpoints(
        tmp_path: Path, uninterrupted: list[dict[str, Any]], signum: int) -> None:
    last = _stop_then_resume(tmp_path, "process", signum, uninterrupted)
    assert last.count("checkpoint.pt") == 2  # both side-by-side trainings saved theirs
    assert last.count("progress saved in") == 1


@pytest.mark.slow
def test_signal_stops_ray_tasks_after_their_checkpoints(
        tmp_path: Path, uninterrupted: list[dict[str, Any]]) -> None:
    pytest.importorskip("ray")
    _stop_then_resume(tmp_path, "ray", signal.SIGINT, uninterrupted, timeout=240)


# ---- the process executor in this process ----
def square(x: int) -> int:
    return x * x


def fail_with(message: str) -> None:
    raise MlsplabError(message)


def stopped_training(path: str) -> None:
    raise StopRequested(signal.SIGTERM, f"progress saved in {path}")


def test_process_executor_equals_serial_in_task_order() -> None:
    tasks = [Task(f"t{i}", square, {"x": i}) for i in range(5)]
    assert ProcessExecutor(max_workers=2).map(tasks) == SerialExecutor().map(tasks)


def test_process_executor_errors_keep_their_message_and_others_finish() -> None:
    tasks = [Task("ok", square, {"x": 3}), Task("bad", fail_with, {"message": "x.zip: corrupt"})]
    with pytest.raises(MlsplabError, match="^x.zip: corrupt$"):
        ProcessExecutor(max_workers=2).map(tasks)
    tasks.append(Task("worse", fail_with, {"message": "y.zip: missing"}))
    with pytest.raises(MlsplabError, match="2 of 3 tasks failed: bad: x.zip: corrupt; worse"):
        ProcessExecutor(max_workers=2).map(tasks)


def test_a_stopped_worker_stops_the_map() -> None:
    tasks = [Task("ok", square, {"x": 3}), Task("stopped", stopped_training, {"path": "a.pt"})]
    with pytest.raises(StopRequested, match="stopped by SIGTERM; progress saved in a.pt"):
        ProcessExecutor(max_workers=2).map(tasks)


def test_first_stop_joins_what_each_saved() -> None:
    stop = first_stop([None, StopRequested(2, "saved a"), ValueError(), StopRequested(15, "b")])
    assert stop is not None and stop.signum == 2 and stop.saved == "saved a; b"
    assert stop.exit_code == 130 and first_stop([None, ValueError()]) is None
    stop = first_stop([StopRequested(15, "progress saved in a.pt"),
                       StopRequested(15, "progress saved in b.pt")], ("step q1d",))
    assert stop is not None and stop.saved == "progress saved in a.pt, b.pt"
    assert stop.not_started == ("step q1d",) and stop.signal_name == "SIGTERM"
