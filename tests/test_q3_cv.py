"""q3x-cv: the five-fold rotation (every clip tested once; validation and test folds never
overlap training), clips of one source recording sharing a fold, and the runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from synth_esc import write_esc_zip

from mlsplab.data.esc50 import parse_metadata, read_metadata
from mlsplab.data.files import REPO_ROOT
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q3 import cv
from mlsplab.experiments.q3.config import ADAM_BATCH, ASSIGNMENT_SPLIT, CV_ID, MODELS_DIR, cv_splits
from mlsplab.experiments.q3.data import extract_features, load_split
from mlsplab.features.logmel import LogMelParams
from mlsplab.io import read_json

REAL_ZIP = REPO_ROOT.parent / "shared" / "data" / "ESC-50-master.zip"
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_esc_zip(tmp_path_factory.mktemp("data") / "ESC-50-master.zip", n_classes=3,
                         per_class_per_fold=2)  # 6 clips per fold


def test_rotation_tests_each_fold_once_and_validates_on_the_one_before() -> None:
    splits = cv_splits()
    assert [s.test for s in splits] == [1, 2, 3, 4, 5]
    assert [s.val for s in splits] == [5, 1, 2, 3, 4]
    for s in splits:
        assert sorted((*s.train, s.val, s.test)) == [1, 2, 3, 4, 5]
        assert s.val not in s.train and s.test not in s.train and s.val != s.test
    assert splits[-1] == ASSIGNMENT_SPLIT


def test_every_clip_tested_exactly_once_and_never_trained_on_when_tested(
        archive: Path, tmp_path: Path) -> None:
    params = LogMelParams()
    extract_features(archive, tmp_path, params, progress=False)
    all_clips = {c.filename for c in read_metadata(archive)}
    tested: list[str] = []
    for split in cv_splits():
        data = load_split(archive, tmp_path, split, params)
        train, val, test = (set(data.filenames[k]) for k in ("train", "val", "test"))
        assert not train & val and not train & test and not val & test
        assert train | val | test == all_clips
        tested += data.filenames["test"]
        # standardised with the training folds only: their per-band mean is 0
        assert np.allclose(data.X["train"].mean(dim=(0, 1, 3)), 0, atol=1e-4)
    assert sorted(tested) == sorted(all_clips)


@pytest.mark.skipif(not REAL_ZIP.exists(), reason=f"{REAL_ZIP} not present")
def test_clips_of_one_source_recording_share_a_fold_in_the_real_metadata() -> None:
    clips = read_metadata(REAL_ZIP)
    assert len(clips) == 400 and all(c.src_file for c in clips)
    folds: dict[str, set[int]] = {}
    for c in clips:
        folds.setdefault(c.src_file, set()).add(c.fold)
    assert all(len(f) == 1 for f in folds.values())
    assert sum(1 for c in clips if c.take != "A") > 0  # several takes of one recording exist
    assert max(sum(1 for c in clips if c.src_file == s) for s in folds) > 1


def test_metadata_without_source_columns_still_parses() -> None:
    text = "filename,fold,target,category,esc10\n1-1-A-0.wav,1,0,dog,True\n"
    (clip,) = parse_metadata(text)
    assert (clip.src_file, clip.take) == ("", "")


def test_cv_runner_writes_folds_and_reuses_the_assignment_split(archive: Path,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "runs"
    options = RunOptions(out=out, data_dir=archive.parent, seed=0)
    cv.run(options, epochs=1, models=(ADAM_BATCH,))
    doc = read_json(out / CV_ID / "metrics.json")
    m = doc["models"][ADAM_BATCH.key]
    assert [f["test_fold"] for f in m["folds"]] == [1, 2, 3, 4, 5]
    assert [f["val_fold"] for f in m["folds"]] == [5, 1, 2, 3, 4]
    assert m["n_clips_tested"] == m["n_distinct_clips_tested"] == 5 * 6
    assert np.asarray(m["confusion_matrix"]).sum() == 30
    assert m["test_accuracy"] == pytest.approx(np.mean(m["test_accuracy_per_fold"]))
    assert m["pooled_test_accuracy"] == pytest.approx(m["test_accuracy"])  # equal fold sizes
    assert {"lr", "histories", "epochs_completed", "test_accuracy"} <= set(doc)
    assert len(doc["histories"]) == 5 and set(doc["epochs_completed"]) == {1}
    assert doc["beyond_assignment"] is True and doc["config"]["splits"][-1] == \
        ASSIGNMENT_SPLIT.tag
    # the fold-5 model is the assignment split's training of the same seed: found, not redone
    fold5 = next((out / MODELS_DIR).glob(f"*-seed0-{ASSIGNMENT_SPLIT.tag}")) / "result.json"
    before = fold5.stat().st_mtime_ns
    (out / CV_ID / "metrics.json").unlink()
    cv.run(options, epochs=1, models=(ADAM_BATCH,))
    assert fold5.stat().st_mtime_ns == before
    assert read_json(out / CV_ID / "metrics.json")["models"] == doc["models"]
