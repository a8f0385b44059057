"""Progress bars redraw often on a terminal and rarely in a log file."""

from __future__ import annotations

import io
import sys
import time

import pytest
from tqdm.auto import tqdm

from mlsplab.progress import LOG_INTERVAL_S, TERMINAL_INTERVAL_S, progress_bar, redraw_interval


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_file_gets_a_redraw_a_minute_and_a_terminal_twice_a_second(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert redraw_interval() == LOG_INTERVAL_S
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert redraw_interval() == TERMINAL_INTERVAL_S


def test_a_bar_in_a_log_file_writes_a_few_lines_not_one_per_step(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def redraws(make_bar) -> int:
        log = io.StringIO()
        monkeypatch.setattr(sys, "stderr", log)
        with make_bar(total=400, desc="train", file=log) as bar:
            for _ in range(400):  # about 0.4 s of "training"
                time.sleep(0.001)
                bar.update(1)
                bar.set_postfix(loss="0.5", refresh=False)
        return log.getvalue().count("\r")

    assert redraws(progress_bar) <= 3  # the start, the end
    assert redraws(tqdm) >= 4  # tqdm's default: ten a second
