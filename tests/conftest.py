"""Fixtures shared by several test modules (opt in with ``pytest.mark.usefixtures``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Run a module's torch work on one thread: tiny models gain nothing from 2 threads, and
    on a busy 2-core machine OpenMP threads spin-waiting on each other make steps ~10x slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def isolated_data_dirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only the test's own data folder may be found (hide ../shared/data, $MLSPLAB_DATA_DIR
    and ~/.cache/mlsplab), and nothing may be downloaded."""
    monkeypatch.delenv("MLSPLAB_DATA_DIR", raising=False)
    monkeypatch.setattr("mlsplab.data.files.REPO_ROOT", tmp_path / "no-repo" / "x")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MLSPLAB_OFFLINE", "1")
