"""Two small real training steps for the stop tests, and a driver that runs `mlsplab reproduce`
over them in a subprocess (so a test can send it SIGINT or SIGTERM).

``python tests/stop_steps.py reproduce --out OUT --only first,second --executor E`` is
``mlsplab reproduce`` with the registry's steps replaced by :data:`STEPS`:

* ``first`` trains two tiny models (``train_worker.train``, with :func:`mlsplab.fit_loop.fit`)
  as independent tasks through ``options.executor`` (as Q3 does), checkpointing after every
  batch; with ``STOP_TEST_STEP_SLEEP`` set, each batch sleeps that long, so a test can stop it
  mid-epoch;
* ``second`` writes its result at once; ``<out>/second-started`` says it ran.

The report is not built (it reads the assignment's results; this test is about stopping).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

from train_worker import EPOCHS, train

from mlsplab.executors import SerialExecutor, Task
from mlsplab.experiments.common import experiment_dir, finished_metrics, write_metrics
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1.config import SentimentConfig
from mlsplab.experiments.registry import Step


def train_task(out: str, seed: int) -> dict[str, Any]:
    """One tiny real training (``train_worker.train``, a checkpoint after every batch) in its
    own folder ``seed-<seed>``, resumed from its checkpoint; its history and final weights'
    sum."""
    run_dir = Path(out) / "first" / f"seed-{seed}"
    run_dir.mkdir(parents=True, exist_ok=True)
    result = train(run_dir / "checkpoint.pt",
                   step_sleep=float(os.environ.get("STOP_TEST_STEP_SLEEP", "0")))
    history = [{k: v for k, v in row.items() if k != "seconds"} for row in result["history"]]
    return {"history": history,
            "weight_sum": float(sum(w.sum() for w in result["final"].values()))}


def run_first(options: RunOptions) -> None:
    exp_dir = experiment_dir(options.out, "first")
    config = {"seeds": [1, 2], "epochs": EPOCHS}
    if finished_metrics(exp_dir, config) is not None:
        return
    tasks = [Task(f"first seed {s}", train_task, {"out": str(options.out), "seed": s})
             for s in (1, 2)]
    runs = (options.executor or SerialExecutor()).map(tasks)
    write_metrics(exp_dir, "first", config, {"runs": runs})


def run_second(options: RunOptions) -> None:
    (Path(options.out) / "second-started").write_text("yes")
    write_metrics(experiment_dir(options.out, "second"), "second", {}, {"done": True})


STEPS = (Step("first", ("first",), "q1b", "two tiny trainings", run_first, SentimentConfig),
         Step("second", ("second",), "q1b", "a step after them", run_second, SentimentConfig))


def main(argv: list[str]) -> int:
    from mlsplab.cli import main as cli_main
    from mlsplab.experiments import registry
    from mlsplab.report import build

    # SIGINT as at a terminal, whatever the suite was started with (``nohup`` and ``cmd &``
    # ignore it, and a child inherits that)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    registry.STEPS = STEPS
    build.build_report = lambda out, **kw: {"html": "(not built)", "pdf": "(not built)"}
    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
