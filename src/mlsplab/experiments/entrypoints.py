"""The functions the registry holds: each imports its heavy module when called, then calls it.

:mod:`mlsplab.experiments.registry` refers to these functions directly (no ``"module:attr"``
strings, no ``importlib``), and the registry must import nothing heavy, so that ``mlsplab
--help`` and ``reproduce --only`` stay instant: the import of torch, scikit-learn or matplotlib
waits until a step runs or a report section is built. Each function is two lines, the import
and the call, so that "go to definition" from the registry lands one hop from the real code.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlsplab.experiments.options import RunOptions
    from mlsplab.report.document import PartReport

Docs = dict[str, dict[str, Any]]


# --- runners: run(options, **step.params) writes <out>/<id>/metrics.json for each id of a step

def run_embeddings(options: RunOptions, **params: Any) -> Any:
    from mlsplab.experiments.q1a.run import run
    return run(options, **params)


def run_sentiment(options: RunOptions, **params: Any) -> Any:
    from mlsplab.experiments.q1.train import run
    return run(options, **params)


def run_baseline(options: RunOptions, **params: Any) -> Any:
    from mlsplab.experiments.q1.baseline import run
    return run(options, **params)


def run_nbsvm(options: RunOptions, **params: Any) -> Any:
    from mlsplab.experiments.q1.nbsvm import run
    return run(options, **params)


def run_q1_comparison(options: RunOptions, **params: Any) -> Any:
    from mlsplab.experiments.q1.compare import run
    return run(options, **params)


def run_q1_ensemble(options: RunOptions, **params: Any) -> Any:
    from mlsplab.experiments.q1.ensemble import run
    return run(options, **params)


def run_tdnn(options: RunOptions, **params: Any) -> Any:
    from mlsplab.experiments.q2.run import run
    return run(options, **params)


def run_esc10(options: RunOptions, **params: Any) -> Any:
    from mlsplab.experiments.q3.run import run
    return run(options, **params)


def run_esc10_cv(options: RunOptions, **params: Any) -> Any:
    from mlsplab.experiments.q3.cv import run
    return run(options, **params)


def run_esc10_deep_cv(options: RunOptions, **params: Any) -> Any:
    from mlsplab.experiments.q3.deep_cv import run
    return run(options, **params)


def run_conv_dense(options: RunOptions, **params: Any) -> Any:
    from mlsplab.experiments.q4.run import run
    return run(options, **params)


# --- estimates: (options, **step.params) -> seconds of a full run, or None

def estimate_sentiment(options: RunOptions, **params: Any) -> float | None:
    from mlsplab.experiments.q1.estimate import estimate_seconds
    return estimate_seconds(options, **params)


# --- report builders: part_report(part_key, results, out, fig_dir) -> PartReport

def report_q1a(part_key: str, results: Docs, out: Path, fig_dir: Path) -> PartReport:
    from mlsplab.experiments.q1a.summary import part_report
    return part_report(part_key, results, out, fig_dir)


def report_q1(part_key: str, results: Docs, out: Path, fig_dir: Path) -> PartReport:
    from mlsplab.experiments.q1.summary import part_report
    return part_report(part_key, results, out, fig_dir)


def report_q1_beyond(part_key: str, results: Docs, out: Path, fig_dir: Path) -> PartReport:
    from mlsplab.experiments.q1.summary_beyond import part_report
    return part_report(part_key, results, out, fig_dir)


def report_q2(part_key: str, results: Docs, out: Path, fig_dir: Path) -> PartReport:
    from mlsplab.experiments.q2.summary import part_report
    return part_report(part_key, results, out, fig_dir)


def report_q3(part_key: str, results: Docs, out: Path, fig_dir: Path) -> PartReport:
    from mlsplab.experiments.q3.summary import part_report
    return part_report(part_key, results, out, fig_dir)


def report_q3_deep(part_key: str, results: Docs, out: Path, fig_dir: Path) -> PartReport:
    from mlsplab.experiments.q3.deep_summary import part_report
    return part_report(part_key, results, out, fig_dir)


def report_q4(part_key: str, results: Docs, out: Path, fig_dir: Path) -> PartReport:
    from mlsplab.experiments.q4.summary import part_report
    return part_report(part_key, results, out, fig_dir)
