"""Step q3 end to end on a tiny synthetic ESC-50 zip: the fixed horizon, RMSprop's recorded
defaults, shared trainings, flags reaching the config, the executor, resume and disk cleanup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from synth_esc import write_esc_zip

from mlsplab.errors import MlsplabError
from mlsplab.executors import SerialExecutor, Task
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q3 import run as q3run
from mlsplab.experiments.q3.config import (
    ENSEMBLE_ID,
    GROUPS,
    HEADLINE_METHODS,
    MODELS_DIR,
    SINGLE,
    STEP_IDS,
    Q3Config,
)
from mlsplab.experiments.q3.ensemble import method_candidates, select_headline
from mlsplab.experiments.registry import step
from mlsplab.io import read_json

pytestmark = pytest.mark.usefixtures("one_thread")
EPOCHS = 2


class RecordingExecutor(SerialExecutor):
    """The serial executor, remembering every task it ran."""

    name = "recording"

    def __init__(self) -> None:
        self.tasks: list[Task] = []

    def map(self, tasks: list[Task]) -> list[Any]:
        self.tasks.extend(tasks)
        return super().map(tasks)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("data")
    write_esc_zip(d / "ESC-50-master.zip", n_classes=4)  # 12 / 4 / 4 clips
    return d


@pytest.fixture(scope="module")
def q3_run(data_dir: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[Path, RecordingExecutor]:
    out = tmp_path_factory.mktemp("runs")
    executor = RecordingExecutor()
    options = RunOptions(out=out, data_dir=data_dir, seed=0, seeds=2, executor=executor)
    q3run.run(options, epochs=EPOCHS)
    return out, executor


def test_every_id_written_with_a_fixed_horizon_for_every_seed(q3_run) -> None:
    out, _ = q3_run
    assert set(step("q3").ids) == set(STEP_IDS)
    for exp_id in STEP_IDS:
        doc = read_json(out / exp_id / "metrics.json")
        assert {"lr", "histories", "epochs_completed", "test_accuracy"} <= set(doc), exp_id
        assert len(doc["histories"]) == 2, exp_id  # one list per seed
        assert all(len(h) == EPOCHS for h in doc["histories"]), exp_id
        assert set(doc["epochs_completed"]) == {EPOCHS}, exp_id
        assert "summary" not in doc and "tables" not in doc  # measurements only, no prose
    for exp_id in SINGLE:
        doc = read_json(out / exp_id / "metrics.json")
        assert doc["seeds"] == [0, 1] and doc["config"]["seeds"] == [0, 1]
        assert doc["config"]["epochs"] == EPOCHS and doc["config"]["early_stopping"] is None
        assert doc["config"]["device_used"] == "cpu" and doc["devices"] == ["cpu", "cpu"]
        assert len(doc["test_accuracy_per_seed"]) == len(doc["test_accuracy_last_per_seed"]) == 2
        assert doc["test_accuracy"] == pytest.approx(np.mean(doc["test_accuracy_per_seed"]))
        assert all(1 <= b <= EPOCHS for b in doc["best_epochs"])
        assert np.asarray(doc["confusion_matrix"]).sum() == 2 * 4  # 2 seeds x 4 test clips
        assert len(doc["mean_curves"]["val_loss"]) == EPOCHS
        assert doc["split_sizes"] == {"train": 12, "val": 4, "test": 4}


def test_rmsprop_runs_torch_defaults_and_the_lr_variant_is_labelled(q3_run) -> None:
    out, _ = q3_run
    default = read_json(out / "q3a-rmsprop" / "metrics.json")
    assert default["lr"] == 0.01
    settings = default["optimizer_settings"]
    assert (settings["lr"], settings["alpha"], settings["eps"]) == (0.01, 0.99, 1e-8)
    assert settings["momentum"] == 0 and settings["centered"] is False
    extra = read_json(out / "q3a-rmsprop-lr1e-3" / "metrics.json")
    assert extra["lr"] == 0.001 and extra["label"].endswith("(lr 0.001)")
    ens = read_json(out / ENSEMBLE_ID / "metrics.json")
    assert ens["lr"]["RMSprop/LayerNorm"] == 0.01
    assert ens["variant"]["members"][1] == "RMSprop/LayerNorm (lr 0.001)"


def test_each_training_runs_once_through_the_executor(q3_run) -> None:
    out, executor = q3_run
    names = [t.kwargs["job"].name for t in executor.tasks]
    assert len(names) == len(set(names)) == len(q3run.trainings_needed()) * 2
    assert all(t.cpus == 1 and t.gpus == 0 for t in executor.tasks)
    adam, none = (read_json(out / i / "metrics.json") for i in ("q3a-adam", "q3b-none"))
    assert adam["histories"] == none["histories"]  # one training, read by both
    ens = read_json(out / ENSEMBLE_ID / "metrics.json")
    assert ens["methods"]["Adam/BatchNorm"]["test_accuracy_per_seed"] == read_json(
        out / "q3b-batchnorm" / "metrics.json")["test_accuracy_per_seed"]
    assert ens["executor"] == "recording"
    row = ens["histories"][1][0]  # seed 1, epoch 1: every member's numbers and their mean
    members = [ens["member_histories"][n][1][0] for n in ens["members"]]
    assert list(row["members"]) == ens["members"]
    assert row["val_loss"] == pytest.approx(np.mean([m["val_loss"] for m in members]))


def test_finished_models_keep_weights_only(q3_run) -> None:
    out, _ = q3_run
    dirs = sorted((out / MODELS_DIR).iterdir())
    assert len(dirs) == len(q3run.trainings_needed()) * 2
    for d in dirs:
        assert sorted(p.name for p in d.iterdir()) == ["model.pt", "result.json"], d
    doc = read_json(out / "q3a-sgd" / "metrics.json")
    assert doc["disk"]["resume_checkpoint_bytes_deleted"] > 2 * doc["disk"]["model_bytes"]
    assert all((out / MODELS_DIR / m).exists() for m in doc["models"])


def test_headline_is_chosen_out_of_fold(q3_run) -> None:
    out, _ = q3_run
    ens = read_json(out / ENSEMBLE_ID / "metrics.json")
    assert ens["headline_method"] in HEADLINE_METHODS
    assert ens["headline_method"] == select_headline(method_candidates(ens))
    head = ens["methods"][ens["headline_method"]]
    assert ens["test_accuracy"] == head["test_accuracy"]
    assert len(head["weights_per_seed"]) == 2 and len(head["val_accuracy_oof_per_seed"]) == 2
    w = np.asarray(ens["methods"]["optimal-weights"]["weights_per_seed"])
    assert np.allclose(w.sum(axis=1), 1) and (w >= 0).all()
    assert 0 <= ens["agreement"]["all_agree"] <= 1
    assert ens["q3_timing"]["n_models"] == len(q3run.trainings_needed()) * 2
    beyond = read_json(out / "q3x-ensemble" / "metrics.json")
    assert beyond["beyond_assignment"] is True
    assert beyond["headline"]["method"] in HEADLINE_METHODS


def test_second_call_rewrites_nothing(q3_run, data_dir: Path) -> None:
    out, _ = q3_run
    mtimes = {p: p.stat().st_mtime_ns for p in out.glob("*/metrics.json")}
    executor = RecordingExecutor()
    q3run.run(RunOptions(out=out, data_dir=data_dir, seeds=2, executor=executor), epochs=EPOCHS)
    assert executor.tasks == [] and {p: p.stat().st_mtime_ns for p in mtimes} == mtimes


def test_seed_flag_sets_the_seeds_and_quick_one_seed() -> None:
    config = Q3Config.from_options(RunOptions(seed=5))
    assert config.seed_list == (5, 6, 7) and config.epochs >= 40
    quick = Q3Config.from_options(RunOptions(seed=5, quick=True))
    assert quick.seed_list == (5,) and quick.epochs < config.epochs
    # an explicit --seeds reaches quick runs too
    assert Q3Config.from_options(RunOptions(seed=5, seeds=2, quick=True)).seed_list == (5, 6)
    assert Q3Config.from_options(RunOptions(device="cuda")).device == "cuda"
    with pytest.raises(MlsplabError, match="--seeds 0; expected >= 1"):
        Q3Config.from_options(RunOptions(seeds=0))
    with pytest.raises(MlsplabError, match="--epochs=0"):
        Q3Config.from_options(RunOptions(), epochs=0)
    with pytest.raises(MlsplabError, match=r"q3: unknown setting\(s\) \['epoch'\]"):
        Q3Config.from_options(RunOptions(), epoch=3)


def test_same_seed_same_numbers_and_device_reaches_training(
        data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from mlsplab.experiments.q3 import train

    asked: list[str] = []

    def fake_select(requested: str = "auto") -> torch.device:
        asked.append(requested)
        return torch.device("cpu")

    monkeypatch.setattr(train, "select_device", fake_select)
    monkeypatch.setattr(q3run, "select_device", fake_select)
    monkeypatch.setattr(q3run, "trainings_needed", lambda: [SINGLE["q3b-batchnorm"]])
    docs = []
    for name in ("a", "b"):
        options = RunOptions(out=tmp_path / name, data_dir=data_dir, seed=3, seeds=1,
                             device="cuda")
        jobs = q3run.make_jobs(tmp_path / name, data_dir / "ESC-50-master.zip",
                               *_front_end(data_dir), [SINGLE["q3b-batchnorm"]], (3,),
                               [q3run.ASSIGNMENT_SPLIT], epochs=1, batch_size=16, eval_batch=8,
                               threads=1, device=options.device, augment={})
        q3run.extract_features(data_dir / "ESC-50-master.zip", tmp_path / name / "cache",
                               jobs[0].recipe.params, progress=False)
        docs.append(q3run.run_jobs(options, jobs, "t")[0])
    assert set(asked) == {"cuda"}
    assert docs[0]["history"][0]["train_loss"] == docs[1]["history"][0]["train_loss"]
    assert docs[0]["test_probs"] == docs[1]["test_probs"]


def _front_end(data_dir: Path) -> tuple[Any, str]:
    from mlsplab.experiments.q3.data import feature_identity
    from mlsplab.features.logmel import LogMelParams

    params = LogMelParams()
    return params, feature_identity(data_dir / "ESC-50-master.zip", params)["cache_key"]


def test_groups_cover_the_registry_parts() -> None:
    from mlsplab.experiments.registry import part

    assert GROUPS["q3a"] == part("q3a").experiment_ids
    assert GROUPS["q3b"] == part("q3b").experiment_ids


def test_a_training_is_seeded_once(data_dir: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """One call of torch.manual_seed per training (run_job's set_seed): building the model
    and fit do not seed again."""
    calls: list[int] = []
    real = torch.manual_seed

    def counting(seed: int) -> Any:
        calls.append(seed)
        return real(seed)

    jobs = q3run.make_jobs(tmp_path, data_dir / "ESC-50-master.zip", *_front_end(data_dir),
                           [SINGLE["q3b-batchnorm"]], (5,), [q3run.ASSIGNMENT_SPLIT], epochs=1,
                           batch_size=16, eval_batch=8, threads=1, device="cpu", augment={})
    q3run.extract_features(data_dir / "ESC-50-master.zip", tmp_path / "cache",
                           jobs[0].recipe.params, progress=False)
    monkeypatch.setattr(torch, "manual_seed", counting)
    q3run.run_jobs(RunOptions(out=tmp_path), jobs, "t")
    assert calls == [5]
