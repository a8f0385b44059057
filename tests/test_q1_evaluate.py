"""Q1 test-time measurements on hand-made inputs whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mlsplab.data.batching import N_SPECIAL, UNK_ID, Vocabulary
from mlsplab.experiments.q1 import evaluate as ev
from mlsplab.experiments.q1.config import model_sizes
from mlsplab.experiments.q1.data import SentimentData, audit_rows, train_eval_subset
from mlsplab.experiments.q1.train import build_model
from mlsplab.runtime import Precision

WORDS = ["good", "bad", "the", "plot"]


def _ids(*rows):
    return [np.array(r, dtype=np.int32) for r in rows]


def test_uniform_weights_have_uniform_statistics():
    ids = _ids([2, 3, 4, 5] * 5, [4] * 10)  # 20 and 10 tokens
    weights = [np.full(20, 1 / 20), np.full(10, 1 / 10)]
    a = ev.attention_statistics(weights, ids, WORDS, min_count=1, top_fraction=0.05, bins=10,
                                top_k=3)
    assert a["entropy_mean"] == pytest.approx(a["uniform_entropy_mean"])
    assert a["uniform_entropy_mean"] == pytest.approx((math.log(20) + math.log(10)) / 2)
    assert a["entropy_ratio_mean"] == pytest.approx(1.0)
    assert a["top_mass_mean"] == pytest.approx(a["top_mass_uniform_mean"])
    assert a["top_mass_uniform_mean"] == pytest.approx((1 / 20 + 1 / 10) / 2)  # ceil(5 %) = 1
    assert a["position_ratio"] == pytest.approx([1.0] * 10)
    assert a["max_weight_ratio_mean"] == pytest.approx(1.0)
    assert all(w["weight_ratio"] == pytest.approx(1.0) for w in a["top_words"])


def test_peaked_weights_on_one_word_at_the_end():
    # every review puts 91 % of its weight on its last token, "bad" (id 3)
    ids = _ids([2, 4, 5, 2, 4, 5, 2, 4, 5, 3], [4, 2, 5, 4, 2, 5, 4, 2, 5, 3])
    w = np.full(10, 0.01)
    w[-1] = 0.91
    a = ev.attention_statistics([w, w.copy()], ids, WORDS, min_count=2, top_fraction=0.05,
                                bins=10, top_k=2)
    assert a["top_words"][0] == {"word": "bad", "weight_ratio": pytest.approx(9.1), "count": 2}
    assert a["bottom_words"][0]["weight_ratio"] == pytest.approx(0.1)
    assert a["top_mass_mean"] == pytest.approx(0.91)
    assert a["position_ratio"][-1] == pytest.approx(9.1) and a["position_ratio"][0] == \
        pytest.approx(0.1)
    assert a["entropy_ratio_mean"] < 0.3


def test_unknown_words_are_named_and_rare_words_left_out():
    ids = _ids([UNK_ID, 2, 2], [UNK_ID, 3])
    a = ev.attention_statistics([np.array([0.5, 0.25, 0.25]), np.array([0.5, 0.5])], ids, WORDS,
                                min_count=2, top_fraction=0.05, bins=10, top_k=5)
    assert [w["word"] for w in a["top_words"]] == ["<unk>", "good"]  # "bad" seen once
    assert a["position_reviews"] == 0 and a["position_ratio"] == [None] * 10


def test_length_buckets_edges_counts_and_accuracy():
    lengths = np.array([5, 10, 10, 20, 30, 40, 50, 500])
    correct = np.array([1, 1, 0, 1, 0, 0, 1, 1], dtype=bool)
    edges = ev.length_edges(lengths, 4)
    assert edges[0] == 5 and edges[-1] == 500
    b = ev.length_buckets(lengths, correct, 400, edges)
    assert sum(b["n"]) == len(lengths) and b["n"] == [3, 1, 2, 2]
    assert b["accuracy"][0] == pytest.approx(2 / 3) and b["truncated_fraction"][-1] == 0.5
    empty = ev.length_buckets(lengths, correct, 400, [0, 1, 2, 3, 1000])
    assert empty["accuracy"][1] is None and empty["n"][1] == 0


def test_audit_of_the_rows_used_counts_twins_of_that_subset():
    texts = ["a", "b", "c", "a", "d", "b", "e", "f"]
    rows = {"train": np.array([0, 1, 2]), "val": np.array([3, 4]), "test": np.array([5, 6, 7])}
    audit = audit_rows(texts, rows)
    assert audit["val_rows_with_train_twin"] == 1 and audit["test_rows_with_train_twin"] == 1
    assert audit["rows"] == {"train": 3, "val": 2, "test": 3}
    sub = train_eval_subset(100, 30, seed=4)
    assert len(sub) == 30 and np.all(np.diff(sub) > 0)
    assert np.array_equal(sub, train_eval_subset(100, 30, seed=4))
    assert not np.array_equal(sub, train_eval_subset(100, 30, seed=5))
    assert len(train_eval_subset(10, 5000, seed=0)) == 10


def _tiny_data(n: int = 24) -> SentimentData:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(N_SPECIAL + len(WORDS), 100)).astype(np.float32)
    vectors[:N_SPECIAL] = 0
    ids = {k: [rng.integers(2, 6, size=rng.integers(3, 12)).astype(np.int32) for _ in range(n)]
           for k in ("train", "val", "test")}
    labels = {k: rng.integers(0, 2, size=n) for k in ids}
    return SentimentData(Vocabulary(WORDS, vectors), ids, labels, {}, [], {}, {},
                         np.arange(0, n, 2), {}, 0.0, {}, {})


def test_eval_mode_training_loss_is_dropout_free_and_on_the_subset():
    """The eval-mode training loss equals a plain eval-mode evaluation of the fixed subset,
    and does not move with dropout (the train-mode loss would)."""
    torch.manual_seed(0)
    data = _tiny_data()
    cfg = model_sizes("lstm-avg", dropout=0.9)
    model = build_model("lstm-avg", cfg, torch.from_numpy(data.vocab.vectors))
    run = ev.epoch_evaluator(data, torch.device("cpu"), Precision("fp32", "test"))
    model.train()
    first, second = run(model), run(model)
    assert model.training  # the evaluator restores the mode it found
    assert first["train_eval_loss"] == second["train_eval_loss"]  # no dropout noise
    sub = ev.evaluate(model, [data.ids["train"][i] for i in data.train_eval_rows],
                      data.labels["train"][data.train_eval_rows], torch.device("cpu"),
                      Precision("fp32", "test"))
    assert first["train_eval_loss"] == pytest.approx(sub["loss"])
    assert first["train_eval_seconds"] > 0 and first["val_seconds"] > 0
    whole = ev.evaluate(model, data.ids["train"], data.labels["train"], torch.device("cpu"),
                        Precision("fp32", "test"))
    assert first["train_eval_loss"] != pytest.approx(whole["loss"])  # a subset, not the split


def test_predict_returns_rows_in_order_with_attention():
    torch.manual_seed(0)
    data = _tiny_data()
    model = build_model("lstm-attention", model_sizes("lstm-attention"),
                        torch.from_numpy(data.vocab.vectors))
    p = ev.predict(model, data.ids["val"], data.labels["val"], torch.device("cpu"),
                   Precision("fp32", "test"), attention=True)
    assert [len(w) for w in p.attention] == [len(r) for r in data.ids["val"]]
    model.eval()
    with torch.no_grad():  # each review alone gives the same logit as inside its batch
        for i in (0, 5, 17):
            ids = torch.from_numpy(data.ids["val"][i].astype(np.int64))[None]
            assert float(model(ids, torch.tensor([ids.shape[1]]))) == pytest.approx(
                p.logit[i], abs=1e-5)
