"""Q3 end to end on a tiny synthetic ESC-50 zip: every id's metrics and figures, skip, seeds."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
from synth_esc import write_esc_zip

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
