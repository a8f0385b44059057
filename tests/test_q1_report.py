"""Q1(b-d) report sections built from synthetic metrics (no training): the answers' sentences,
figures, status and deviations, and missing results."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mlsplab.experiments.q1 import phrases as ph
from mlsplab.experiments.q1.compare import mcnemar, pair
from mlsplab.experiments.q1.config import model_sizes
from mlsplab.experiments.q1.summary import part_report
from mlsplab.report.document import Figure, Paragraph, Table

CURVE = [  # epoch, train (train mode), train (eval mode), val loss, val acc
    (1, 0.45, 0.33, 0.31, 0.870), (2, 0.30, 0.25, 0.27, 0.890), (3, 0.25, 0.20, 0.25, 0.900),
    (4, 0.20, 0.15, 0.26, 0.905), (5, 0.15, 0.10, 0.29, 0.900), (6, 0.10, 0.06, 0.33, 0.895)]


def history(shift: float = 0.0) -> list[dict[str, float]]:
    return [{"epoch": e, "train_loss": a + shift, "train_eval_loss": b + shift,
             "val_loss": c + shift, "val_accuracy": d, "seconds": 100.0,
             "train_eval_seconds": 4.0, "val_seconds": 4.0} for e, a, b, c, d in CURVE]


def fake_model(exp_id: str, accs: list[float], *, model: str) -> dict[str, Any]:
    n = len(accs)
    mean = sum(accs) / n
    std = (sum((a - mean) ** 2 for a in accs) / (n - 1)) ** 0.5 if n > 1 else None
    correct = ["1" * int(2000 * a) + "0" * (2000 - int(2000 * a)) for a in accs]
    words = ["this", "was", "a", "great", "film", "and", "i", "loved", "it"]
    weights = [0.05, 0.05, 0.02, 0.4, 0.08, 0.05, 0.05, 0.25, 0.05]
    m: dict[str, Any] = {
        "experiment": exp_id, "config_hash": "abc", "model": model,
        "config": {"quick": False, "epochs": 25, "lr": 3e-4 if model == "transformer" else 1e-3,
                   "grad_clip": 1.0, "batch_size": 32, "max_tokens": 400, "seeds": list(range(n))},
        "model_config": model_sizes(model), "n_parameters": 900_000,
        "complete": False, "epochs_planned": 25, "epochs_completed": 6, "best_epoch": 3,
        "history": history(), "histories": [history() for _ in accs], "seeds": list(range(n)),
        "test_accuracy": mean, "test_accuracy_std": std, "test_accuracy_values": accs,
        "test_accuracy_last": mean - 0.004, "test_accuracy_no_train_twin": mean - 0.001,
        "n_test_no_train_twin": 4926, "duplicate_audit": {
            "test_rows_with_train_twin": 74, "val_rows_with_train_twin": 55,
            "rows": {"train": 40000, "val": 5000, "test": 5000}},
        "per_seed": [{"seed": s, "test_accuracy": a, "test_correct": c, "where": "host",
                      "epochs_completed": 6, "best_epoch": 3}
                     for s, (a, c) in enumerate(zip(accs, correct))],
        "lengths": {"fraction_reviews_truncated": 0.129, "fraction_tokens_dropped": 0.04},
        "word_vectors": {"source": "word2vec trained on 48887 unlabelled IMDB reviews"},
        "seconds_per_epoch": 100.0, "train_eval_seconds_per_epoch": 4.0,
        "train_eval_reviews": 5000, "precision": "bf16", "threads": 2,
        "length_buckets": {"edges": [10, 120, 170, 280, 2400], "n": [1250] * 4,
                           "accuracy": [mean + 0.02, mean, mean - 0.01, mean - 0.03],
                           "truncated_fraction": [0, 0, 0, 0.5]},
    }
    if model == "lstm-attention":
        m["attention"] = {
            "n_reviews": 5000, "entropy_mean": 3.9, "uniform_entropy_mean": 5.1,
            "entropy_ratio_mean": 0.76, "top_fraction": 0.05, "top_mass_mean": 0.31,
            "top_mass_uniform_mean": 0.052, "max_weight_ratio_mean": 14.2, "position_bins": 10,
            "position_ratio": [0.8, 0.9, 1, 1, 1, 1, 1, 1, 1.1, 1.4], "position_reviews": 4990,
            "min_count": 20, "top_words": [{"word": "7", "weight_ratio": 9.5, "count": 40},
                                           {"word": "worst", "weight_ratio": 8.0, "count": 300}],
            "bottom_words": [{"word": "the", "weight_ratio": 0.3, "count": 60000}]}
        m["attention_examples"] = [{"row": 12, "label": 1, "p_positive": 0.97, "words": words,
                                    "weights": weights}]
    return m


@pytest.fixture
def results() -> dict[str, dict[str, Any]]:
    r = {"q1b-lstm-avg": fake_model("q1b-lstm-avg", [0.905, 0.900, 0.908], model="lstm-avg"),
         "q1c-lstm-attention": fake_model("q1c-lstm-attention", [0.915, 0.917, 0.913],
                                          model="lstm-attention"),
         "q1d-transformer": fake_model("q1d-transformer", [0.886], model="transformer"),
         "q1-tfidf-baseline": {"test_accuracy": 0.897, "chosen_c": 4.0, "sizes": {"test": 5000},
                               "val_accuracy_by_c": {"0.25": 0.88, "1.0": 0.89, "4.0": 0.90},
                               "wall_seconds": 150.0, "test_correct": "1" * 1794 + "0" * 206,
                               "config": {"seed": 0}}}
    ids = list(r)
    r["q1-comparison"] = {"pairs": [pair(a, r[a], b, r[b]) for i, a in enumerate(ids)
                                    for b in ids[i + 1:]]}
    return r


def text_of(report) -> str:
    return " ".join(b.text for b in report.answer if isinstance(b, Paragraph))


def test_b_answers_with_curves_gap_twins_and_baseline(results, tmp_path):
    r = part_report("q1b", results, tmp_path, tmp_path / "fig")
    t = text_of(r)
    assert "90.43 \u00b1 0.40 %" in t and "3 seeds" in t
    assert "lowest at epoch 3 of 6" in t and "overfitting after epoch 3" in t
    assert "eval-mode training loss (end of epoch, 5,000-review subset) fell from 0.200 to 0.060" \
        in t and "validation loss rose from 0.250 to 0.330" in t
    assert "validation loss was 0.270 above the eval-mode training loss" in t
    assert "74 of the 5,000 test reviews and 55 of the 5,000 validation" in t
    assert "TF-IDF" in t and "C = 4" in t
    assert "4.0 s per epoch, 4.0 % of the 100 s" in t  # the cost of the eval-mode training loss
    assert r.status == "partial: 6 of 25 epochs" and r.overview.startswith("LSTM + average")
    assert any("first 400 tokens" in d for d in r.deviations)
    figs = [b for b in r.evidence if isinstance(b, Figure)]
    assert figs and all(f.path.suffix == ".svg" and f.path.is_file() for f in figs)
    assert r.settings and r.appendix


def test_no_signed_gap_phrasing_and_no_targets(results, tmp_path):
    results["q1b-lstm-avg"]["history"][-1]["val_loss"] = 0.01  # validation below training
    for part in ("q1b", "q1c", "q1d"):
        t = text_of(part_report(part, results, tmp_path, tmp_path / "fig"))
        assert not re.search(r"exceeded .* by [+-]", t) and "by -" not in t
        assert "target" not in t.lower()
    t = text_of(part_report("q1b", results, tmp_path, tmp_path / "fig"))
    assert "validation loss was 0.050 below the eval-mode training loss" in t


def test_c_compares_performance_and_behaviour(results, tmp_path):
    r = part_report("q1c", results, tmp_path, tmp_path / "fig")
    t = text_of(r)
    assert "Against LSTM + average pooling (90.43 \u00b1 0.40 %): +1.07 points" in t
    assert "larger than the larger standard deviation" in t and "all 3 paired seeds" in t
    assert "3.90 nats, against 5.10 nats" in t and "31.0 %" in t and "5.2 %" in t
    assert "last tenth (1.40 times uniform)" in t and "first tenth (0.80)" in t
    assert "\u201cworst\u201d (8.0\u00d7)" in t and "\u201cthe\u201d (0.30\u00d7)" in t
    assert "review 12 (positive, p(positive) 0.97): \u201cgreat\u201d (3.6\u00d7)" in t
    # body: the curves and the table of both poolings; the heatmaps open the appendix (answer)
    assert sum(isinstance(b, Figure) for b in r.evidence) == 1
    assert any(isinstance(b, Table) and "attention pooling (c)" in b.header for b in r.evidence)
    assert sum(isinstance(b, Figure) for b in r.answer) == 1  # the attention heatmaps
    assert sum(isinstance(b, Figure) for b in r.appendix) == 1  # the position profile
    assert "0.6 points" not in r.conclusion and "1.1 points above average pooling" in \
        r.conclusion
    assert any(isinstance(b, Table) and "most weighted" in b.header for b in r.appendix)


def test_d_states_its_configuration_and_length_evidence(results, tmp_path):
    r = part_report("q1d", results, tmp_path, tmp_path / "fig")
    t = text_of(r)
    for fragment in ("d_model 256", "Linear 100\u2192256", "4 attention heads of 64",
                     "width 1024", "dropout 0.1 on the word + position sum",
                     "learning rate 0.0003"):
        assert fragment in t, fragment
    assert "Against LSTM + attention pooling" in t and "standard deviation over seeds" in t
    assert "shortest quarter (10\u2013120 tokens)" in t and "50 % of them cut" in t
    assert "not timed under the same conditions" in t and "faster" not in t
    heads = [b.header for b in r.answer if isinstance(b, Table)]  # detail: the appendix
    assert heads and "without a training twin" in heads[0]
    body = [b.header for b in r.evidence if isinstance(b, Table)]
    assert body and "test accuracy" in body[0] and "parameters" in body[0]
    assert "256 hidden dimensions" in r.setup and "not searched" in r.setup


def test_d_reads_speed_from_the_same_conditions_benchmark(results, tmp_path):
    rows = [{"model": m, "mode": mode, "ms_per_batch": ms}
            for m, ms in (("lstm-avg", 175.2), ("lstm-attention", 185.0), ("transformer", 278.4))
            for mode in ("naive", "ours")]
    results["q1-comparison"]["bench"] = {"rows": rows, "precision": "bf16", "threads": 1,
                                         "n_batches_timed": 16}
    t = text_of(part_report("q1d", results, tmp_path, tmp_path / "fig"))
    assert ("Speed under the same conditions (`mlsplab bench sentiment`, bf16, 1 thread, 16 "
            "timed batches of 32): LSTM + average pooling 175 ms per batch, LSTM + attention "
            "pooling 185 ms per batch, the transformer 278 ms per batch.") in t
    assert "not timed under the same conditions" not in t


def test_missing_results_name_the_command(tmp_path):
    r = part_report("q1c", {}, tmp_path, tmp_path / "fig")
    assert r.status == "missing"
    assert "mlsplab reproduce --only q1c" in r.answer[0].text
    partial = {"q1d-transformer": {"history": [], "complete": False}}
    assert "no finished epoch" in part_report("q1d", partial, tmp_path, tmp_path).answer[0].text


def test_same_deviation_text_for_every_model(results, tmp_path):
    devs = [set(part_report(p, results, tmp_path, tmp_path / "fig").deviations)
            for p in ("q1b", "q1c", "q1d")]
    assert devs[0] & devs[1] & devs[2]


def test_one_seed_each_is_compared_by_mcnemar(results):
    a = fake_model("q1d-transformer", [0.886], model="transformer")
    b = fake_model("q1b-lstm-avg", [0.905], model="lstm-avg")
    comparison = {"pairs": [pair("q1b-lstm-avg", b, "q1d-transformer", a)]}
    s = ph.difference_sentence("q1d-transformer", a, "q1b-lstm-avg", b, comparison)
    assert s.startswith("Against LSTM + average pooling (90.50 %): -1.90 points.")
    assert "no spread over seeds" in s and "the transformer was right on 0" in s
    assert "LSTM + average pooling on 38" in s and "McNemar" in s


def test_mcnemar_and_phrases():
    assert mcnemar("1100", "1010") == {"a_only_correct": 1, "b_only_correct": 1,
                                       "p_value": 1.0}
    assert mcnemar("1" * 30, "0" * 30)["p_value"] < 1e-6
    assert ph.moved(0.3, 0.2, "x") == "x fell from 0.300 to 0.200"
    assert ph.moved(0.2, 0.3, "x") == "x rose from 0.200 to 0.300"
    assert ph.relation(0.2, 0.25) == "0.050 below" and ph.relation(0.3, 0.3) == "equal to"
    assert [ph.duration(x) for x in (4.04, 38, 570, 9000)] == ["4.0 s", "38 s", "9.5 min",
                                                                "2.5 h"]
    none = ph.twin_sentence({"duplicate_audit": {"test_rows_with_train_twin": 0,
                                                 "val_rows_with_train_twin": 0,
                                                 "rows": {"test": 500, "val": 500}}})
    assert none.startswith("Duplicate audit: none of the 500 test")
