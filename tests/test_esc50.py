"""ESC-10 metadata parsing, the fold split, and robust audio decoding."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import numpy as np
import pytest
from synth_esc import ESC10, HEADER, csv_text, esc_rows, synth_wave, wav_bytes, write_esc_zip

from mlsplab.data.esc50 import (
    ESC_META_MEMBER,
    N_SAMPLES,
    SAMPLE_RATE,
    class_names,
    decode_audio,
    iter_audio,
    parse_metadata,
    read_metadata,
    split_clips,
)
from mlsplab.data.files import REPO_ROOT
from mlsplab.errors import MlsplabError

REAL_ZIP = REPO_ROOT.parent / "shared" / "data" / "ESC-50-master.zip"


def test_parse_metadata_keeps_esc10_rows_and_orders_labels() -> None:
    clips = parse_metadata(csv_text(esc_rows()))
    assert len(clips) == 50  # 10 classes x 5 folds; the 2 non-ESC-10 rows are dropped
    assert class_names(clips) == [c for _, c in ESC10]
    assert {c.label for c in clips} == set(range(10))
    assert [c.label for c in clips if c.target == 41] == [9] * 5  # chainsaw is the last id
    split = split_clips(clips)
    assert [len(split[k]) for k in ("train", "val", "test")] == [30, 10, 10]
    assert {c.fold for c in split["val"]} == {4} and {c.fold for c in split["test"]} == {5}


def test_missing_column_is_named() -> None:
    rows = [r[:1] + r[2:] for r in esc_rows()]  # drop "fold"
    with pytest.raises(MlsplabError, match=r"missing column\(s\) \['fold'\]"):
        parse_metadata(csv_text(rows, [h for h in HEADER if h != "fold"]))


@pytest.mark.parametrize("column, value, message", [
    (1, "7", "unknown fold '7'"),
    (1, "x", "unknown fold 'x'"),
    (2, "55", "bad class id target='55'"),
    (2, "dog", "bad class id target='dog'"),
    (4, "maybe", "esc10='maybe'"),
])
def test_bad_rows_are_named_with_their_line(column: int, value: str, message: str) -> None:
    rows = esc_rows()
    rows[6][column] = value  # data row 7 = CSV line 8
    with pytest.raises(MlsplabError, match=rf"line 8 .*{message}"):
        parse_metadata(csv_text(rows))


def test_inconsistent_category_is_refused() -> None:
    rows = esc_rows()
    rows[12][3] = "cat"  # same target id as another row, other name
    with pytest.raises(MlsplabError, match="line 14.*'cat'"):
        parse_metadata(csv_text(rows))


def test_decode_fixes_stereo_rate_and_length_with_warnings(caplog) -> None:
    rng = np.random.default_rng(0)
    y = synth_wave(3, sr=SAMPLE_RATE, seconds=5.0, rng=rng)
    with caplog.at_level(logging.WARNING):
        mono = decode_audio(wav_bytes(y, SAMPLE_RATE), name="ok.wav")
    assert mono.shape == (N_SAMPLES,) and not caplog.records

    stereo = np.stack([y, y], axis=1)
    with caplog.at_level(logging.WARNING):
        out = decode_audio(wav_bytes(stereo, SAMPLE_RATE), name="stereo.wav")
    assert out.shape == (N_SAMPLES,)
    assert np.allclose(out, mono, atol=1e-4)
    assert "stereo.wav: 2 channels" in caplog.text

    caplog.clear()
    y22 = synth_wave(3, sr=22050, seconds=5.0, rng=rng)
    with caplog.at_level(logging.WARNING):
        out = decode_audio(wav_bytes(y22, 22050), name="slow.wav")
    assert out.shape == (N_SAMPLES,)
    assert "slow.wav: sample rate 22050 Hz; resampling to 44100 Hz" in caplog.text

    caplog.clear()
    with caplog.at_level(logging.WARNING):
        short = decode_audio(wav_bytes(y[:SAMPLE_RATE], SAMPLE_RATE), name="short.wav")
        long = decode_audio(wav_bytes(np.concatenate([y, y]), SAMPLE_RATE), name="long.wav")
    assert short.shape == long.shape == (N_SAMPLES,)
    assert np.all(short[SAMPLE_RATE:] == 0) and np.abs(short[:SAMPLE_RATE]).max() > 0.1
    assert "short.wav: 1.000 s long; zero-padding" in caplog.text
    assert "long.wav: 10.000 s long; cropping" in caplog.text


def test_corrupt_and_missing_audio_are_named(tmp_path: Path) -> None:
    with pytest.raises(MlsplabError, match="junk.wav: unreadable or corrupt audio"):
        decode_audio(b"RIFF....not really", name="junk.wav")
    rows = esc_rows()
    bad, gone = rows[3][0], rows[5][0]
    zip_path = write_esc_zip(tmp_path / "esc.zip", corrupt={bad}, missing={gone})
    clips = read_metadata(zip_path)
    with pytest.raises(MlsplabError, match=rf"{bad} \(CSV line 5\): unreadable"):
        list(iter_audio(zip_path, clips[:5]))
    with pytest.raises(MlsplabError, match=rf"member '.*{gone}' not found"):
        list(iter_audio(zip_path, clips[5:7]))


def test_read_metadata_refuses_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "esc.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(ESC_META_MEMBER, b"filename,fold\n\xff\xfe\xfa")
    with pytest.raises(MlsplabError, match="not UTF-8"):
        read_metadata(path)


@pytest.mark.skipif(not REAL_ZIP.exists(), reason=f"{REAL_ZIP} not present")
def test_real_metadata_folds() -> None:
    clips = read_metadata(REAL_ZIP)
    split = split_clips(clips)
    assert len(clips) == 400 and len(class_names(clips)) == 10
    assert [len(split[k]) for k in ("train", "val", "test")] == [240, 80, 80]
    ((_, y),) = list(iter_audio(REAL_ZIP, clips[:1]))
    assert y.shape == (N_SAMPLES,) and y.dtype == np.float32 and np.abs(y).max() <= 1.0


def test_source_recording_columns_are_kept() -> None:
    clips = parse_metadata(csv_text(esc_rows()))
    assert clips[0].src_file == "100000" and clips[0].take == "A"


def test_decode_error_says_the_callers_fix() -> None:
    with pytest.raises(MlsplabError, match=r"x\.ogg: unreadable or corrupt audio.*; pass a WAV") \
            as err:
        decode_audio(b"not audio", name="x.ogg", fix="pass a WAV")
    assert "BytesIO" not in str(err.value)
    with pytest.raises(MlsplabError, match="valid WAV from the ESC-50 archive"):
        decode_audio(b"not audio", name="y.wav")
