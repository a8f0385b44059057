"""Q3 ensembles: honest (out-of-fold) headline selection that never reads the test fold,
measured agreement, the beyond-the-assignment candidates, and the seeded augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mlsplab.errors import MlsplabError
from mlsplab.experiments.q3 import ensemble as ens
from mlsplab.experiments.q3.batching import augment_batch
from mlsplab.experiments.q3.config import AUGMENT, BEYOND_FAMILIES, BEYOND_MEMBERS
from mlsplab.models.ensemble import combine, fit_simplex_weights, out_of_fold_combination

N_VAL = N_TEST = 20
N_CLASSES = 3


def _fake_run(seed: int, rng: np.random.Generator, y: dict[str, np.ndarray]) -> dict:
    """A stand-in for a train_one result: random posteriors and their accuracies."""
    run: dict = {"seed": seed, "val_labels": y["val"].tolist(), "test_labels": y["test"].tolist()}
    for split, n in (("val", N_VAL), ("test", N_TEST)):
        p = rng.dirichlet(np.ones(N_CLASSES), size=n)  # (n, C)
        run[f"{split}_probs"] = p.tolist()
        run[f"{split}_accuracy"] = float((p.argmax(1) == y[split]).mean())
    run["test_accuracy_last"] = run["test_accuracy"]
    return run


def _members(rng: np.random.Generator, y: dict[str, np.ndarray], seeds: int = 2) -> dict:
    return {t.label: [_fake_run(s, rng, y) for s in range(seeds)] for t in BEYOND_MEMBERS}


def _labels(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"val": rng.integers(0, N_CLASSES, N_VAL), "test": rng.integers(0, N_CLASSES, N_TEST)}


def _retest(members: dict, rng: np.random.Generator) -> None:
    """New test posteriors and labels: every test accuracy changes, validation does not."""
    y_test = rng.integers(0, N_CLASSES, N_TEST)
    for runs in members.values():
        for r in runs:
            p = rng.dirichlet(np.ones(N_CLASSES), size=N_TEST)
            r.update(test_probs=p.tolist(), test_labels=y_test.tolist(),
                     test_accuracy=float((p.argmax(1) == y_test).mean()))


def test_q3c_headline_uses_out_of_fold_validation_only() -> None:
    rng = np.random.default_rng(0)
    members = _members(rng, _labels(rng))
    three = {k: v for k, v in list(members.items())[:3]}
    result = ens.ensemble(three)
    head = ens.select_headline(ens.method_candidates(result))
    avg = result["methods"]["average"]
    assert avg["val_accuracy_oof"] == avg["val_accuracy"]  # averaging fits nothing
    # weights fitted on the validation clips flatter them: in-sample accuracy is not read
    cands = ens.method_candidates(result)
    cands["optimal-weights"].update(val_accuracy=1.0,
                                    val_accuracy_oof=avg["val_accuracy_oof"] - 0.1)
    assert ens.select_headline(cands) == "average"
    before = {m: result["methods"][m]["test_accuracy"] for m in ens.WEIGHT_FITS}
    _retest(three, rng)
    again = ens.ensemble(three)
    assert ens.select_headline(ens.method_candidates(again)) == head
    assert any(again["methods"][m]["test_accuracy"] != before[m] for m in ens.WEIGHT_FITS)


def test_ensemble_records_per_seed_weights_gains_and_agreement() -> None:
    rng = np.random.default_rng(1)
    members = dict(list(_members(rng, _labels(rng), seeds=3).items())[:3])
    result = ens.ensemble(members)
    assert result["members"] == list(members)
    for method in ens.WEIGHT_FITS:
        entry = result["methods"][method]
        assert len(entry["weights_per_seed"]) == 3 and len(entry["weights_mean"]) == 3
        assert len(entry["test_accuracy_per_seed"]) == 3
        assert np.asarray(entry["confusion_matrix_per_seed"]).sum() == 3 * N_TEST
        assert entry["gain_vs_best_member_on_test_points"] <= \
            entry["gain_vs_member_chosen_on_val_points"] + 1e-9
    w = np.asarray(result["methods"]["optimal-weights"]["weights_per_seed"])
    assert np.allclose(w.sum(axis=1), 1) and (w >= 0).all()
    a = result["agreement"]
    assert 0 <= a["all_agree"] <= 1 and a["oracle_accuracy"] >= max(
        result["methods"][n]["test_accuracy"] for n in members) - 1e-9
    assert np.allclose(np.diag(a["per_seed"][0]["pairwise"]), 1)
    with pytest.raises(MlsplabError, match="different numbers of seeds"):
        ens.ensemble({**members, "extra": members[next(iter(members))][:1]})


def test_agreement_on_a_hand_made_case() -> None:
    y = np.array([0, 1, 2, 0])
    eye = np.eye(3)
    a = eye[[0, 1, 2, 1]]  # right on 3 of 4
    b = eye[[0, 1, 0, 2]]  # right on 2 of 4
    out = ens.agreement([a, b], y)
    assert out["all_agree"] == 0.5  # clips 0 and 1
    assert out["accuracy_when_all_agree"] == 1.0
    assert out["accuracy_when_not"] == 0.25  # clips 2, 3: a right once, b never
    assert out["oracle_accuracy"] == 0.75
    assert out["pairwise"] == [[1.0, 0.5], [0.5, 1.0]]


def test_beyond_headline_is_chosen_without_test_data() -> None:
    rng = np.random.default_rng(2)
    members = _members(rng, _labels(rng))
    aug = BEYOND_MEMBERS[-1].label
    families, cands = ens.beyond_candidates(members, aug)
    assert set(families) == set(BEYOND_FAMILIES)
    assert len(cands) == len(BEYOND_FAMILIES) * len(ens.WEIGHT_FITS)
    assert cands["all-pooled / average"]["n_models"] == 4 * 2
    assert cands["augmented-pooled / average"]["n_models"] == 2
    head = ens.select_headline(cands)
    _retest(members, rng)
    _, again = ens.beyond_candidates(members, aug)
    assert ens.select_headline(again) == head
    assert any(again[k]["test_accuracy"] != cands[k]["test_accuracy"] for k in cands)
    with pytest.raises(MlsplabError, match="augmented member"):
        ens.beyond_candidates({k: v for k, v in members.items() if k != aug}, aug)


def test_select_headline_rules() -> None:
    def cand(method: str, oof: float, ce: float = 1.0) -> dict:
        return {"method": method, "val_accuracy_oof": oof, "val_cross_entropy_oof": ce,
                "test_accuracy": 1.0 - oof}

    cands = {"a / least-squares": cand("least-squares", 0.99),  # not a posterior: ineligible
             "b / average": cand("average", 0.80, ce=0.7),
             "c / optimal-weights": cand("optimal-weights", 0.80 + 1e-12, ce=0.6),
             "d / average": cand("average", 0.70, ce=0.1)}
    assert ens.select_headline(cands) == "c / optimal-weights"  # tie on accuracy -> CE
    with pytest.raises(MlsplabError, match="no candidate"):
        ens.select_headline({"a / least-squares": cands["a / least-squares"]})


def test_out_of_fold_combination_of_the_average_is_the_average() -> None:
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(4), size=(3, 13))  # (M, N, C)
    labels = rng.integers(0, 4, 13)
    avg = out_of_fold_combination(probs, labels, ens.WEIGHT_FITS["average"])
    assert np.allclose(avg, combine(probs, np.full(3, 1 / 3)))
    oof = out_of_fold_combination(probs, labels, fit_simplex_weights, n_folds=5)
    assert oof.shape == (13, 4) and np.allclose(oof.sum(1), 1)


def test_augment_batch_is_seeded_and_masks() -> None:
    x = torch.randn(3, 1, 128, 500)
    a = augment_batch(x, np.random.default_rng([1, 2]), AUGMENT)
    b = augment_batch(x, np.random.default_rng([1, 2]), AUGMENT)
    c = augment_batch(x, np.random.default_rng([1, 3]), AUGMENT)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == x.shape and not torch.equal(a, x)
    assert (a == 0).float().mean() > 0.01  # some cells masked
    kept = a[0][a[0] != 0]
    assert torch.isin(kept, x[0]).all()  # shift and masks move or zero values, never invent them


def test_a_diverged_members_nan_posteriors_count_as_uniform() -> None:
    rng = np.random.default_rng(4)
    members = dict(list(_members(rng, _labels(rng)).items())[:3])
    broken = next(iter(members.values()))[0]
    broken["val_probs"] = [[float("nan")] * N_CLASSES] * N_VAL
    broken["test_probs"] = [[float("nan")] * N_CLASSES] * N_TEST
    assert np.allclose(ens.posteriors(broken, "val"), 1 / N_CLASSES)
    result = ens.ensemble(members)
    for method in ens.WEIGHT_FITS:
        assert all(np.isfinite(result["methods"][method]["weights_per_seed"][0]))
        assert 0 <= result["methods"][method]["test_accuracy_per_seed"][0] <= 1
