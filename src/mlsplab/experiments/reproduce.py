"""``mlsplab reproduce``: run every experiment of the assignment, then write the report.

Each step skips itself when ``<out>/<id>/metrics.json`` already holds a finished run with the
same configuration, and resumes an interrupted training from its checkpoint, so the command can
be killed at any point and started again. A step that fails is recorded and the others still
run; the report is rebuilt at the end (also after Ctrl-C) from whatever results exist.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlsplab.durations import format_duration
from mlsplab.errors import MlsplabError
from mlsplab.experiments.common import DEFAULT_OUT, budget_deadline, experiment_dir
from mlsplab.io import atomic_write_json, read_json

log = logging.getLogger(__name__)

SENTIMENT_MODELS = {"q1b": "lstm-avg", "q1c": "lstm-attention", "q1d": "transformer"}


@dataclass(frozen=True)
class Step:
    """One experiment (or group of experiments) of the assignment."""

    key: str  # short name accepted by --only
    ids: tuple[str, ...]  # the result folders it writes
    run: Callable[[argparse.Namespace], Any]
    estimate: Callable[[argparse.Namespace], float | None] | None = None


def _module(name: str) -> Any:
    return importlib.import_module(f"mlsplab.experiments.{name}")


def _run_embeddings(a: argparse.Namespace) -> Any:
    return _module("q1a_embeddings").run(a.out, data_dir=a.data_dir, seed=a.seed, quick=a.quick,
                                         pretrained=a.pretrained)


def _sentiment_step(key: str) -> Step:
    model = SENTIMENT_MODELS[key]

    def run(a: argparse.Namespace) -> Any:
        return _module("q1_sentiment").run(
            model, a.out, data_dir=a.data_dir, seed=a.seed, quick=a.quick, epochs=a.epochs,
            max_tokens=a.max_tokens, device=a.device, precision=a.precision,
            deadline=_sentiment_deadline(a, key))

    def estimate(a: argparse.Namespace) -> float | None:
        return _module("q1_sentiment").estimate_seconds(
            model, data_dir=a.data_dir, epochs=a.epochs or 25, max_tokens=a.max_tokens,
            device=a.device)

    exp_id = {"q1b": "q1b-lstm-avg", "q1c": "q1c-lstm-attention", "q1d": "q1d-transformer"}[key]
    return Step(key, (exp_id,), run, estimate)


def _sentiment_deadline(a: argparse.Namespace, key: str) -> float | None:
    """This model's share of ``--time-budget``: what is left, split equally among the
    sentiment models still to run (a model that finishes early leaves its time to the next)."""
    if a.budget_end is None:
        return None
    later = a.sentiment_keys[a.sentiment_keys.index(key):]
    return time.time() + max(a.budget_end - time.time(), 0.0) / max(len(later), 1)


def _run_comparison(a: argparse.Namespace) -> Any:
    return _module("q1_sentiment").compare(a.out)


def _run_tdnn(a: argparse.Namespace) -> Any:
    return _module("q2_tdnn").run(a.out, seed=a.seed, quick=a.quick)


def _run_esc10(a: argparse.Namespace) -> Any:
    return _module("q3_esc10").run(a.out, data_dir=a.data_dir, seeds=a.seeds, quick=a.quick,
                                   beyond=True)


def _run_conv_dense(a: argparse.Namespace) -> Any:
    return _module("q4_conv_dense").run(a.out, seed=a.seed, quick=a.quick)


STEPS: tuple[Step, ...] = (
    Step("q1a", ("q1a-embeddings",), _run_embeddings),
    _sentiment_step("q1b"),
    _sentiment_step("q1c"),
    _sentiment_step("q1d"),
    Step("q1-comparison", ("q1-comparison",), _run_comparison),
    Step("q2", ("q2-tdnn",), _run_tdnn),
    Step("q3", ("q3a-sgd", "q3a-sgd-momentum", "q3a-rmsprop", "q3a-adam", "q3b-none",
                "q3b-layernorm", "q3b-batchnorm", "q3c-ensemble",
                # beyond the assignment: augmentation and ensembles with it (issue's targets)
                "q3x-augmented", "q3x-ensemble"), _run_esc10),
    Step("q4", ("q4-conv-dense",), _run_conv_dense),
)
# --only also accepts the parts of Q3 and full ids; they select the step that produces them.
ALIASES = {"q3a": "q3", "q3b": "q3", "q3c": "q3", "q3x": "q3"}


def select_steps(only: str | None) -> list[Step]:
    """The steps named by ``--only`` (short names like ``q1b`` or ids like ``q1b-lstm-avg``)."""
    if not only:
        return list(STEPS)
    by_name: dict[str, Step] = {}
    for step in STEPS:
        by_name[step.key] = step
        for exp_id in step.ids:
            by_name[exp_id] = step
    for alias, key in ALIASES.items():
        by_name[alias] = by_name[key]
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    unknown = [w for w in wanted if w not in by_name]
    if unknown:
        names = ", ".join(s.key for s in STEPS)
        raise MlsplabError(f"--only: unknown experiment(s) {unknown}; expected any of: {names} "
                           "(or q3a, q3b, q3c, q3x, or full ids such as q1b-lstm-avg)")
    chosen = {by_name[w].key for w in wanted}
    return [s for s in STEPS if s.key in chosen]


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


def reproduce(args: argparse.Namespace) -> dict[str, Any]:
    """Run the selected steps, write ``<out>/reproduce/timings.json`` and the report."""
    from mlsplab.report.build import build_report
    from mlsplab.runtime import cpu_name

    out = Path(args.out)
    experiment_dir(out, "reproduce")  # fails early and clearly if --out is not writable
    steps = select_steps(args.only)
    print(f"mlsplab reproduce: {len(steps)} step(s) into {out} on {cpu_name()}"
          + (" [QUICK MODE: not the assignment's settings]" if args.quick else ""))

    estimates: dict[str, float | None] = {}
    if not args.quick and not args.no_estimate:
        for step in steps:
            if step.estimate is not None:
                try:
                    estimates[step.key] = step.estimate(args)
                except MlsplabError as e:
                    log.warning("no estimate for %s: %s", step.key, e)
    print("plan:")
    for i, step in enumerate(steps, 1):
        est = estimates.get(step.key)
        note = f"~{format_duration(est)} if nothing is cached" if est else ""
        print(f"  {i}. {', '.join(step.ids)} {note}")

    timings: dict[str, Any] = {"cpu": cpu_name(), "quick": args.quick, "experiments": {}}
    failures: list[str] = []
    t_start = time.monotonic()
    try:
        for i, step in enumerate(steps, 1):
            remaining = sum(v or 0 for k, v in estimates.items()
                            if k in [s.key for s in steps[i - 1:]])
            print(f"[{i}/{len(steps)}] {step.key}: elapsed "
                  f"{format_duration(time.monotonic() - t_start)}"
                  + (f", ETA {format_duration(remaining)}" if remaining else ""), flush=True)
            before = _metrics_mtimes(out, step)
            t0 = time.monotonic()
            try:
                step.run(args)
                after = _metrics_mtimes(out, step)
                status = "reused" if after and after == before else "done"
            except MlsplabError as e:
                status = f"failed: {e}"
                failures.append(f"{step.key}: {e}")
                log.error("%s failed: %s", step.key, e)
            except KeyboardInterrupt:
                timings["experiments"][step.key] = {
                    "status": "interrupted", "seconds": time.monotonic() - t0}
                raise
            timings["experiments"][step.key] = {"status": status,
                                                "seconds": time.monotonic() - t0}
    finally:
        timings["total_seconds"] = time.monotonic() - t_start
        timings = merge_timings(out / "reproduce" / "timings.json", timings)
        atomic_write_json(out / "reproduce" / "timings.json", timings)
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
        raise MlsplabError(f"{len(failures)} step(s) failed: " + "; ".join(failures))
    return timings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path(DEFAULT_OUT),
                        help="results folder; the report goes to <out>/report/")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder with the data files (default: $MLSPLAB_DATA_DIR, "
                             "../shared/data beside the repo, ~/.cache/mlsplab)")
    parser.add_argument("--only", type=str, default=None,
                        help="comma-separated subset: " + ",".join(s.key for s in STEPS))
    parser.add_argument("--seed", type=int, default=0, help="seed for splits, init and batches")
    parser.add_argument("--seeds", type=int, default=3,
                        help="number of seeds for each ESC-10 configuration")
    parser.add_argument("--quick", action="store_true",
                        help="small subsets and few epochs (minutes); marks every page "
                             "QUICK MODE")
    parser.add_argument("--epochs", type=int, default=None,
                        help="override the 25 epochs of the IMDB models (a stated deviation)")
    parser.add_argument("--max-tokens", type=int, default=None,
                        help="override the IMDB review length cap in tokens (a stated "
                             "deviation)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                        help="auto: bf16 only where a probe shows it works and is faster")
    parser.add_argument("--pretrained", type=Path, default=None,
                        help="word vectors to load (word2vec/GloVe/fastText/.kv) instead of "
                             "pretraining word2vec")
    parser.add_argument("--time-budget", type=float, default=None, metavar="HOURS",
                        help="hours of IMDB training in all, shared by the sentiment models; "
                             "training stops cleanly at its share (checkpointed, the report "
                             "states the epochs reached; rerun to continue)")
    parser.add_argument("--no-estimate", action="store_true",
                        help="skip the short timing probe that estimates the full run")


def main(args: argparse.Namespace) -> int:
    if args.epochs is not None and args.epochs < 1:
        raise MlsplabError(f"--epochs={args.epochs} must be >= 1")
    if args.max_tokens is not None and args.max_tokens < 1:
        raise MlsplabError(f"--max-tokens={args.max_tokens} must be >= 1")
    if args.seeds < 1:
        raise MlsplabError(f"--seeds={args.seeds} must be >= 1")
    args.budget_end = budget_deadline(args.time_budget)
    args.sentiment_keys = [s.key for s in select_steps(args.only) if s.key in SENTIMENT_MODELS]
    reproduce(args)
    return 0
