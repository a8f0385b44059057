"""``mlsplab reproduce``: run every experiment of the assignment, then write the report.

The steps, their order and their runners come from :mod:`mlsplab.experiments.registry`. Each step
skips itself when ``<out>/<id>/metrics.json`` already holds a finished run with the same
configuration, and resumes an interrupted training from its checkpoint, so the command can be
killed at any point and started again. A step that fails is recorded and the others still run;
the end of the run lists every failed step, and the report is rebuilt from whatever results
exist. A stop signal (Ctrl-C, ``kill``) stops the whole run instead: the running training
checkpoints, no further step starts, the step is recorded as stopped, and no report is built.

With a parallel executor (``process``, the default on two or more cores, or ``ray``),
consecutive steps that share a runner (the three IMDB models) run side by side, and each step
hands its own independent trainings (Q3's configuration x seed grid) to the same executor.
"""

from __future__ import annotations

import argparse
import logging
import os
import textwrap
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlsplab.cli_options import (
    add_alias,
    add_data_dir,
    add_device,
    add_executor,
    add_out,
    add_precision,
    add_quick,
    add_seed,
    add_seeds,
    examples,
    positive_int,
)
from mlsplab.durations import format_duration
from mlsplab.errors import MlsplabError
from mlsplab.executors import (
    SerialExecutor,
    Task,
    available_cores,
    get_executor,
    where,
)
from mlsplab.experiments.common import budget_deadline, writable_dir
from mlsplab.experiments.entrypoints import run_sentiment
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.registry import ALIASES, STEPS, Step, select_steps
from mlsplab.formatting import count
from mlsplab.io import atomic_write_json, read_json
from mlsplab.stopping import StopRequested

log = logging.getLogger(__name__)


def options_from_args(args: argparse.Namespace) -> RunOptions:
    """The :class:`RunOptions` of a ``reproduce`` call: every flag, one place."""
    return RunOptions(out=Path(args.out), data_dir=args.data_dir, seed=args.seed,
                      seeds=args.esc10_seeds, imdb_seeds=args.imdb_seeds or 1, quick=args.quick,
                      epochs=args.epochs, max_tokens=args.max_tokens, device=args.device,
                      precision=args.precision, pretrained=args.pretrained,
                      executor=get_executor(args.executor, address=args.address))


def run_step(step_key: str, options: RunOptions) -> dict[str, Any]:
    """Run one registry step (module-level so that an executor can ship it to a worker)."""
    import torch

    from mlsplab.experiments.registry import step as registry_step

    step = registry_step(step_key)
    load_start = os.getloadavg()[0]
    t0 = time.monotonic()
    step.runner(options, **step.params)
    # the 1-minute load average of the machine at the start and end says whether the step
    # had the cores to itself (the README's wall-time table prints it)
    return {"host": where(), "seconds": time.monotonic() - t0,
            "threads": torch.get_num_threads(),
            "load_average": [round(load_start, 2), round(os.getloadavg()[0], 2)]}


def _deadline(budget_end: float | None, timed: list[str], key: str,
              *, side_by_side: bool) -> float | None:
    """This step's share of ``--time-budget``: what is left, split equally among the timed
    steps (IMDB trainings) still to run, or all of it for steps that run side by side."""
    if budget_end is None or key not in timed:
        return None
    left = max(budget_end - time.time(), 0.0)
    if side_by_side:
        return time.time() + left
    return time.time() + left / max(len(timed) - timed.index(key), 1)


def _task_gpus(device: str) -> float:
    """GPUs a side-by-side training task reserves: one where it will train on CUDA (asked for,
    or ``auto`` on a driver that has CUDA), so that Ray places it on a machine with a GPU."""
    if device.startswith("cuda"):
        return 1.0
    if device == "auto":
        import torch

        return 1.0 if torch.cuda.is_available() else 0.0
    return 0.0


def _groups(steps: list[Step], parallel: bool,
            estimates: dict[str, float | None] | None = None) -> list[list[Step]]:
    """Steps in order; with a parallel executor, consecutive steps sharing a runner (independent
    trainings such as the three IMDB models) form one group that runs side by side.

    Inside a group the longest estimated step comes first (when every step has an estimate):
    with fewer workers than steps, starting the longest training first ends the group sooner
    (on two cores: the transformer beside one LSTM, the other LSTM when that one is done).
    """
    groups: list[list[Step]] = []
    for step in steps:
        if parallel and groups and groups[-1][-1].runner == step.runner:
            groups[-1].append(step)
        else:
            groups.append([step])
    known = estimates or {}
    for group in groups:
        if all(known.get(s.key) for s in group):
            group.sort(key=lambda s: -(known[s.key] or 0.0))
    return groups


def _metrics_mtimes(out: Path, step: Step) -> dict[str, float]:
    return {i: (out / i / "metrics.json").stat().st_mtime
            for i in step.ids if (out / i / "metrics.json").exists()}


def merge_timings(path: Path, this_call: dict[str, Any]) -> dict[str, Any]:
    """``this_call``'s timings merged into those saved at ``path`` by earlier calls.

    Steps this call did not run keep their entries; every entry gets ``seconds_all_calls``,
    the wall time spent on the step over all calls (a run resumed after a kill or at a
    ``--time-budget`` adds up), so the report can say where the time of the whole job went.
    The saved file is read just before writing, so calls with disjoint ``--only`` that run
    side by side keep each other's entries.
    """
    try:
        previous = read_json(path) if path.exists() else {}
    except MlsplabError as e:
        log.warning("earlier timings not merged: %s", e)
        previous = {}
    # entries written before seconds_all_calls existed count their last call only
    merged = {key: {**entry, "seconds_all_calls":
                    entry.get("seconds_all_calls", entry.get("seconds", 0.0))}
              for key, entry in previous.get("experiments", {}).items()}
    for key, entry in this_call["experiments"].items():
        spent = 0.0 if entry["status"] == "reused" else entry["seconds"]
        before = merged.get(key, {}).get("seconds_all_calls", 0.0)
        merged[key] = {**entry, "seconds_all_calls": before + spent}
    return {**this_call, "experiments": merged,
            "total_seconds_all_calls": sum(e["seconds_all_calls"] for e in merged.values())}


def _estimates(steps: list[Step], options: RunOptions,
               one_thread: set[str]) -> dict[str, float | None]:
    """Each timed step's estimated seconds, measured at the thread count it will train with:
    one thread for the steps in ``one_thread`` (side by side, a task has one thread)."""
    import torch

    estimates: dict[str, float | None] = {}
    threads = torch.get_num_threads()
    for step in steps:
        if step.estimate is None:
            continue
        torch.set_num_threads(1 if step.key in one_thread else threads)
        try:
            estimates[step.key] = step.estimate(options, **step.params)
        except MlsplabError as e:
            log.warning("no estimate for %s: %s", step.key, e)
        finally:
            torch.set_num_threads(threads)
    return estimates


def makespan(seconds: list[float], workers: int) -> float:
    """Elapsed seconds of jobs run side by side on ``workers``, longest first, each to the
    first free worker (how a pool works through a group started longest first)."""
    free = [0.0] * max(workers, 1)
    for s in sorted(seconds, reverse=True):
        free[free.index(min(free))] += s
    return max(free)


def _eta(groups: list[list[Step]], estimates: dict[str, float | None], workers: int) -> float:
    """Estimated seconds for ``groups`` one after another, each group side by side."""
    return sum(makespan([estimates.get(s.key) or 0.0 for s in g], workers) for g in groups)


def _task_name(step: Step) -> str:
    """The name of a step's task when it runs side by side with others."""
    return f"step {step.key}"


def wrote_results(out: Path, step: Step, before: dict[str, float]) -> bool:
    """Whether every result of ``step`` was written since ``before`` (its
    :func:`_metrics_mtimes` then): a step that finished beside one that failed or stopped."""
    after = _metrics_mtimes(out, step)
    return set(after) == set(step.ids) and after != before


def _ended_entries(group: list[Step], out: Path, before: dict[str, dict[str, float]],
                   t0: float, executor: str, status: str, *, never: tuple[str, ...] = ()
                   ) -> dict[str, dict[str, Any]]:
    """The timing entries of a group that failed or stopped: ``status`` for each step, or done
    for one that finished beside it; none for a step cancelled before it started (``never``:
    task names)."""
    return {s.key: {"status": "done" if wrote_results(out, s, before[s.key]) else status,
                    "seconds": time.monotonic() - t0, "host": where(), "executor": executor}
            for s in group if _task_name(s) not in never}


def _run_group(group: list[Step], options: RunOptions, budget_end: float | None,
               timed: list[str], before: dict[str, dict[str, float]]
               ) -> dict[str, dict[str, Any]]:
    """Run one group of steps; the timing entry of each (status, seconds, host, executor).
    ``before`` holds each step's :func:`_metrics_mtimes` at the start."""
    executor = options.executor or SerialExecutor()
    side_by_side = len(group) > 1
    # side by side, each step is a task of its own; alone, the step hands its own independent
    # trainings to the executor
    tasks = [Task(_task_name(s), run_step,
                  {"step_key": s.key,
                   "options": replace(options, executor=None if side_by_side else executor,
                                      deadline=_deadline(budget_end, timed, s.key,
                                                         side_by_side=side_by_side))},
                  gpus=_task_gpus(options.device) if side_by_side else 0.0)
             for s in group]
    results = executor.map(tasks) if side_by_side else [run_step(**tasks[0].kwargs)]
    entries = {}
    for s, result in zip(group, results):
        after = _metrics_mtimes(options.out, s)
        entries[s.key] = {"status": "reused" if after and after == before[s.key] else "done",
                          "seconds": result["seconds"], "host": result["host"],
                          "threads": result["threads"], "load_average": result["load_average"],
                          "executor": executor.name}
    return entries


def _decide_precision(steps: list[Step], options: RunOptions) -> dict[str, Any] | None:
    """Decide ``--precision`` once for the whole run, before the first step (the estimate and
    every IMDB training use this decision); print it. None when no selected step uses it (the
    other models train in fp32)."""
    if not any(s.runner is run_sentiment for s in steps):
        return None
    from mlsplab.runtime import decide_precision  # torch: not for `reproduce --help`

    used = decide_precision(options)
    print(f"precision of the IMDB models: {used.name} ({used.reason})")
    return {"requested": options.precision, "name": used.name, "reason": used.reason,
            "evidence": used.evidence}


def reproduce(options: RunOptions, *, only: str | None = None, time_budget: float | None = None,
              estimate: bool = True) -> dict[str, Any]:
    """Run the selected steps, write ``<out>/reproduce/timings.json`` and the report."""
    from mlsplab.report.build import build_report
    from mlsplab.runtime import cpu_name

    out = options.out
    steps = select_steps(only)
    budget_end = budget_deadline(time_budget)
    # fails early and clearly if --out is not writable; no lock: calls with disjoint --only may
    # share a results folder (each experiment folder is locked by the step that writes it)
    writable_dir(out / "reproduce")
    timed = [s.key for s in steps if s.estimate is not None]
    executor = options.executor or SerialExecutor()
    print(f"mlsplab reproduce: {len(steps)} step(s) into {out} on {cpu_name()}, executor "
          f"{executor.name}" + (" [QUICK MODE: not the assignment's settings]"
                                if options.quick else ""))
    precision = _decide_precision(steps, options)
    parallel = executor.name != "serial"
    # side by side, a step runs in a task of one thread: estimated at one thread
    one_thread = {s.key for g in _groups(steps, parallel) if len(g) > 1 for s in g}
    estimates = (_estimates(steps, options, one_thread) if estimate and not options.quick
                 else {})
    workers = available_cores() if parallel else 1
    print("plan:")
    for i, step in enumerate(steps, 1):
        est = estimates.get(step.key)
        note = f"~{format_duration(est)} if nothing is cached" if est else ""
        print(f"  {i}. {step.key}: {step.title} ({', '.join(step.ids)}) {note}")

    timings: dict[str, Any] = {"cpu": cpu_name(), "quick": options.quick,
                               "executor": executor.name, "precision": precision,
                               "experiments": {}}
    failures: list[str] = []
    t_start = time.monotonic()
    done = 0
    try:
        groups = _groups(steps, parallel, estimates=estimates)
        for i, group in enumerate(groups):
            left = _eta(groups[i:], estimates, workers)
            print(f"[{done + 1}/{len(steps)}] {', '.join(s.key for s in group)}: elapsed "
                  f"{format_duration(time.monotonic() - t_start)}"
                  + (f", ETA {format_duration(left)}" if left else ""), flush=True)
            t0 = time.monotonic()
            before = {s.key: _metrics_mtimes(out, s) for s in group}

            try:
                timings["experiments"].update(
                    _run_group(group, options, budget_end, timed, before))
            except MlsplabError as e:
                failures.append(f"{', '.join(s.key for s in group)}: {e}")
                log.error("%s failed: %s", ", ".join(s.key for s in group), e)
                timings["experiments"].update(_ended_entries(
                    group, out, before, t0, executor.name, f"failed: {e}"))
            except (StopRequested, KeyboardInterrupt) as e:
                how = e.signal_name if isinstance(e, StopRequested) else "SIGINT"
                timings["experiments"].update(_ended_entries(
                    group, out, before, t0, executor.name, f"stopped by {how}",
                    never=getattr(e, "not_started", ())))
                raise
            done += len(group)
    finally:
        close = getattr(executor, "close", None)
        if close is not None:
            close()
        timings["total_seconds"] = time.monotonic() - t_start
        timings = merge_timings(out / "reproduce" / "timings.json", timings)
        atomic_write_json(out / "reproduce" / "timings.json", timings)
    # a stopped run ends here (the CLI prints what was saved and how to resume)
    try:
        paths = build_report(out)
        print(f"report: {paths['html']}\n        {paths['pdf']}")
    except MlsplabError as e:
        log.error("report not written: %s", e)
    print("\nwhere the time went:")
    for key, t in timings["experiments"].items():
        print(f"  {key:<16} {format_duration(t['seconds']):>8}  {t['status'][:100]}")
    print(f"  {'total':<16} {format_duration(timings['total_seconds']):>8}")
    if failures:
        print(f"\n{count(len(failures), 'step')} failed:")
        for failure in failures:
            print(f"  {failure}")
        raise MlsplabError(f"{count(len(failures), 'step')} failed (listed above); fix the "
                           "cause and run the same command again: finished steps are reused")
    return timings


def glossary() -> str:
    """What each name ``--only`` accepts runs, and the result folders it writes."""
    width = max(len(s.key) for s in STEPS)
    lines = ["experiments (--only takes a name of the first column, an alias or a result id):"]
    for s in STEPS:
        beyond = " [beyond the assignment]" if s.beyond else ""
        lines.append(textwrap.fill(f"{s.key:<{width}}  {s.title}{beyond} -> {', '.join(s.ids)}",
                                   width=90, initial_indent="  ", break_on_hyphens=False,
                                   subsequent_indent=" " * (width + 4)))
    lines.append(textwrap.fill(
        "aliases: " + "; ".join(f"{a} = {','.join(keys)}" for a, keys in ALIASES.items()), 90))
    lines.append(textwrap.fill(
        "A result id (the folder <out>/<id>/) names the question and part, then what was "
        "trained: q1b-lstm-avg is Q1(b)'s LSTM with average pooling, q1-tfidf-baseline the "
        "TF-IDF baseline of step q1-baseline, q3a-rmsprop-lr1e-3 RMSprop at step size 1e-3; an "
        "x (q3x-*) marks work beyond the assignment.", 90))
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``mlsplab reproduce``."""
    add_out(parser, what="each experiment writes <out>/<id>/, the report <out>/report/")
    add_data_dir(parser)
    parser.add_argument("--only", type=str, default=None, metavar="NAMES",
                        help="comma-separated experiments to run (see the list below); none "
                             "given: all of them")
    add_quick(parser, what="small subsets and few epochs; every report page says QUICK MODE")
    add_seed(parser, drives="data splits, initialisation and batch order")
    add_seeds(parser, flag="--esc10-seeds", of="ESC-10 configuration (Q3)",
              default="3; 1 with --quick")
    add_alias(parser, "--seeds", "--esc10-seeds", "esc10_seeds", type=positive_int)
    add_seeds(parser, flag="--imdb-seeds", of="IMDB model (Q1(b-d))", default="1")
    parser.add_argument("--epochs", type=positive_int, default=None, metavar="N",
                        help="epochs of the IMDB models; none given: the assignment's 25 "
                             "(another number is printed on the report's first page)")
    parser.add_argument("--max-tokens", type=positive_int, default=None, metavar="N",
                        help="cut IMDB reviews to N tokens; none given: the default cap "
                             "(another number is printed on the report's first page)")
    add_device(parser)
    add_precision(parser, applies_to="the IMDB models (Q1(b-d)); the others train in fp32")
    parser.add_argument("--pretrained", type=Path, default=None, metavar="FILE",
                        help="word vectors to load (word2vec/GloVe/fastText/.kv) instead of "
                             "pretraining word2vec")
    parser.add_argument("--time-budget", type=float, default=None, metavar="HOURS",
                        help="hours of IMDB training in all, shared by the sentiment models; "
                             "training stops cleanly at its share (checkpointed, the report "
                             "states the epochs reached; rerun to continue)")
    add_executor(parser)
    parser.add_argument("--no-estimate", action="store_true",
                        help="skip the short timing probe that estimates the full run")
    parser.epilog = examples(
        ("mlsplab reproduce", "everything at the assignment's settings (hours)"),
        ("mlsplab reproduce --quick --out runs-quick", "smoke run of every step (minutes)"),
        ("mlsplab reproduce --only q3,q3x-cv", "the ESC-10 experiments only"),
        ("mlsplab reproduce --only q1 --epochs 2", "the IMDB experiments, 2 epochs each"),
        ("mlsplab reproduce --time-budget 2", "2 hours of IMDB training; rerun to continue"),
    ) + "\n\n" + glossary()


def main(args: argparse.Namespace) -> int:
    if args.address and args.executor != "ray":
        raise MlsplabError("--address is for --executor ray; add --executor ray or drop it")
    reproduce(options_from_args(args), only=args.only, time_budget=args.time_budget,
              estimate=not args.no_estimate)
    return 0
