"""`mlsplab reproduce --executor ray` on a local 2-CPU Ray, through `--address` on a head started
with `ray start --head` (token authentication on), and `--executor process` (local worker
processes), write the same metrics.json numbers as `--executor serial`: Q3's configuration x
seed trainings, quick settings, 2 seeds, on a tiny
synthetic ESC-50 archive (nothing from ../shared/data is read; downloads are forbidden).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from synth_esc import write_esc_zip

from mlsplab.cli import main

# where and when a run happened, not what it measured: left out of the comparison. Bytes on
# disk too: a checkpoint pickled in a Ray worker is a few bytes longer (the objects of a job
# shipped to a worker are shared differently), which can cross torch.save's 64-byte alignment.
NOT_MEASURED = re.compile(r"seconds|time|date|host|where|executor|path|dir|run_info|elapsed"
                          r"|timing|load_average|file|started|finished|pid|bytes", re.IGNORECASE)


def numbers(doc: Any, at: str = "") -> dict[str, Any]:
    """Every leaf of a metrics.json document by its path (``histories/0/3/val_loss``), except
    the fields in :data:`NOT_MEASURED`."""
    if isinstance(doc, dict):
        return {k: v for key, value in doc.items() if not NOT_MEASURED.search(str(key))
                for k, v in numbers(value, f"{at}/{key}").items()}
    if isinstance(doc, list):
        return {k: v for i, value in enumerate(doc) for k, v in numbers(value, f"{at}/{i}").items()}
    return {at: doc}


def test_numbers_skips_where_and_when() -> None:
    doc = {"test_accuracy": 0.5, "histories": [[{"val_loss": 1.0, "seconds": 3.0}]],
           "run_info": {"host": "a"}, "host": "b", "data_path": "/x"}
    assert numbers(doc) == {"/test_accuracy": 0.5, "/histories/0/0/val_loss": 1.0}


@pytest.fixture(scope="module")
def esc_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("data")
    write_esc_zip(d / "ESC-50-master.zip")
    return d


@pytest.fixture
def local_ray(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An offline local Ray with 2 CPUs, which `reproduce --executor ray` joins instead of
    starting one with every core of the machine."""
    pytest.importorskip("ray")
    from mlsplab.executors import RayExecutor

    # set before ray.init: the raylet passes its environment on to the workers it starts
    monkeypatch.setenv("MLSPLAB_OFFLINE", "1")
    with RayExecutor(num_cpus=2, progress=False):
        yield


def reproduce_q3(out: Path, data_dir: Path, executor: str,
                 *extra: str) -> dict[str, dict[str, Any]]:
    """Every metrics.json written by a quick 2-seed `reproduce --only q3`, by experiment id."""
    args = ["reproduce", "--quick", "--only", "q3", "--esc10-seeds", "2", "--no-estimate",
            "--data-dir", str(data_dir), "--out", str(out), "--executor", executor, *extra]
    assert main(args) == 0
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(out.glob("*/metrics.json"))}


@pytest.fixture(scope="module")
def serial_q3(esc_data: Path, tmp_path_factory: pytest.TempPathFactory,
              one_thread: None) -> dict[str, dict[str, Any]]:
    mp = pytest.MonkeyPatch()
    mp.setenv("MLSPLAB_OFFLINE", "1")
    try:
        return reproduce_q3(tmp_path_factory.mktemp("serial") / "runs", esc_data, "serial")
    finally:
        mp.undo()


def assert_same_numbers(serial: dict[str, dict[str, Any]],
                        other: dict[str, dict[str, Any]], name: str) -> None:
    assert {"q3a-adam", "q3b-batchnorm", "q3c-ensemble"} <= set(serial)
    assert set(other) == set(serial)
    for exp_id, doc in serial.items():
        expected, got = numbers(doc), numbers(other[exp_id])
        assert got.keys() == expected.keys(), exp_id
        different = {k: (expected[k], got[k]) for k in expected if got[k] != expected[k]}
        assert not different, f"{exp_id}: {name} != serial at {different}"
    # the comparison covered the trainings' curves and test accuracies
    assert numbers(other["q3a-sgd"])["/histories/0/1/val_loss"] > 0
    assert 0 <= other["q3b-batchnorm"]["test_accuracy"] <= 1


@pytest.mark.slow
def test_process_reproduce_equals_serial(esc_data: Path, tmp_path: Path,
                                         serial_q3: dict[str, dict[str, Any]],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLSPLAB_OFFLINE", "1")
    process = reproduce_q3(tmp_path / "process", esc_data, "process")
    assert_same_numbers(serial_q3, process, "process")


@pytest.mark.slow
@pytest.mark.usefixtures("local_ray")
def test_ray_reproduce_equals_serial(esc_data: Path, tmp_path: Path,
                                     serial_q3: dict[str, dict[str, Any]]) -> None:
    ray = reproduce_q3(tmp_path / "ray", esc_data, "ray")
    assert_same_numbers(serial_q3, ray, "ray")


def forget_cached_token() -> None:
    """Make Ray read its token again: a process caches the first one it loads, and this test
    process has joined a local Ray (with ~/.ray/auth_token) before it joins the head."""
    try:
        from ray._raylet import AuthenticationTokenLoader
    except ImportError:
        return
    AuthenticationTokenLoader.instance().reset_cache()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A head started as the README says, `ray start --head --port PORT`, with token
    authentication on (as Ray turns it on where the head machine holds a token); its address.

    This process joins it as a fresh machine would: the head's token copied here, and no
    RAY_AUTH_MODE set. `ray start --block` stops every process it started when it is
    terminated, so the teardown stops exactly this head (never `ray stop`, which stops every
    Ray of the machine)."""
    pytest.importorskip("ray")
    ray_cli = Path(sys.executable).with_name("ray")
    if not ray_cli.exists():
        pytest.skip(f"no `ray` command beside {sys.executable}")
    token = tmp_path / "auth_token"
    token.write_text(secrets.token_hex(32))
    port = free_port()
    temp = tempfile.mkdtemp(prefix="rayhead", dir="/tmp")  # short: Ray's socket paths < 108
    src = str(Path(__file__).resolve().parents[1] / "src")  # the workers import this mlsplab
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RAY_")},
           "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token), "MLSPLAB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    log = open(tmp_path / "head.log", "w")  # noqa: SIM115 (closed in the teardown)
    head = subprocess.Popen([str(ray_cli), "start", "--head", "--block", "--port", str(port),
                             "--num-cpus", "2", "--include-dashboard=false", "--temp-dir", temp,
                             "--disable-usage-stats"], env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if head.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("ray start --head did not come up: "
                                + (tmp_path / "head.log").read_text()[-2000:])
                time.sleep(0.5)
        for name in [k for k in os.environ if k.startswith("RAY_")]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("RAY_AUTH_MODE", "unset")  # restored to "not set" afterwards
        monkeypatch.delenv("RAY_AUTH_MODE")
        monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(token))
        monkeypatch.setenv("MLSPLAB_OFFLINE", "1")
        forget_cached_token()
        yield f"127.0.0.1:{port}"
    finally:
        forget_cached_token()
        head.terminate()
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait()
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
def test_ray_start_head_address_equals_serial(esc_data: Path, tmp_path: Path, ray_head: str,
                                              serial_q3: dict[str, dict[str, Any]]) -> None:
    ray = reproduce_q3(tmp_path / "ray", esc_data, "ray", "--address", ray_head)
    assert_same_numbers(serial_q3, ray, "ray --address")
    timings = json.loads((tmp_path / "ray" / "reproduce" / "timings.json").read_text())
    assert timings["executor"] == "ray"


def test_refused_join_names_the_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from mlsplab import ray_auth

    for name in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert "this machine has no Ray token" in ray_auth.join_failure_hint()
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("x")
    hint = ray_auth.join_failure_hint()
    assert f"this machine's token ({tmp_path}/.ray/auth_token) must equal the head's" in hint
    assert ray_auth.TOKEN_AUTH_DOCS in hint
