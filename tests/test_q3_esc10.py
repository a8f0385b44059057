"""Q3 end to end on a tiny synthetic ESC-50 zip: every id's metrics and figures, skip, seeds."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
from synth_esc import write_esc_zip

from mlsplab.errors import MlsplabError
from mlsplab.experiments import q3_esc10
from mlsplab.features.logmel import LogMelParams
from mlsplab.io import read_json
from mlsplab.training import TrainConfig

SINGLE_KEYS = {"test_accuracy", "test_accuracy_std", "test_accuracy_per_seed", "val_accuracy",
               "val_accuracy_std", "history", "histories", "mean_curves", "config", "quick",
               "deviations", "summary", "confusion_matrix", "class_names", "data", "features",
               "best_epochs", "split_sizes"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("data")
    write_esc_zip(d / "ESC-50-master.zip", n_classes=4)  # 12 / 4 / 4 clips
    return d


def test_full_pipeline_two_seeds(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    results = q3_esc10.run(out, data_dir=data_dir, seeds=2, epochs=1, progress=False)
    assert set(results) == set(q3_esc10.ALL_IDS)
    for exp_id in q3_esc10.SINGLE:
        doc = read_json(out / exp_id / "metrics.json")
        assert SINGLE_KEYS <= set(doc), SINGLE_KEYS - set(doc)
        assert doc["quick"] is False and doc["seeds"] == [0, 1]
        assert len(doc["test_accuracy_per_seed"]) == 2
        assert doc["test_accuracy"] == pytest.approx(np.mean(doc["test_accuracy_per_seed"]))
        assert 0 <= doc["test_accuracy"] <= 1
        assert set(doc["history"][0]) == {"epoch", "train_loss", "val_loss", "val_accuracy",
                                          "seconds"}
        assert np.asarray(doc["confusion_matrix"]).sum() == 4
        assert any("12/4/4" in d for d in doc["deviations"])
        assert (out / exp_id / "loss_curves.png").stat().st_size > 10_000
    # q3b-none is the very same training as q3a-adam (shared model store)
    assert results["q3b-none"]["histories"] == results["q3a-adam"]["histories"]
    assert (out / "q3a-adam" / "q3a_loss_comparison.png").exists()
    assert (out / "q3b-batchnorm" / "q3b_loss_comparison.png").exists()
    assert results["q3a-adam"]["tables"][0]["header"][0] == "optimizer"
    ens = read_json(out / "q3c-ensemble" / "metrics.json")
    for method in ("average", "optimal-weights", "least-squares"):
        m = ens["methods"][method]
        assert len(m["weights_per_seed"]) == 2 and len(m["weights_mean"]) == 3
        assert len(m["test_accuracy_per_seed"]) == 2
    w = np.asarray(ens["methods"]["optimal-weights"]["weights_per_seed"])
    assert np.allclose(w.sum(axis=1), 1) and (w >= 0).all()
    assert ens["test_accuracy"] == ens["methods"]["optimal-weights"]["test_accuracy"]
    assert ens["q3_timing"]["n_models"] == 7 * 2
    assert len(ens["best_model"]["confusion_matrix"]) == 4
    assert (out / "q3c-ensemble" / "confusion_best.png").exists()
    assert (out / "q3c-ensemble" / "ensemble_accuracy.png").exists()
    assert any("gain" in s or "loss of" in s for s in ens["summary"])

    # a second call finds every finished run and rewrites nothing
    mtimes = {p: p.stat().st_mtime_ns for p in out.glob("*/metrics.json")}
    again = q3_esc10.run(out, data_dir=data_dir, seeds=2, epochs=1, progress=False)
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/metrics.json")} == mtimes
    assert again["q3a-sgd"]["test_accuracy"] == results["q3a-sgd"]["test_accuracy"]

    # --beyond later: trains only the augmented models, rewrites none of the assignment's files
    beyond = q3_esc10.run(out, data_dir=data_dir, seeds=2, epochs=1, progress=False,
                          beyond=True)
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    assert len(list((out / "q3-models").glob("*-augmented-seed*"))) == 2
    doc = read_json(out / "q3x-ensemble" / "metrics.json")
    assert beyond["q3x-ensemble"] == doc
    assert doc["beyond_assignment"] is True and doc["deviations"][0].startswith("BEYOND")
    fam = doc["families"]
    assert fam["per-seed"]["members"][-1] == "Adam/BatchNorm+aug"
    assert len(fam["per-seed"]["methods"]["average"]["test_accuracy_per_seed"]) == 2
    assert len(fam["augmented-pooled"]["members"]) == 2  # one model per seed, one ensemble
    assert len(fam["all-pooled"]["methods"]["optimal-weights"]["weights_mean"]) == 4 * 2
    head = doc["headline"]
    assert head["method"] in q3_esc10.HEADLINE_METHODS
    chosen = fam[head["family"]]["methods"][head["method"]]
    assert doc["test_accuracy"] == chosen["test_accuracy"]
    assert doc["val_accuracy_oof"] == chosen["val_accuracy_oof"]
    # a pooled headline is one ensemble: no spread over seeds, so no std (not a std of 0)
    assert (doc["test_accuracy_std"] is None) == (head["family"] != "per-seed")
    # per-seed members are the very models of q3c-ensemble and q3x-augmented
    assert (fam["per-seed"]["methods"]["Adam/BatchNorm+aug"]["test_accuracy_per_seed"]
            == beyond["q3x-augmented"]["test_accuracy_per_seed"])
    assert (fam["per-seed"]["methods"]["Adam/BatchNorm"]["test_accuracy"]
            == ens["methods"]["Adam/BatchNorm"]["test_accuracy"])
    assert any(s.startswith("Target 80.0 %") for s in doc["summary"])
    for fig in ("ensemble_accuracy.png", "confusion_headline.png"):
        assert (out / "q3x-ensemble" / fig).stat().st_size > 10_000


def test_quick_mode_and_cli(data_dir: Path, tmp_path: Path, capsys) -> None:
    parser = argparse.ArgumentParser()
    q3_esc10.add_arguments(parser)
    args = parser.parse_args(["--out", str(tmp_path / "q"), "--data-dir", str(data_dir),
                              "--quick", "--no-progress", "--beyond"])
    assert q3_esc10.main(args) == 0
    aug = read_json(tmp_path / "q" / "q3x-augmented" / "metrics.json")
    assert aug["beyond_assignment"] is True and aug["deviations"][0].startswith("BEYOND")
    assert aug["config"]["augment"] == q3_esc10.AUGMENT
    assert (tmp_path / "q" / "q3x-augmented" / "loss_curves.png").exists()
    doc = read_json(tmp_path / "q" / "q3b-batchnorm" / "metrics.json")
    assert doc["quick"] is True and doc["config"]["quick"] is True
    assert doc["epochs_completed"] == [q3_esc10.QUICK_EPOCHS] and doc["seeds"] == [0]
    assert doc["deviations"][0].startswith("quick mode")
    assert "q3c-ensemble" in capsys.readouterr().out
    ens = read_json(tmp_path / "q" / "q3x-ensemble" / "metrics.json")
    assert ens["beyond_assignment"] is True and ens["quick"] is True
    assert ens["config"]["augmented_member"] == aug["config"]


def _fake_run(seed: int, rng: np.random.Generator, n_val: int = 20, n_test: int = 20,
              n_classes: int = 3) -> dict:
    """A stand-in for a train_model result: random posteriors and their accuracies."""
    run: dict = {"seed": seed, "train_seconds": 1.0}
    for split, n in (("val", n_val), ("test", n_test)):
        p = rng.dirichlet(np.ones(n_classes), size=n)  # (n, C)
        run[f"{split}_probs"] = p.tolist()
    return run


def _fake_members(rng: np.random.Generator, y: dict, seeds: int = 2) -> dict:
    names = [q3_esc10.member_name(o, n) for o, n in q3_esc10.ENSEMBLE_MEMBERS]
    names.append(q3_esc10.member_name("adam", "batch", augmented=True))
    members = {n: [_fake_run(s, rng) for s in range(seeds)] for n in names}
    for runs in members.values():
        for r in runs:
            for split in ("val", "test"):
                r[f"{split}_accuracy"] = float(
                    (np.asarray(r[f"{split}_probs"]).argmax(1) == y[split]).mean())
    return members


def test_beyond_headline_is_chosen_without_test_data() -> None:
    rng = np.random.default_rng(0)
    y = {"val": rng.integers(0, 3, 20), "test": rng.integers(0, 3, 20)}
    members = _fake_members(rng, y)
    families, cands = q3_esc10.beyond_candidates(members, y["val"], y["test"])
    assert set(families) == set(q3_esc10.BEYOND_FAMILIES)
    assert len(cands) == len(q3_esc10.BEYOND_FAMILIES) * len(q3_esc10.WEIGHT_FITS)
    assert cands["all-pooled / average"]["n_models"] == 4 * 2
    assert cands["augmented-pooled / average"]["n_models"] == 2
    assert cands["per-seed / average"]["val_accuracy_oof"] == cands["per-seed / average"][
        "val_accuracy"]  # averaging fits nothing, so out-of-fold = in-sample
    head = q3_esc10.select_headline(cands)
    # new test posteriors and labels change every test accuracy but not the choice
    for runs in members.values():
        for r in runs:
            r["test_probs"] = rng.dirichlet(np.ones(3), size=20).tolist()
    _, again = q3_esc10.beyond_candidates(members, y["val"], 2 - y["test"])
    assert q3_esc10.select_headline(again) == head
    assert any(again[k]["test_accuracy"] != cands[k]["test_accuracy"] for k in cands)
    with pytest.raises(MlsplabError, match="augmented member"):
        q3_esc10.beyond_candidates({k: v for k, v in members.items() if "+aug" not in k},
                                   y["val"], y["test"])


def test_select_headline_rules() -> None:
    def cand(method: str, oof: float, ce: float = 1.0) -> dict:
        return {"method": method, "val_accuracy_oof": oof, "val_cross_entropy_oof": ce,
                "test_accuracy": 1.0 - oof}

    cands = {"a / least-squares": cand("least-squares", 0.99),  # not a posterior: ineligible
             "b / average": cand("average", 0.80, ce=0.7),
             "c / optimal-weights": cand("optimal-weights", 0.80 + 1e-12, ce=0.6),
             "d / average": cand("average", 0.70, ce=0.1)}
    assert q3_esc10.select_headline(cands) == "c / optimal-weights"  # tie on accuracy -> CE
    with pytest.raises(MlsplabError, match="no candidate"):
        q3_esc10.select_headline({"a / least-squares": cands["a / least-squares"]})


def test_out_of_fold_combination() -> None:
    from mlsplab.models.ensemble import (combine, fit_simplex_weights,
                                         out_of_fold_combination)

    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(4), size=(3, 13))  # (M, N, C)
    labels = rng.integers(0, 4, 13)
    avg = out_of_fold_combination(probs, labels, q3_esc10.WEIGHT_FITS["average"])
    assert np.allclose(avg, combine(probs, np.full(3, 1 / 3)))
    oof = out_of_fold_combination(probs, labels, fit_simplex_weights, n_folds=5)
    assert oof.shape == (13, 4) and np.allclose(oof.sum(1), 1)
    with pytest.raises(MlsplabError, match="n_folds"):
        out_of_fold_combination(probs, labels, fit_simplex_weights, n_folds=1)


def test_same_seed_same_numbers(data_dir: Path, tmp_path: Path) -> None:
    data = q3_esc10.prepare_data(data_dir / "ESC-50-master.zip", tmp_path / "cache",
                                 params=LogMelParams(), progress=False)
    train = TrainConfig(epochs=1, optimizer="adam", lr=1e-3)
    runs = [q3_esc10.train_model(data, optimizer="adam", norm="batch", seed=3, train=train,
                                 models_dir=tmp_path / name, feature_key="k", progress=False)
            for name in ("a", "b")]
    assert runs[0]["history"][-1]["train_loss"] == runs[1]["history"][-1]["train_loss"]
    assert runs[0]["test_probs"] == runs[1]["test_probs"]
    other = q3_esc10.train_model(data, optimizer="adam", norm="batch", seed=4, train=train,
                                 models_dir=tmp_path / "c", feature_key="k", progress=False)
    assert other["history"][0]["train_loss"] != runs[0]["history"][0]["train_loss"]


def test_augment_batch_is_seeded_and_masks() -> None:
    import torch

    x = torch.randn(3, 1, 128, 500)
    a = q3_esc10.augment_batch(x, np.random.default_rng([1, 2]), q3_esc10.AUGMENT)
    b = q3_esc10.augment_batch(x, np.random.default_rng([1, 2]), q3_esc10.AUGMENT)
    c = q3_esc10.augment_batch(x, np.random.default_rng([1, 3]), q3_esc10.AUGMENT)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == x.shape and not torch.equal(a, x)
    assert (a == 0).float().mean() > 0.01  # some cells masked
    kept = a[0][a[0] != 0]
    assert torch.isin(kept, x[0]).all()  # shift and masks move or zero values, never invent them
