"""Progress bars that suit both a terminal and a log file.

On a terminal a bar redraws a few times a second; when stderr goes to a file (``nohup``,
``> log 2>&1``, a CI job) every redraw is another line of the file, so there the bar redraws
once a minute: a 25-epoch IMDB training then logs a few hundred lines instead of megabytes.
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm.auto import tqdm

TERMINAL_INTERVAL_S = 0.5  # seconds between redraws on a terminal
LOG_INTERVAL_S = 60.0  # ... and in a log file


def redraw_interval() -> float:
    """Seconds between redraws for this process's stderr."""
    try:
        interactive = sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        interactive = False
    return TERMINAL_INTERVAL_S if interactive else LOG_INTERVAL_S


def progress_bar(*args: Any, **kwargs: Any) -> tqdm:
    """``tqdm(*args, **kwargs)``, redrawn at :func:`redraw_interval` unless ``mininterval`` is
    given."""
    kwargs.setdefault("mininterval", redraw_interval())
    # tqdm's monitor thread redraws a bar idle for maxinterval (default 10 s): not sooner than
    # the chosen interval either
    kwargs.setdefault("maxinterval", max(10.0, kwargs["mininterval"]))
    return tqdm(*args, **kwargs)
