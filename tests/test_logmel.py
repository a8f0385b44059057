"""Log-mel front end: 128 x 500 per clip, the dropped 501st frame, caching, standardisation."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import pytest
from synth_esc import write_esc_zip

from mlsplab.data.esc50 import N_SAMPLES, SAMPLE_RATE, iter_audio, read_metadata
from mlsplab.data.files import REPO_ROOT
from mlsplab.errors import MlsplabError
from mlsplab.features.logmel import (
    AMIN,
    HOP_LENGTH,
    N_FFT,
    N_FRAMES,
    N_MELS,
    WIN_LENGTH,
    LogMelParams,
    Standardizer,
    load_esc10_features,
    log_mel_spectrogram,
)

REAL_ZIP = REPO_ROOT.parent / "shared" / "data" / "ESC-50-master.zip"


def test_constants_follow_the_assignment() -> None:
    assert (N_MELS, N_FRAMES, HOP_LENGTH) == (128, 500, 441)  # 10 ms hop at 44.1 kHz
    assert WIN_LENGTH == 1102 and N_FFT == 2048 and WIN_LENGTH <= N_FFT  # 25 ms window


def test_sine_gives_128x500_with_energy_in_the_right_band() -> None:
    t = np.arange(N_SAMPLES) / SAMPLE_RATE
    y = 0.5 * np.sin(2 * np.pi * 1000.0 * t)
    S = log_mel_spectrogram(y=y)
    assert S.shape == (128, 500) and S.dtype == np.float32
    mel_centres = librosa.mel_frequencies(n_mels=N_MELS + 2, fmax=SAMPLE_RATE / 2)[1:-1]
    peak = int(np.argmax(S[:, 250]))
    assert abs(mel_centres[peak] - 1000.0) < 60.0  # the band holding 1 kHz is the loudest
    assert S.min() >= 10 * np.log10(AMIN) - 1e-3


def test_501st_frame_is_the_one_dropped() -> None:
    y = np.random.default_rng(0).standard_normal(N_SAMPLES).astype(np.float32)
    full = librosa.feature.melspectrogram(y=y, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP_LENGTH,
                                          win_length=WIN_LENGTH, n_mels=N_MELS)
    assert full.shape[1] == 501  # 1 + 220500 // 441 centred frames
    ours = log_mel_spectrogram(y=y)
    assert np.allclose(ours, 10 * np.log10(np.maximum(full[:, :500], AMIN)), atol=1e-3)


def test_bad_parameters_are_named() -> None:
    with pytest.raises(MlsplabError, match="win_length=4096 must be in"):
        log_mel_spectrogram(y=np.zeros(1000), win_length=4096)
    with pytest.raises(MlsplabError, match="1-D waveform"):
        log_mel_spectrogram(y=np.zeros((2, 1000)))


def test_cache_is_reused_and_rebuilt_when_params_change(tmp_path: Path) -> None:
    zip_path = write_esc_zip(tmp_path / "esc.zip", n_classes=2)
    first = load_esc10_features(zip_path, tmp_path / "cache", progress=False)
    assert first.X.shape == (10, 128, 500) and first.extraction_seconds is not None
    again = load_esc10_features(zip_path, tmp_path / "cache", progress=False)
    assert again.extraction_seconds is None and again.cache_path == first.cache_path
    assert np.array_equal(again.X, first.X)
    other = load_esc10_features(zip_path, tmp_path / "cache", progress=False,
                                params=LogMelParams(n_mels=64))
    assert other.cache_path != first.cache_path and other.X.shape == (10, 64, 500)
    assert other.extraction_seconds is not None
    first.cache_path.write_bytes(b"broken")  # a corrupt cache is rebuilt, not trusted
    rebuilt = load_esc10_features(zip_path, tmp_path / "cache", progress=False)
    assert rebuilt.extraction_seconds is not None and np.array_equal(rebuilt.X, first.X)


def test_standardizer_uses_training_statistics_only() -> None:
    rng = np.random.default_rng(0)
    train = rng.normal(5.0, 2.0, size=(6, 4, 20)).astype(np.float32)
    test = rng.normal(-3.0, 1.0, size=(2, 4, 20)).astype(np.float32)
    scaler = Standardizer().fit(train)
    z = scaler.transform(train)
    assert np.allclose(z.mean(axis=(0, 2)), 0, atol=1e-5)
    assert np.allclose(z.std(axis=(0, 2)), 1, atol=1e-4)
    assert scaler.transform(test).mean() < -3  # test is not re-centred on its own stats


@pytest.mark.skipif(not REAL_ZIP.exists(), reason=f"{REAL_ZIP} not present")
def test_real_clips_give_finite_128x500() -> None:
    clips = read_metadata(REAL_ZIP)[:2]
    for _, y in iter_audio(REAL_ZIP, clips):
        S = log_mel_spectrogram(y=y)
        assert S.shape == (128, 500) and np.isfinite(S).all() and S.max() > -60


def test_features_do_not_depend_on_the_blas_thread_count() -> None:
    from threadpoolctl import threadpool_limits

    y = np.random.default_rng(0).standard_normal(44100 * 5).astype(np.float32)
    with threadpool_limits(limits=2, user_api="blas"):
        two = log_mel_spectrogram(y=y)
    with threadpool_limits(limits=1, user_api="blas"):
        one = log_mel_spectrogram(y=y)
    assert np.array_equal(one, two)
