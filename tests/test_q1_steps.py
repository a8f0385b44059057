"""The other Q1 steps on synthetic data: TF-IDF baseline, comparison, estimate, the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import test_q1_train

from mlsplab import cli
from mlsplab.errors import MlsplabError
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1 import baseline, compare, estimate, posteriors
from mlsplab.experiments.q1.config import BASELINE_C_GRID

pytestmark = pytest.mark.usefixtures("one_thread")
data_dir = test_q1_train.data_dir  # the fixture: synthetic IMDB zip with planted twins
TWINS = test_q1_train.TWINS


def test_baseline_chooses_c_on_validation_and_reads_test_once(data_dir, tmp_path):
    m = baseline.run(RunOptions(out=tmp_path, data_dir=data_dir, quick=True))
    assert set(m["val_accuracy_by_c"]) == {str(c) for c in BASELINE_C_GRID}
    # C by the one-standard-error rule: the smallest C within one standard error of the best
    best = max(m["val_accuracy_by_c"].values())
    se = m["selection"]["standard_error"]
    assert se == pytest.approx((best * (1 - best) / 20) ** 0.5)
    within = [float(c) for c, a in m["val_accuracy_by_c"].items() if a >= best - se - 1e-12]
    assert m["chosen_c"] == min(within) and m["selection"]["rule"] == "one-standard-error"
    assert posteriors.has_posteriors(m) and len(m["test_posteriors"]) == 20
    assert 0.5 <= m["test_accuracy"] <= 1 and m["n_features"] > 10
    assert m["duplicate_audit"]["test_rows_with_train_twin"] == TWINS["test"]
    assert m["n_test_no_train_twin"] == 20 - TWINS["test"]
    assert len(m["test_correct"]) == 20 and m["wall_seconds"] > 0
    assert sum(m["length_buckets"]["n"]) == 20
    mtime = (tmp_path / "q1-tfidf-baseline" / "metrics.json").stat().st_mtime_ns
    baseline.run(RunOptions(out=tmp_path, data_dir=data_dir, quick=True))  # finished: skipped
    assert (tmp_path / "q1-tfidf-baseline" / "metrics.json").stat().st_mtime_ns == mtime


def test_sentiment_cli_then_comparison(data_dir, tmp_path, capsys):
    code = cli.main(["sentiment", "--model", "lstm-avg", "--quick", "--epochs", "1", "--out",
                     str(tmp_path), "--data-dir", str(data_dir), "--precision", "fp32",
                     "--no-progress", "--comparison"])
    text = capsys.readouterr().out
    assert code == 0 and "q1b-lstm-avg: test accuracy" in text and "results:" in text
    c = compare.run(RunOptions(out=tmp_path))
    assert [r["experiment"] for r in c["models"]] == ["q1b-lstm-avg"]
    assert "q1d-transformer" in c["missing"] and "summary" not in c
    baseline.run(RunOptions(out=tmp_path, data_dir=data_dir, quick=True))
    c = compare.run(RunOptions(out=tmp_path))
    (p,) = c["pairs"]
    assert (p["a"], p["b"]) == ("q1b-lstm-avg", "q1-tfidf-baseline")
    assert p["paired_seeds"] == [0] and "mcnemar" in p
    assert p["mcnemar"]["a_only_correct"] + p["mcnemar"]["b_only_correct"] <= 20


def test_comparison_without_results(tmp_path):
    with pytest.raises(MlsplabError, match="no finished Q1"):
        compare.run(RunOptions(out=tmp_path))


def test_estimate_is_positive_and_scales_with_epochs_and_seeds(data_dir):
    one = estimate.estimate_seconds(RunOptions(data_dir=data_dir, epochs=1, precision="fp32"),
                                    model="lstm-avg", probe_seconds=0.1)
    six = estimate.estimate_seconds(RunOptions(data_dir=data_dir, epochs=3, imdb_seeds=2,
                                               precision="fp32"), model="lstm-avg",
                                    probe_seconds=0.1)
    assert 0 < one < six
    with pytest.raises(MlsplabError, match="not a sentiment model"):
        estimate.estimate_seconds(RunOptions(data_dir=data_dir), model="cnn")


def test_steps_cost_a_fixed_part_per_batch_and_a_part_per_position():
    # 100 reviews in batches of 32: 4 batches (the last one short); 2,000 tokens in all, so
    # 62.5 positions per batch on average
    assert estimate.steps_seconds(100, 2000, 32, fixed=0.5, per_position=0.01) == pytest.approx(
        4 * 0.5 + 0.01 * 2000 / 32)
    # a cost per position only: the same whether the tokens come in few long or many short
    # reviews
    assert estimate.steps_seconds(10, 3200, 32, 0.0, 0.01) == pytest.approx(
        estimate.steps_seconds(320, 3200, 32, 0.0, 0.01))


def test_registry_holds_the_q1_runners_and_configs():
    from mlsplab.experiments import entrypoints
    from mlsplab.experiments.registry import STEPS

    for s in STEPS:
        if s.runner is entrypoints.run_sentiment:
            cfg = s.config.from_options(RunOptions(out=Path("x")), **s.params)
            assert cfg is not None
            assert s.estimate is entrypoints.estimate_sentiment
