"""Beyond Q1: the log-count ratio, the one-standard-error choice of C, the ensemble step (which
never reads test posteriors to choose), bad input, the report part, and the baseline's choice
on a real slice under one and two threads."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from report_text import text_of

from mlsplab.data.files import IMDB_ZIP, search_dirs
from mlsplab.errors import MlsplabError
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1 import ensemble, posteriors, summary_beyond
from mlsplab.experiments.q1.config import BASELINE_ID, ENSEMBLE_ID, NBSVM_ID
from mlsplab.experiments.q1.selection import one_standard_error_choice
from mlsplab.features.log_count_ratio import log_count_ratio

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- the log-count ratio

def test_log_count_ratio_against_hand_computed_values() -> None:
    # 4 documents x 3 n-grams; counts above 1 count once (binarized)
    X = np.array([[2, 1, 0],   # positive
                  [1, 0, 0],   # positive
                  [0, 3, 1],   # negative
                  [0, 0, 1]])  # negative
    y = np.array([1, 1, 0, 0])
    # alpha = 1: p = 1 + (2, 1, 0) = (3, 2, 1), ||p||_1 = 6; q = 1 + (0, 1, 2) = (1, 2, 3), 6
    expected = [math.log((3 / 6) / (1 / 6)), math.log((2 / 6) / (2 / 6)),
                math.log((1 / 6) / (3 / 6))]
    assert log_count_ratio(X, y) == pytest.approx(expected)
    # alpha = 0.5: p = (2.5, 1.5, 0.5), sum 4.5; q = (0.5, 1.5, 2.5), sum 4.5
    assert log_count_ratio(X, y, alpha=0.5) == pytest.approx(
        [math.log(2.5 / 0.5), 0.0, math.log(0.5 / 2.5)])
    import scipy.sparse as sp

    assert log_count_ratio(sp.csr_matrix(X), y) == pytest.approx(expected)
    with pytest.raises(ValueError, match="both classes"):
        log_count_ratio(X, np.ones(4))


# ---------------------------------------------------------------- the choice of C

def test_one_standard_error_rule_ignores_a_one_review_difference() -> None:
    # the reference's validation counts (5,000 reviews): 256 and 1024 tied at 0.9200 ...
    amd = {0.25: 4476, 1.0: 4556, 4.0: 4589, 16.0: 4591, 64.0: 4594, 256.0: 4600,
           1024.0: 4600, 4096.0: 4597}
    # ... and another CPU with one more review right at 1024: the arg-max flipped, this does not
    intel = {**amd, 1024.0: 4601}
    a, b = one_standard_error_choice(amd, 5000), one_standard_error_choice(intel, 5000)
    assert a["best_c"] == 256.0 and b["best_c"] == 1024.0
    assert a["chosen_c"] == b["chosen_c"] == 4.0
    assert a["standard_error"] == pytest.approx(math.sqrt(0.92 * 0.08 / 5000))
    assert a["margin_reviews"] == pytest.approx(min(abs(k - (4600 - 5000 * a["standard_error"]))
                                                    for k in amd.values()))
    # a clear winner is kept
    assert one_standard_error_choice({1.0: 800, 4.0: 900, 16.0: 850}, 1000)["chosen_c"] == 4.0


# ---------------------------------------------------------------- the ensemble step

def _member(rng: np.random.Generator, y: dict[str, np.ndarray], skill: float, seed: int = 0,
            network: bool = False) -> dict:
    """A result with posteriors: P(positive) drawn around the truth with ``skill``."""
    doc: dict = {"config": {"seed": seed}, "test_accuracy": 0.0, "wall_seconds": 1.0}
    probs = {}
    for split, labels in y.items():
        noise = rng.normal(0, 1, len(labels))
        probs[split] = 1 / (1 + np.exp(-(skill * (2 * labels - 1) + noise)))
    entry = posteriors.record(probs, y)
    entry["test_accuracy"] = float(((probs["test"] > 0.5) == (y["test"] == 1)).mean())
    if network:
        return {**doc, "test_accuracy": entry["test_accuracy"], "per_seed": [
            {"seed": seed, **entry}]}
    return {**doc, **entry}


def _write(out: Path, docs: dict[str, dict]) -> None:
    for exp_id, doc in docs.items():
        (out / exp_id).mkdir(parents=True, exist_ok=True)
        (out / exp_id / "metrics.json").write_text(json.dumps({"config_hash": exp_id, **doc}))


def _members(seed: int = 0) -> dict[str, dict]:
    rng = np.random.default_rng(seed)
    y = {"val": rng.integers(0, 2, 300), "test": rng.integers(0, 2, 300)}
    return {"q1b-lstm-avg": _member(rng, y, 1.0, network=True),
            "q1c-lstm-attention": _member(rng, y, 1.2, network=True),
            "q1d-transformer": _member(rng, y, 0.8, network=True),
            BASELINE_ID: _member(rng, y, 1.5), NBSVM_ID: _member(rng, y, 1.6)}


def _choices(m: dict) -> dict:
    """Everything the step chooses: methods, weights, the best single member and pair."""
    return {"best_single": m["best_single"], "best_pair": m["best_pair"],
            **{k: (e["method"], e["weights"]) for k, e in m["ensembles"].items()},
            **{k: (e["method"], e["weights"]) for k, e in m["pairs"].items()}}


def test_ensemble_choices_never_read_the_test_posteriors(tmp_path: Path) -> None:
    docs = _members()
    _write(tmp_path / "a", docs)
    m = ensemble.run(RunOptions(out=tmp_path / "a"))
    assert m["candidates"] == list(docs) and m["missing"] == []
    assert set(m["ensembles"]) == {"all", "linear models", "networks",
                                   *(f"without {k}" for k in docs)}
    assert len(m["pairs"]) == 10 and m["networks_added"]["mcnemar"]["p_value"] <= 1
    full = m["ensembles"]["all"]
    assert full["method"] in ("average", "optimal-weights") and sum(full["weights"]) == \
        pytest.approx(1)
    # poison every test posterior and shuffle the test labels: nothing chosen may change
    rng = np.random.default_rng(1)
    for doc in docs.values():
        entry = doc["per_seed"][0] if "per_seed" in doc else doc
        n = len(entry["test_posteriors"])
        entry["test_posteriors"] = [float("nan")] * (n // 2) + rng.random(n - n // 2).tolist()
        entry["test_labels"] = "".join(rng.choice(["0", "1"], n))
    for doc in docs.values():  # one test set for all members, as the step requires
        entry = doc["per_seed"][0] if "per_seed" in doc else doc
        entry["test_labels"] = docs[BASELINE_ID]["test_labels"]
    _write(tmp_path / "b", docs)
    poisoned = ensemble.run(RunOptions(out=tmp_path / "b"))
    assert _choices(poisoned) == _choices(m)
    assert poisoned["ensembles"]["all"]["test_accuracy"] != full["test_accuracy"]


def test_results_without_posteriors_are_named_not_dropped_silently(tmp_path: Path) -> None:
    docs = _members()
    for exp_id in ("q1b-lstm-avg", "q1c-lstm-attention", "q1d-transformer"):
        for key in posteriors.KEYS:  # an older run: no posteriors recorded
            docs[exp_id]["per_seed"][0].pop(key)
    _write(tmp_path, docs)
    m = ensemble.run(RunOptions(out=tmp_path))
    assert m["candidates"] == [BASELINE_ID, NBSVM_ID]
    assert [x["experiment"] for x in m["missing"]] == ["q1b-lstm-avg", "q1c-lstm-attention",
                                                       "q1d-transformer"]
    assert m["missing"][0] == {"experiment": "q1b-lstm-avg",
                               "reason": "no posteriors (an older run)", "step": "q1b"}
    assert set(m["ensembles"]) == {"all"} and m["networks_added"] is None
    text = " ".join(text_of(summary_beyond.part_report("q1x", {ENSEMBLE_ID: m}, tmp_path,
                                                       tmp_path)))
    assert "q1b-lstm-avg: no posteriors (an older run)" in text
    assert f"mlsplab reproduce --only q1d --out {tmp_path}" in text
    assert "not measured here: none of their results has posteriors" in text


def test_no_member_with_posteriors_is_no_ensemble_not_a_crash(tmp_path: Path) -> None:
    docs = _members()
    for doc in docs.values():
        for entry in doc.get("per_seed", [doc]):
            for key in posteriors.KEYS:
                entry.pop(key)
    _write(tmp_path, docs)
    m = ensemble.run(RunOptions(out=tmp_path))
    assert m["candidates"] == [] and len(m["missing"]) == 5 and m["ensembles"] == {}
    assert "test_accuracy" not in m
    text = " ".join(text_of(summary_beyond.part_report("q1x", {ENSEMBLE_ID: m}, tmp_path,
                                                       tmp_path)))
    assert "Fewer than two members have posteriors" in text
    assert f"mlsplab reproduce --only q1x-nbsvm --out {tmp_path}" in text


def test_members_on_other_splits_are_refused(tmp_path: Path) -> None:
    docs = _members()
    docs[NBSVM_ID]["val_labels"] = docs[NBSVM_ID]["val_labels"][::-1]
    _write(tmp_path, docs)
    with pytest.raises(MlsplabError, match="q1x-nbsvm have other val reviews"):
        ensemble.run(RunOptions(out=tmp_path))
    with pytest.raises(MlsplabError, match="no Q1 results"):
        ensemble.run(RunOptions(out=tmp_path / "empty"))


def test_report_says_whether_the_networks_add_anything(tmp_path: Path) -> None:
    """Two measurements that disagree give different words."""
    _write(tmp_path / "a", _members())
    m = ensemble.run(RunOptions(out=tmp_path / "a"))
    texts = []
    for d, p in ((0.004, 0.6), (0.012, 0.001)):
        m["networks_added"] = {"difference": d, "val_oof_difference": d,
                               "mcnemar": {"a_only_correct": 40, "b_only_correct": 20,
                                           "p_value": p}}
        texts.append(" ".join(text_of(summary_beyond.part_report("q1x", {ENSEMBLE_ID: m},
                                                                 tmp_path, tmp_path))))
    assert "the networks add nothing measurable to the linear models" in texts[0]
    assert "the networks add to the linear models" in texts[1]


def test_report_states_posteriors_that_a_replay_added(tmp_path: Path) -> None:
    docs = _members()
    _write(tmp_path, docs)
    m = ensemble.run(RunOptions(out=tmp_path))
    results = {ENSEMBLE_ID: m, **{k: d for k, d in docs.items() if k in ensemble.NETWORKS}}
    text = " ".join(text_of(summary_beyond.part_report("q1x", results, tmp_path, tmp_path)))
    assert "replay" not in text  # posteriors recorded by the runs themselves
    docs["q1c-lstm-attention"]["per_seed"][0]["posteriors_replay"] = {"epochs_replayed": 3}
    docs["q1c-lstm-attention"]["per_seed"][0]["best_epoch"] = 3
    text = " ".join(text_of(summary_beyond.part_report("q1x", results, tmp_path, tmp_path)))
    assert "come from a replay of each training" in text
    assert "(seed 0, 3 epochs, best 3)" in text


# ---------------------------------------------------------------- a real slice, 1 and 2 threads

def _real_data_dir() -> Path:
    for d in search_dirs(None):
        if (d / IMDB_ZIP.name).is_file():
            return d
    pytest.skip(f"{IMDB_ZIP.name} not found in {search_dirs(None)}")


# run in a fresh process: the baseline on the quick slice, then the bits of the coefficients of
# one fit per C of two (a thread count that changes any sum's order changes these bits)
THREAD_PROBE = """
import hashlib, json, sys
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1 import baseline, linear
from mlsplab.experiments.q1.config import QUICK
baseline.run(RunOptions(out=sys.argv[1], data_dir=sys.argv[2], quick=True))
data = linear.load_split(sys.argv[2], 0, {k: QUICK[f"n_{k}"] for k in ("train", "val", "test")})
vec = TfidfVectorizer(analyzer=lambda w: linear.ngrams(w, (1, 2)), min_df=2, sublinear_tf=True,
                      dtype=np.float32)
X = {"train": vec.fit_transform(data.tokens["train"]), "val": vec.transform(data.tokens["val"])}
grid = linear.fit_grid(X, data.labels, (4.0, 1024.0), max_iter=1000, seed=0, name="probe")
print(json.dumps([hashlib.sha256(m.coef_.tobytes()).hexdigest() for m in grid["models"].values()]))
"""


@pytest.mark.slow
def test_baseline_choice_is_the_same_under_one_and_two_threads(tmp_path: Path) -> None:
    """The quick slice of the real reviews (2,000 / 500 / 500), in fresh processes: the same
    choice, posteriors and coefficient bits under OMP_NUM_THREADS=1 and 2 (without the fits'
    one-thread BLAS limit the bits differ on this slice)."""
    data_dir = _real_data_dir()
    docs, coefs = [], []
    for threads in ("1", "2"):
        env = {**os.environ, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
               "MKL_NUM_THREADS": threads, "PYTHONPATH": str(REPO / "src")}
        out = tmp_path / f"threads-{threads}"
        done = subprocess.run([sys.executable, "-c", THREAD_PROBE, str(out), str(data_dir)],
                              env=env, check=True, timeout=600, capture_output=True, text=True)
        coefs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        docs.append(json.loads((out / BASELINE_ID / "metrics.json").read_text()))
    one, two = docs
    assert one["chosen_c"] == two["chosen_c"] and one["selection"] == two["selection"]
    for key in ("val_accuracy_by_c", "test_accuracy", "test_correct", "val_posteriors",
                "test_posteriors"):
        assert one[key] == two[key], key
    assert coefs[0] == coefs[1]
