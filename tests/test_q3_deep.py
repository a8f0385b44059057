"""The deeper ESC-10 CNN (q3x-deep-cnn): augmentation a pure function of (seed, epoch, batch),
none at evaluation, q3x-cv's fold protocol, the learning-rate schedule, its report section, and
``mlsplab classify`` answering with it. Tiny synthetic archive, tiny model."""

from __future__ import annotations

import itertools
import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from synth_esc import synth_wave, write_esc_zip

from mlsplab import classify
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q3 import deep_cv, deep_train
from mlsplab.experiments.q3.config import MODELS_DIR, cv_splits
from mlsplab.experiments.q3.data import extract_features, load_split
from mlsplab.experiments.q3.deep_config import DEEP, DEEP_AUGMENT, DEEP_ID, DeepTraining
from mlsplab.experiments.q3.deep_summary import confused_pairs, part_report
from mlsplab.experiments.q3.train import load_model, predict_logits
from mlsplab.features.logmel import LogMelParams
from mlsplab.models.esc_deep_cnn import EscDeepCnn

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = replace(DEEP, stem_channels=4, channels=(8, 8))
EPOCHS = 2


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_esc_zip(tmp_path_factory.mktemp("data") / "ESC-50-master.zip", n_classes=3,
                         per_class_per_fold=2)  # 6 clips per fold


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory, archive: Path
            ) -> tuple[Path, dict[str, int]]:
    """The five folds trained (tiny model), counting every augmentation and mixup call."""
    out = tmp_path_factory.mktemp("runs")
    calls = {"augment": 0, "mixup": 0}
    mp = pytest.MonkeyPatch()
    for name in calls:
        fn = getattr(deep_train, {"augment": "augment_deep", "mixup": "mixup"}[name])

        def wrapped(*args, _fn=fn, _name=name, **kwargs):  # type: ignore[no-untyped-def]
            calls[_name] += 1
            return _fn(*args, **kwargs)

        mp.setattr(deep_train, {"augment": "augment_deep", "mixup": "mixup"}[name], wrapped)
    try:
        deep_cv.run(RunOptions(out=out, data_dir=archive.parent), epochs=EPOCHS, model=TINY)
    finally:
        mp.undo()
    return out, calls


def _recipe(archive: Path, tmp_path: Path, training: DeepTraining = TINY):
    params = LogMelParams()
    extract_features(archive, tmp_path / "cache", params, progress=False)
    split = cv_splits()[0]
    data = load_split(archive, tmp_path / "cache", split, params)
    model = EscDeepCnn(deep_train.deep_model_config(training, data))
    steps = deep_train.deep_steps(training, data, torch.device("cpu"), seed=3, epochs=EPOCHS,
                                  batch_size=4, augment=dict(DEEP_AUGMENT))
    return model, steps, data


def test_augmentation_is_a_pure_function_of_seed_epoch_and_batch() -> None:
    x = torch.randn(4, 1, 32, 60)
    inv_std = torch.full((32, 1), 0.1)

    def augmented(seed: int, epoch: int, batch: int) -> torch.Tensor:
        rng = deep_train.batch_rng(seed, epoch, batch)
        mixed, _, _ = deep_train.mixup(deep_train.augment_deep(x, rng, DEEP_AUGMENT, inv_std),
                                       rng, 0.2)
        return mixed

    assert torch.equal(augmented(0, 1, 2), augmented(0, 1, 2))  # a resume repeats it
    for other in ((1, 1, 2), (0, 2, 2), (0, 1, 3)):
        assert not torch.equal(augmented(0, 1, 2), augmented(*other)), other
    assert torch.equal(x, x.clone())  # the input is not modified in place


def test_a_training_step_repeats_exactly_and_depends_on_the_epoch(archive: Path,
                                                                  tmp_path: Path) -> None:
    model, steps, _ = _recipe(archive, tmp_path)
    model.eval()  # no dropout: only the batch's own randomness is left
    first, second = steps.train_batches(1)[0], steps.train_batches(2)[0]
    assert first[:2] == (1, 0) and second[:2] == (2, 0)
    with torch.no_grad():
        a = steps.train_step(model, first)[0]
        b = steps.train_step(model, first)[0]
        c = steps.train_step(model, (2, 0, first[2]))[0]  # same clips, another epoch
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_no_augmentation_at_evaluation(counted: tuple[Path, dict[str, int]],
                                       archive: Path) -> None:
    out, calls = counted
    n_train = 18  # 3 training folds x 6 clips, batches of 16: 2 per epoch
    assert calls == {"augment": 5 * EPOCHS * -(-n_train // 16),
                     "mixup": 5 * EPOCHS * -(-n_train // 16)}
    # the recorded validation posteriors are the saved model's on the clips as they are
    doc = json.loads((out / DEEP_ID / "metrics.json").read_text())
    model_path = out / MODELS_DIR / doc["models"][0]
    result = json.loads(model_path.with_name("result.json").read_text())
    model, _ = load_model(model_path)
    data = load_split(archive, out / "cache", cv_splits()[0], LogMelParams())
    probs = torch.softmax(predict_logits(model, data.X["val"], 8), 1).numpy()
    assert np.allclose(probs, result["val_probs"], atol=1e-5)


def test_fold_protocol_is_q3x_cv_s(counted: tuple[Path, dict[str, int]]) -> None:
    out, _ = counted
    doc = json.loads((out / DEEP_ID / "metrics.json").read_text())
    splits = cv_splits()
    assert doc["config"]["splits"] == [s.tag for s in splits]
    assert [(f["test_fold"], f["val_fold"], tuple(f["train_folds"])) for f in doc["folds"]] \
        == [(s.test, s.val, s.train) for s in splits]
    assert doc["n_clips_tested"] == doc["n_distinct_clips_tested"] == 30
    assert np.sum(doc["confusion_matrix"]) == 30 and len(doc["test_accuracy_per_fold"]) == 5
    assert doc["epochs_completed"] == [EPOCHS] * 5 and doc["seed"] == 0
    cost = doc["cost"]
    assert cost["deep"]["parameters"] == doc["n_parameters"]
    assert cost["assignment"]["parameters"] == 1_480_179  # EscCnn, BatchNorm, 3 classes


def test_lr_schedule_warms_up_then_decays_to_zero() -> None:
    f = [deep_train.lr_factor("warmup-cosine", e, b, 10, 10) for e in range(1, 11)
         for b in range(10)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)  # 10 warm-up steps
    assert all(a >= b for a, b in itertools.pairwise(f[9:])) and f[-1] == pytest.approx(0.0)
    assert deep_train.lr_factor("constant", 3, 1, 10, 10) == 1.0


def test_report_section_and_confused_pairs(counted: tuple[Path, dict[str, int]],
                                           tmp_path: Path) -> None:
    out, _ = counted
    doc = json.loads((out / DEEP_ID / "metrics.json").read_text())
    report = part_report("q3x-deep", {DEEP_ID: doc}, out, tmp_path / "fig")
    text = " ".join(b.text for b in report.answer)
    assert "over the five folds" in text and "Piczak's CNN reached 80.5 %" in text
    assert report.overview.startswith("deeper CNN, five-fold")
    cm = [[8, 0, 0], [0, 5, 3], [0, 1, 7]]
    assert confused_pairs(cm, ["dog", "rain", "crackling_fire"]) == [
        ("rain", "crackling_fire", 3, 1)]


def test_classify_answers_with_the_deeper_cnn_and_warns_on_silence(
        counted: tuple[Path, dict[str, int]], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    out, _ = counted
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(44100, dtype=np.float32), 44100)
    loud = tmp_path / "loud.wav"
    y = synth_wave(1, sr=44100, seconds=5.0, rng=np.random.default_rng(0))
    sf.write(loud, np.clip(20 * y, -1, 1), 44100)
    with caplog.at_level(logging.WARNING):
        items = classify.classify([silent, loud], out, k=2)
    for item in items:
        assert [name.split(" (")[0] for name, _ in item["results"]] == ["deeper CNN"]
    assert "silent" in caplog.text and "clipped" in caplog.text
    assert "zero-padding" in caplog.text  # 1 s: shorter than the 5 s window, still classified


def test_nan_clip_is_one_clear_line(counted: tuple[Path, dict[str, int]],
                                    tmp_path: Path) -> None:
    out, _ = counted
    bad = tmp_path / "nan.wav"
    y = np.zeros(44100, dtype=np.float32)
    y[100], y[200] = np.nan, np.inf
    sf.write(bad, y, 44100, subtype="FLOAT")
    with pytest.raises(classify.MlsplabError, match="NaN or infinite") as err:
        classify.classify([bad], out)
    assert "\n" not in str(err.value) and str(bad) in str(err.value)
