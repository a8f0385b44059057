"""Step q1-comparison: the measurements that compare the Q1 models (no prose).

For every pair of finished results among the three models and the TF-IDF baseline: the
difference of mean test accuracies, the spread over seeds beside it, per-seed paired
differences (same seed = same split and test set), and McNemar's exact test on the reviews
that one model gets right and the other wrong (first common seed). Also copies the per-batch
timings of ``mlsplab bench sentiment`` when ``<out>/bench-sentiment`` exists: the only timings
of the three models taken under the same conditions.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from mlsplab.errors import MlsplabError
from mlsplab.experiments.common import experiment_dir, finished_metrics, write_metrics
from mlsplab.experiments.ids import BENCH_SENTIMENT
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1.config import BASELINE_ID, COMPARISON_ID, MODEL_IDS
from mlsplab.io import read_json


def _load(out: Path, exp_id: str) -> dict[str, Any] | None:
    path = out / exp_id / "metrics.json"
    if not path.exists():
        return None
    try:
        m = read_json(path)
    except MlsplabError:
        return None
    return m if m.get("test_accuracy") is not None else None


def _per_seed(m: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """seed -> {test_accuracy, test_correct, n_test} of a model's or the baseline's result."""
    if "per_seed" in m:
        return {p["seed"]: p for p in m["per_seed"] if p.get("test_accuracy") is not None}
    seed = m.get("config", {}).get("seed", 0)  # the baseline: one seed
    return {seed: {"test_accuracy": m["test_accuracy"], "test_correct": m.get("test_correct")}}


def mcnemar(correct_a: str, correct_b: str) -> dict[str, Any]:
    """McNemar's exact test from two per-review correctness strings of one test set."""
    from scipy.stats import binomtest

    a_only = sum(1 for x, y in zip(correct_a, correct_b) if x == "1" and y == "0")
    b_only = sum(1 for x, y in zip(correct_a, correct_b) if x == "0" and y == "1")
    n = a_only + b_only
    p = binomtest(a_only, n, 0.5).pvalue if n else 1.0
    return {"a_only_correct": a_only, "b_only_correct": b_only, "p_value": float(p)}


def pair(a_id: str, a: dict[str, Any], b_id: str, b: dict[str, Any]) -> dict[str, Any]:
    """How the test accuracies of ``a`` and ``b`` differ, against their spread over seeds."""
    sa, sb = _per_seed(a), _per_seed(b)
    common = sorted(set(sa) & set(sb))
    stds = [x for x in (a.get("test_accuracy_std"), b.get("test_accuracy_std")) if x is not None]
    doc: dict[str, Any] = {
        "a": a_id, "b": b_id, "difference": a["test_accuracy"] - b["test_accuracy"],
        "n_seeds": [len(sa), len(sb)], "largest_std": max(stds) if stds else None,
        "paired_seeds": common,
        "paired_differences": [sa[s]["test_accuracy"] - sb[s]["test_accuracy"] for s in common],
    }
    same_test = [s for s in common if sa[s].get("test_correct") and sb[s].get("test_correct")
                 and len(sa[s]["test_correct"]) == len(sb[s]["test_correct"])]
    if same_test:
        s = same_test[0]
        doc["mcnemar"] = {"seed": s, **mcnemar(sa[s]["test_correct"], sb[s]["test_correct"])}
    return doc


def run(options: RunOptions) -> dict[str, Any]:
    """Write ``<out>/q1-comparison/metrics.json`` from whatever Q1 results are finished.

    Raises
    ------
    MlsplabError
        If none of the three models has a result with a test accuracy.
    """
    out = Path(options.out)
    found = {i: m for i in (*MODEL_IDS.values(), BASELINE_ID) if (m := _load(out, i))}
    if not any(i in found for i in MODEL_IDS.values()):
        raise MlsplabError(f"no finished Q1(b-d) results under {out}; run `mlsplab sentiment "
                           f"--model lstm-avg --out {out}` (or `mlsplab reproduce --only q1b`) "
                           "first")
    # a resumed run keeps its config hash but gains epochs: both identify the input
    inputs = {i: [m.get("config_hash"), m.get("epochs_completed"), m.get("complete", True)]
              for i, m in found.items()}
    bench = _load_bench(out)
    config = {"inputs": inputs, "bench": None if bench is None else bench.get("config_hash")}
    exp_dir = experiment_dir(out, COMPARISON_ID)
    if (done := finished_metrics(exp_dir, config)) is not None:
        return done
    models = [{
        "experiment": i, "model": m.get("model", "tfidf-logistic-regression"),
        "test_accuracy": m["test_accuracy"], "test_accuracy_std": m.get("test_accuracy_std"),
        "test_accuracy_values": m.get("test_accuracy_values", [m["test_accuracy"]]),
        "test_accuracy_no_train_twin": m.get("test_accuracy_no_train_twin"),
        "n_parameters": m.get("n_parameters"), "seconds_per_epoch": m.get("seconds_per_epoch"),
        "epochs_completed": m.get("epochs_completed"), "complete": m.get("complete", True),
        "best_epoch": m.get("best_epoch"), "precision": m.get("precision"),
        "wall_seconds": m.get("wall_seconds"),
    } for i, m in found.items()]
    pairs = [pair(a, found[a], b, found[b]) for a, b in itertools.combinations(found, 2)]
    metrics = {"models": models, "pairs": pairs,
               "missing": [i for i in (*MODEL_IDS.values(), BASELINE_ID) if i not in found],
               "bench": None if bench is None else {
                   k: bench.get(k) for k in ("rows", "device", "cpu", "threads", "precision",
                                             "matmul_gflops", "n_batches_timed")}}
    write_metrics(exp_dir, COMPARISON_ID, config, metrics)
    return read_json(exp_dir / "metrics.json")


def _load_bench(out: Path) -> dict[str, Any] | None:
    path = out / BENCH_SENTIMENT / "metrics.json"
    try:
        return read_json(path) if path.exists() else None
    except MlsplabError:
        return None
