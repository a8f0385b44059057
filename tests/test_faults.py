"""Faults of long runs on shared machines: a full disk or an unwritable folder, a truncated
checkpoint, two processes writing one experiment, a kill -9 mid-epoch, and a suite started with
SIGINT ignored (``nohup``, a background job from a script)."""

from __future__ import annotations

import errno
import json
import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
import train_worker

from mlsplab.errors import MlsplabError
from mlsplab.experiments.common import experiment_dir, write_metrics
from mlsplab.io import WriteError, atomic_write, atomic_write_json, atomic_write_text
from mlsplab.locking import holder, lock_dir, release
from mlsplab.report.document import Document, Paragraph
from mlsplab.report.html import write_html
from mlsplab.training import load_checkpoint, save_torch

pytestmark = pytest.mark.usefixtures("one_thread")  # the reference must match the subprocess

TESTS = Path(__file__).parent
ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _python(code_or_script: str | Path, *args: str, **kw: Any) -> subprocess.Popen:
    """A child Python process: ``-c code`` or a script, on one thread, output piped."""
    cmd = [sys.executable, str(code_or_script)] if isinstance(code_or_script, Path) \
        else [sys.executable, "-c", code_or_script]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([*cmd, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, **kw)


def _no_temp_files(folder: Path) -> bool:
    return not list(folder.rglob(".*.tmp"))


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    """The tiny training of tests/train_worker.py, uninterrupted, without checkpoints."""
    return train_worker.train(None)


def _assert_same_run(result: dict[str, Any], reference: dict[str, Any]) -> None:
    def strip(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in history]

    assert strip(result["history"]) == strip(reference["history"])  # exactly, not approx
    assert result["best_epoch"] == reference["best_epoch"]
    for key in ("best_state", "final"):
        for name, tensor in reference[key].items():
            assert torch.equal(result[key][name], tensor), (key, name)


# ---------------------------------------------------------------------------------------------
# a full disk or an unwritable folder

def test_full_disk_at_the_write_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "q3a-sgd" / "metrics.json"
    atomic_write_json(path, {"test_accuracy": 0.5})

    def half_then_full(tmp: Path) -> None:
        tmp.write_text('{"test_accuracy": 0.')
        raise ENOSPC

    with pytest.raises(WriteError) as e:
        atomic_write(path, half_then_full)
    assert str(e.value) == (f"cannot write {path} (No space left on device); the previous "
                            "metrics.json is kept unchanged; free space on that disk and rerun")
    assert json.loads(path.read_text()) == {"test_accuracy": 0.5}
    assert _no_temp_files(tmp_path) and isinstance(e.value, MlsplabError)


def test_unwritable_folder_says_nothing_was_written(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # as root, chmod does not stop writes: inject what mkstemp raises in a read-only folder
    path = tmp_path / "report" / "index.html"

    def denied(prefix: str, suffix: str, dir: Path) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", f"{dir}/{prefix}x1y2{suffix}")

    monkeypatch.setattr("mlsplab.io.tempfile.mkstemp", denied)
    with pytest.raises(WriteError) as e:
        atomic_write_text(path, "<html>")
    assert str(e.value) == (f"cannot write {path} (Permission denied); nothing was written; "
                            f"make {path.parent} writable (or write elsewhere) and rerun")
    assert not path.exists()


def test_rename_refused_keeps_the_previous_file_and_removes_the_temporary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.txt"
    atomic_write_text(path, "old")

    def refused(src: str, dst: str) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", src, dst)

    monkeypatch.setattr("mlsplab.io.os.replace", refused)
    with pytest.raises(WriteError, match=r"\(Permission denied\); the previous x.txt is kept"):
        atomic_write_text(path, "new")
    assert path.read_text() == "old" and _no_temp_files(tmp_path)


def test_file_size_limit_from_the_kernel_keeps_the_previous_files(tmp_path: Path) -> None:
    # a real write error, not an injected one: RLIMIT_FSIZE makes write() fail with EFBIG
    # (Python ignores SIGXFSZ); it goes through torch.save's file object too
    text, ckpt = tmp_path / "t.txt", tmp_path / "run.pt"
    atomic_write_text(text, "old")
    save_torch(ckpt, {"format": "x", "w": torch.zeros(4)})
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, hard))
    try:
        with pytest.raises(WriteError) as text_error:
            atomic_write_text(text, "x" * 1_000_000)
        with pytest.raises(WriteError) as torch_error:
            save_torch(ckpt, {"format": "x", "w": torch.zeros(100_000)})
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    for e in (text_error.value, torch_error.value):
        assert e.errno == errno.EFBIG and "(File too large); the previous" in str(e)
    assert text.read_text() == "old"
    assert torch.equal(torch.load(ckpt, weights_only=True)["w"], torch.zeros(4))
    assert _no_temp_files(tmp_path)


def test_metrics_and_report_writes_keep_their_previous_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exp = experiment_dir(tmp_path, "q3a-sgd")
    write_metrics(exp, "q3a-sgd", {"lr": 0.01}, {"test_accuracy": 0.5})
    html = write_html(Document(title="old", blocks=[Paragraph("old")]), tmp_path / "index.html")
    before = {p: p.read_bytes() for p in (exp / "metrics.json", html)}

    def full(path: Path) -> None:  # the disk fills up while the data is flushed
        raise ENOSPC

    monkeypatch.setattr("mlsplab.io._fsync", full)
    with pytest.raises(MlsplabError, match="metrics.json is kept unchanged; free space"):
        write_metrics(exp, "q3a-sgd", {"lr": 0.01}, {"test_accuracy": 0.9})
    with pytest.raises(MlsplabError, match="index.html is kept unchanged; free space"):
        write_html(Document(title="new", blocks=[Paragraph("new")]), html)
    assert {p: p.read_bytes() for p in before} == before and _no_temp_files(tmp_path)


class _FullDiskAt:
    """``torch.save`` that fills the disk on its ``n``-th call: it writes part of the file,
    then raises ENOSPC. Counts calls of the trainer's checkpoint and best-weights saves."""

    def __init__(self, n: int) -> None:
        self.n, self.calls, self.save = n, 0, torch.save

    def __call__(self, obj: Any, f: Any) -> None:
        self.calls += 1
        if self.calls == self.n:
            f.write(b"PK\x03\x04 half a checkpoint")
            raise ENOSPC
        self.save(obj, f)


# 12 batches per epoch, a checkpoint after each: torch.save calls 1-12 are epoch 1's batches,
# 13 the best weights, 14 the end of epoch 1, 15-16 epoch 2's first two batches
FULL_DISK_CASES = {
    1: (("cannot write the checkpoint {ckpt} (No space left on device); no checkpoint was "
        "written yet, so the same command starts the run again; free space on that disk and "
        "rerun"), None),
    13: (("cannot write the best weights {ckpt}.best (No space left on device); the same "
         "command resumes from epoch 1 after 12 batches; free space on that disk and rerun"),
         (1, 12)),
    17: (("cannot write the checkpoint {ckpt} (No space left on device); the previous "
         "checkpoint is kept unchanged, and the same command resumes from epoch 2 after 2 "
         "batches; free space on that disk and rerun"), (2, 2)),
}


@pytest.mark.parametrize("failing_call", sorted(FULL_DISK_CASES))
def test_full_disk_at_a_checkpoint_keeps_the_previous_one_and_resumes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: dict[str, Any],
        failing_call: int) -> None:
    ckpt = tmp_path / "run.pt"
    message, kept_at = FULL_DISK_CASES[failing_call]
    monkeypatch.setattr("mlsplab.training.torch.save", _FullDiskAt(failing_call))
    with pytest.raises(MlsplabError) as e:
        train_worker.train(ckpt)
    assert str(e.value) == message.format(ckpt=ckpt)
    if kept_at is None:
        assert not ckpt.exists()
    else:
        assert (load_checkpoint(ckpt)["epoch"], load_checkpoint(ckpt)["batch"]) == kept_at
    assert _no_temp_files(tmp_path)
    monkeypatch.undo()  # space freed: the rerun ends as if nothing happened
    _assert_same_run(train_worker.train(ckpt), reference)


@pytest.mark.parametrize("damaged", ["run.pt", "run.pt.best"])
def test_truncated_checkpoint_names_the_file_and_how_to_restart(
        tmp_path: Path, damaged: str, reference: dict[str, Any]) -> None:
    ckpt = tmp_path / "run.pt"
    train_worker.train(ckpt)
    bad = tmp_path / damaged
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2])  # the disk filled up under another tool
    with pytest.raises(MlsplabError) as e:
        train_worker.train(ckpt)
    message = str(e.value)
    assert message.startswith(f"{bad}: not a readable checkpoint, truncated or corrupt (")
    assert message.endswith(f"; delete {ckpt} and {ckpt}.best to start that run again, or "
                            "restore the file from a backup")
    assert "\n" not in message
    ckpt.unlink()  # doing what it says starts that run again
    (tmp_path / "run.pt.best").unlink()
    _assert_same_run(train_worker.train(ckpt), reference)


def test_missing_best_weights_is_refused_not_replaced_by_the_initial_ones(
        tmp_path: Path) -> None:
    ckpt = tmp_path / "run.pt"
    train_worker.train(ckpt)
    (tmp_path / "run.pt.best").unlink()
    with pytest.raises(MlsplabError, match=r"run.pt.best: missing, but run.pt says epoch \d "
                                           r"had the best weights; restore it, or delete"):
        train_worker.train(ckpt)


# ---------------------------------------------------------------------------------------------
# two processes, one experiment folder

HOLD = ("import sys, time; from mlsplab.locking import lock_dir; lock_dir(sys.argv[1]); "
        "print('locked', flush=True); time.sleep(float(sys.argv[2]))")


def _hold_lock(folder: Path, seconds: float = 60) -> subprocess.Popen:
    """Another process holding ``folder``'s lock (for ``seconds``), once it says so."""
    proc = _python(HOLD, str(folder), str(seconds))
    assert proc.stdout is not None and proc.stdout.readline() == "locked\n", proc.stderr
    return proc


def test_second_process_gets_one_line_naming_the_folder_and_our_pid(tmp_path: Path) -> None:
    exp = experiment_dir(tmp_path, "q3a-sgd")
    assert experiment_dir(tmp_path, "q3a-sgd") == exp  # the same process again: no deadlock
    second = _python(
        "import sys\nfrom mlsplab.errors import MlsplabError\n"
        "from mlsplab.experiments.common import experiment_dir\n"
        "try:\n    experiment_dir(sys.argv[1], 'q3a-sgd')\n"
        "except MlsplabError as e:\n    print(e)\n    sys.exit(2)", str(tmp_path))
    out, err = second.communicate(timeout=120)
    assert second.returncode == 2, err
    pid = os.getpid()
    assert out.count("\n") == 1 and out.startswith(
        f"{exp.resolve()} is being written by another mlsplab process (pid {pid}, started ")
    assert out.endswith(f"); wait for it to finish, stop it (kill {pid}), or use another --out\n")


def test_lock_of_a_killed_process_is_taken_over(tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "q1b-lstm-avg"
    other = _hold_lock(folder)
    with pytest.raises(MlsplabError, match=f"another mlsplab process \\(pid {other.pid}, "):
        experiment_dir(tmp_path, "q1b-lstm-avg")
    (folder / ".ckpt.pt.k2j4.tmp").write_bytes(b"half")  # killed while writing a checkpoint
    other.kill()  # SIGKILL: no clean-up of any kind
    other.wait()
    with caplog.at_level(logging.WARNING, logger="mlsplab.locking"):
        assert experiment_dir(tmp_path, "q1b-lstm-avg") == folder
    assert f"taking over the lock of pid {other.pid} (no longer running); removed 1 " \
           "half-written temporary file(s)" in caplog.text
    assert holder(folder)["pid"] == os.getpid() and _no_temp_files(folder)


def test_stale_lock_file_whose_pid_is_dead_is_taken_over(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    dead_pid = _dead_pid()
    folder = tmp_path / "q2-tdnn"
    folder.mkdir()
    (folder / ".lock").write_text(json.dumps({"pid": dead_pid, "host": os.uname().nodename,
                                              "started": "2026-11-25T10:00:00+0000"}))
    with caplog.at_level(logging.WARNING, logger="mlsplab.locking"):
        experiment_dir(tmp_path, "q2-tdnn")
    assert f"taking over the lock of pid {dead_pid} (no longer running)" in caplog.text


def _dead_pid() -> int:
    """A pid that no process has now: one of a child that exited (not reused this soon)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    assert not Path(f"/proc/{proc.pid}").exists()
    return proc.pid


def test_clean_exit_leaves_nothing_to_take_over_and_relock_after_deletion(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "q4-conv-dense"
    proc = _hold_lock(folder, seconds=0)
    assert proc.wait(timeout=60) == 0
    assert holder(folder) is None  # emptied at exit
    with caplog.at_level(logging.WARNING, logger="mlsplab.locking"):
        lock_dir(folder)
    assert "taking over" not in caplog.text
    shutil.rmtree(folder)  # e.g. `rm -rf runs/q4-conv-dense` between two calls of one process
    lock_dir(folder)
    assert holder(folder)["pid"] == os.getpid()
    release(folder)
    assert holder(folder) is None


def test_no_space_for_the_lock_file_fails_before_any_work(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int, data: bytes, offset: int) -> int:
        raise ENOSPC

    with monkeypatch.context() as m:
        m.setattr("mlsplab.locking.os.pwrite", full)
        with pytest.raises(MlsplabError) as e:
            experiment_dir(tmp_path, "q3a-sgd")
    assert str(e.value) == (f"--out {tmp_path}: cannot write {tmp_path / 'q3a-sgd'} (No space "
                            "left on device); nothing in it was changed; free space on that "
                            "disk and rerun")
    assert experiment_dir(tmp_path, "q3a-sgd")  # the failed call kept no half-taken lock


def test_file_system_without_locks_warns_and_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr("mlsplab.locking.fcntl.flock", no_locks)
    with caplog.at_level(logging.WARNING, logger="mlsplab.locking"):
        assert experiment_dir(tmp_path, "q2-tdnn").is_dir()
    assert "has no file locks (No locks available); nothing stops a second" in caplog.text


def test_reading_results_takes_no_lock(tmp_path: Path) -> None:
    # `mlsplab report` while a training writes: reading works and leaves no lock of its own
    from mlsplab.experiments.common import finished_metrics

    exp = tmp_path / "q3a-adam"
    atomic_write_json(exp / "metrics.json", {"config_hash": "x", "test_accuracy": 0.6})
    other = _hold_lock(exp)
    try:
        assert finished_metrics(exp, {"other": "config"}) is None  # read, not refused
        assert holder(exp)["pid"] == other.pid
    finally:
        other.kill()
        other.wait()


# ---------------------------------------------------------------------------------------------
# kill -9 mid-epoch

def test_kill_9_mid_epoch_then_rerun_equals_an_uninterrupted_run(
        tmp_path: Path, reference: dict[str, Any]) -> None:
    ckpt, result = tmp_path / "run.pt", tmp_path / "result.pt"
    worker = _python(TESTS / "train_worker.py", str(ckpt), str(result), "--step-sleep", "0.05")
    deadline = time.monotonic() + 120
    position = (0, 0)
    while time.monotonic() < deadline and not (position[0] == 2 and 1 <= position[1] <= 8):
        assert worker.poll() is None, worker.communicate()
        if ckpt.exists():
            c = load_checkpoint(ckpt)  # written atomically: always whole
            position = (c["epoch"], c["batch"])
        time.sleep(0.01)
    assert position[0] == 2, f"no mid-epoch checkpoint within 120 s (last {position})"
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    killed_at = load_checkpoint(ckpt)
    assert killed_at["epoch"] == 2 and 1 <= killed_at["batch"] < 12  # mid-epoch 2
    assert len(killed_at["history"]) == 1 and not result.exists()
    again = _python(TESTS / "train_worker.py", str(ckpt), str(result))
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    _assert_same_run(torch.load(result, weights_only=True), reference)


# ---------------------------------------------------------------------------------------------
# a suite started with SIGINT ignored

def test_trainer_tests_pass_when_started_with_sigint_ignored() -> None:
    # what `cmd &` in a script (and some nohup setups) do: the child starts with SIGINT ignored
    def ignore_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    probe = _python("import signal; print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)",
                    preexec_fn=ignore_sigint)
    assert probe.communicate(timeout=60)[0] == "True\n"
    suite = _python("import sys, pytest; sys.exit(pytest.main(sys.argv[1:]))", "-q", "-x",
                    "-p", "no:cacheprovider", str(TESTS / "test_training.py"),
                    preexec_fn=ignore_sigint, cwd=TESTS.parent)
    out, err = suite.communicate(timeout=300)
    assert suite.returncode == 0, out[-3000:] + err[-3000:]
