"""`mlsplab reproduce --executor ray` on a local 2-CPU Ray writes the same metrics.json numbers
as `--executor serial`: Q3's configuration x seed trainings, quick settings, 2 seeds, on a tiny
synthetic ESC-50 archive (nothing from ../shared/data is read; downloads are forbidden).
"""

from __future__ import annotations

import json
import re
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


def reproduce_q3(out: Path, data_dir: Path, executor: str) -> dict[str, dict[str, Any]]:
    """Every metrics.json written by a quick 2-seed `reproduce --only q3`, by experiment id."""
    args = ["reproduce", "--quick", "--only", "q3", "--esc10-seeds", "2", "--no-estimate",
            "--data-dir", str(data_dir), "--out", str(out), "--executor", executor]
    assert main(args) == 0
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(out.glob("*/metrics.json"))}


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread", "local_ray")
def test_ray_reproduce_equals_serial(esc_data: Path, tmp_path: Path) -> None:
    serial = reproduce_q3(tmp_path / "serial", esc_data, "serial")
    ray = reproduce_q3(tmp_path / "ray", esc_data, "ray")

    assert {"q3a-adam", "q3b-batchnorm", "q3c-ensemble"} <= set(serial)
    assert set(ray) == set(serial)
    for exp_id in serial:
        expected, got = numbers(serial[exp_id]), numbers(ray[exp_id])
        assert got.keys() == expected.keys(), exp_id
        different = {k: (expected[k], got[k]) for k in expected if got[k] != expected[k]}
        assert not different, f"{exp_id}: ray != serial at {different}"
    # the comparison covered the trainings' curves and test accuracies
    assert numbers(ray["q3a-sgd"])["/histories/0/1/val_loss"] > 0
    assert 0 <= ray["q3b-batchnorm"]["test_accuracy"] <= 1
