"""A tiny synthetic stand-in for ESC-50-master.zip, written by tests (never committed data).

Each ESC-10 class is a sine at its own frequency (plus a little noise, and a 5 Hz amplitude
modulation for odd classes), so a CNN on log-mel features can tell them apart.  The CSV has
the real header and the real ESC-10 class ids, plus a few non-ESC-10 rows without audio, like
the real archive.  Import in tests as ``from synth_esc import write_esc_zip``.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf

ESC10 = [(0, "dog"), (1, "rooster"), (10, "rain"), (11, "sea_waves"), (12, "crackling_fire"),
         (20, "crying_baby"), (21, "sneezing"), (38, "clock_tick"), (40, "helicopter"),
         (41, "chainsaw")]
HEADER = ["filename", "fold", "target", "category", "esc10", "src_file", "take"]
ROOT = "ESC-50-master"


def clip_name(fold: int, index: int, target: int) -> str:
    return f"{fold}-{100000 + index}-A-{target}.wav"


def synth_wave(label: int, *, sr: int, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A class-specific tone: float32 of shape (round(sr * seconds),)."""
    t = np.arange(round(sr * seconds)) / sr
    freq = 300.0 * (1.5 ** label)  # 300 Hz .. ~11.5 kHz, well apart on the mel scale
    y = 0.3 * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
    if label % 2:
        y *= 0.5 * (1 + np.sin(2 * np.pi * 5 * t))
    y += 0.01 * rng.standard_normal(len(t))
    return y.astype(np.float32)


def wav_bytes(y: np.ndarray, sr: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, y, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def esc_rows(per_class_per_fold: int = 1, n_classes: int = 10) -> list[list[str]]:
    """CSV rows (without header): ESC-10 rows for folds 1-5 plus two non-ESC-10 rows."""
    rows, i = [], 0
    for fold in range(1, 6):
        for target, category in ESC10[:n_classes]:
            for _ in range(per_class_per_fold):
                rows.append([clip_name(fold, i, target), str(fold), str(target), category,
                             "True", str(100000 + i), "A"])
                i += 1
    rows.append(["1-999999-A-14.wav", "1", "14", "chirping_birds", "False", "999999", "A"])
    rows.append(["2-999998-A-36.wav", "2", "36", "vacuum_cleaner", "False", "999998", "A"])
    return rows


def csv_text(rows: list[list[str]], header: list[str] = HEADER) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def write_esc_zip(path: str | Path, *, per_class_per_fold: int = 1, n_classes: int = 10,
                  sr: int = 44100, seconds: float = 5.0, seed: int = 0,
                  csv_override: str | None = None, stereo: set[str] = frozenset(),
                  rates: dict[str, int] | None = None, durations: dict[str, float] | None = None,
                  corrupt: set[str] = frozenset(), missing: set[str] = frozenset()) -> Path:
    """Write a zip shaped like ESC-50-master.zip with synthetic ESC-10 audio.

    Parameters
    ----------
    per_class_per_fold : clips per class in each of the 5 folds (real data: 8)
    stereo / rates / durations / corrupt / missing : per-file deviations (by file name) to
        exercise the loader: two-channel audio, another sample rate, another length, garbage
        bytes instead of a WAV, no audio member at all.
    csv_override : CSV text to store instead of the generated metadata.

    Returns
    -------
    Path to the zip.
    """
    path = Path(path)
    rng = np.random.default_rng(seed)
    rows = esc_rows(per_class_per_fold, n_classes)
    labels = {t: i for i, (t, _) in enumerate(ESC10)}
    rates, durations = rates or {}, durations or {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{ROOT}/meta/esc50.csv", csv_override if csv_override is not None
                    else csv_text(rows))
        zf.writestr(f"{ROOT}/README.md", "synthetic ESC-50 stand-in for tests\n")
        for row in rows:
            name = row[0]
            if row[4] != "True" or name in missing:
                continue
            member = f"{ROOT}/audio/{name}"
            if name in corrupt:
                zf.writestr(member, b"RIFF\x00\x00garbage, not a wav file")
                continue
            rate = rates.get(name, sr)
            y = synth_wave(labels[int(row[2])], sr=rate, seconds=durations.get(name, seconds),
                           rng=rng)
            if name in stereo:
                y = np.stack([y, 0.5 * y], axis=1)  # (n, 2)
            zf.writestr(member, wav_bytes(y, rate))
    return path
