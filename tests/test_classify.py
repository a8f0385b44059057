"""mlsplab classify on tiny models trained on the synthetic archive: every format, rate,
channel count and length the loader handles, and each bad input as one clear line."""

from __future__ import annotations

import argparse
import logging
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from synth_esc import ESC10, synth_wave, write_esc_zip

from mlsplab import classify
from mlsplab.errors import MlsplabError
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q3 import run as q3run
from mlsplab.experiments.q3.config import MODELS_DIR

pytestmark = pytest.mark.usefixtures("one_thread")
NAMES = [c for _, c in ESC10[:4]]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_esc_zip(tmp_path_factory.mktemp("data") / "ESC-50-master.zip", n_classes=4)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, archive: Path) -> Path:
    out = tmp_path_factory.mktemp("runs")
    q3run.run(RunOptions(out=out, data_dir=archive.parent, seeds=1), epochs=1)
    return out


@pytest.fixture(scope="module")
def sounds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A FLAC (22.05 kHz, stereo, 3 s), an OGG (16 kHz, mono, 7 s), a WAV (44.1 kHz, 5 s)."""
    d = tmp_path_factory.mktemp("sounds")
    rng = np.random.default_rng(0)
    y = synth_wave(2, sr=22050, seconds=3.0, rng=rng)
    sf.write(d / "rain.flac", np.stack([y, 0.5 * y], axis=1), 22050, format="FLAC")
    sf.write(d / "long.ogg", synth_wave(0, sr=16000, seconds=7.0, rng=rng), 16000,
             format="OGG", subtype="VORBIS")
    sf.write(d / "clip.wav", synth_wave(1, sr=44100, seconds=5.0, rng=rng), 44100)
    return {p.suffix: p for p in d.iterdir()}


def test_top3_of_each_classifier_for_every_format(trained: Path, sounds: dict[str, Path],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        items = classify.classify(list(sounds.values()), trained, k=3)
    assert [i["file"] for i in items] == [str(p) for p in sounds.values()]
    for item in items:
        assert [name.split(" ")[0] for name, _ in item["results"]] == ["Adam/BatchNorm",
                                                                       "ensemble,"]
        for _, top in item["results"]:
            assert len(top) == 3 and {c for c, _ in top} <= set(NAMES)
            probs = [p for _, p in top]
            assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    text = caplog.text
    assert "2 channels; averaging to mono" in text and "resampling to 44100 Hz" in text
    assert "zero-padding to 5.000 s" in text and "cropping to 5.000 s" in text


def test_cli_prints_every_file(trained: Path, sounds: dict[str, Path],
                               capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    classify.add_arguments(parser)
    args = parser.parse_args([str(sounds[".wav"]), "--runs", str(trained), "--top", "2"])
    assert classify.main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == str(sounds[".wav"]) and len(lines) == 3
    assert lines[1].startswith("  Adam/BatchNorm (seed 0") and lines[1].count("%") == 2
    assert "ensemble" in lines[2]


def test_a_test_clip_gets_the_same_posterior_as_in_training(trained: Path, archive: Path,
                                                            tmp_path: Path) -> None:
    """The file path (decode, log-mel, standardise) reproduces the recorded test posterior."""
    import json

    doc = json.loads((trained / "q3b-batchnorm" / "metrics.json").read_text())
    result = json.loads((trained / MODELS_DIR / doc["models"][0]).with_name("result.json")
                        .read_text())
    name = result["test_files"][0]
    with zipfile.ZipFile(archive) as zf:
        (tmp_path / name).write_bytes(zf.read(f"ESC-50-master/audio/{name}"))
    single = classify.adam_batchnorm(trained)
    probs = single.posteriors(classify.read_audio(tmp_path / name,
                                                  classify.LogMelParams()))
    assert np.allclose(probs, result["test_probs"][0], atol=1e-4)


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.wav", "no such file"),
    (lambda d: d, "is a folder"),
    (lambda d: _write(d / "empty.wav", b""), "empty file"),
    (lambda d: _write(d / "noise.ogg", b"OggS\x00 this is not audio"), "unreadable or corrupt"),
    (lambda d: _write(d / "text.flac", b"hello"), "unreadable or corrupt"),
])
def test_bad_audio_is_one_clear_line(trained: Path, tmp_path: Path, make, message: str,
                                     sounds: dict[str, Path]) -> None:
    bad = make(tmp_path)
    with pytest.raises(MlsplabError, match=message) as err:
        classify.classify([sounds[".wav"], bad], trained)
    text = str(err.value)
    assert "\n" not in text and str(bad) in text and "WAV, FLAC or OGG" in text


def test_missing_models_name_the_command(trained: Path, tmp_path: Path,
                                         sounds: dict[str, Path]) -> None:
    with pytest.raises(MlsplabError, match=r"no trained ESC-10 models.*mlsplab esc10 --out"):
        classify.classify([sounds[".wav"]], tmp_path / "empty-runs")
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)
    victim = next((copy / MODELS_DIR).glob("adam-lr0.001-batch-seed0*/model.pt"))
    victim.unlink()
    with pytest.raises(MlsplabError, match=r"model file missing.*mlsplab esc10 --out"):
        classify.classify([sounds[".wav"]], copy)
    victim.write_bytes(b"not a torch file")
    with pytest.raises(MlsplabError, match="not a readable model file"):
        classify.classify([sounds[".wav"]], copy)
    with pytest.raises(MlsplabError, match="--top=0"):
        classify.classify([sounds[".wav"]], trained, k=0)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
