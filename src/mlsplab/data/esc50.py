"""ESC-50 archive layout and the ESC-10 loader: metadata rows, class names, folds, and audio.

The archive holds ``ESC-50-master/meta/esc50.csv`` (2,000 rows: ``filename, fold, target,
category, esc10, ...``) and ``ESC-50-master/audio/*.wav``. ESC-10 is the 400 rows with
``esc10 == True``: 10 classes x 40 clips, 80 clips per fold. The assignment uses folds 1-3 for
training, fold 4 for validation and fold 5 for testing.

Audio is decoded with ``soundfile`` straight from the zip (no extraction) and made into what the
features expect: mono, :data:`SAMPLE_RATE` Hz, exactly :data:`CLIP_SECONDS` seconds. Anything
else is fixed with a logged warning; an unreadable file raises :class:`MlsplabError` naming it.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlsplab.data.archive import open_zip, read_member
from mlsplab.errors import MlsplabError

log = logging.getLogger(__name__)

ESC_ROOT = "ESC-50-master"
ESC_META_MEMBER = f"{ESC_ROOT}/meta/esc50.csv"
ESC_AUDIO_DIR = f"{ESC_ROOT}/audio"

SAMPLE_RATE = 44100  # Hz, the rate of every ESC-50 clip
CLIP_SECONDS = 5
N_SAMPLES = CLIP_SECONDS * SAMPLE_RATE  # 220500 samples in a 5-second clip
N_FOLDS = 5
N_TARGETS = 50  # ESC-50 class ids are 0..49
REQUIRED_COLUMNS = ("filename", "fold", "target", "category", "esc10")
SPLIT_FOLDS = {"train": (1, 2, 3), "val": (4,), "test": (5,)}  # the assignment's split


@dataclass(frozen=True)
class Clip:
    """One ESC-10 row of the metadata."""

    filename: str  # e.g. "1-100032-A-0.wav", inside ESC_AUDIO_DIR
    fold: int  # 1..5
    target: int  # ESC-50 class id, 0..49
    category: str  # class name, e.g. "dog"
    label: int  # ESC-10 class index 0..9 (ESC-50 ids in increasing order)
    row: int  # line number in esc50.csv (the header is line 1)
    src_file: str = ""  # the Freesound recording the clip was cut from ("" if no such column)
    take: str = ""  # which cut of that recording: A, B, ...


def _parse_bool(value: str) -> bool | None:
    v = value.strip().lower()
    return True if v == "true" else False if v == "false" else None


def parse_metadata(text: str, *, source: str = ESC_META_MEMBER) -> list[Clip]:
    """Parse ``esc50.csv`` text and return the ESC-10 clips with labels 0..9.

    Parameters
    ----------
    text : str
        The CSV text (header ``filename,fold,target,category,esc10,...``).
    source : str
        Name used in error messages.

    Returns
    -------
    clips : list of Clip
        The rows with ``esc10 == True``, in file order; ``label`` indexes the sorted ESC-50
        target ids of those rows.

    Raises
    ------
    MlsplabError
        If a required column is missing, or a row has an unknown fold, a class id that is not
        an integer in 0..49, an ``esc10`` value that is not True/False, a category that
        disagrees with another row of the same class, or no ESC-10 rows exist.
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise MlsplabError(f"{source}: missing column(s) {missing}; expected a header with "
                           f"{list(REQUIRED_COLUMNS)} (is this ESC-50's meta/esc50.csv?)")
    raw: list[tuple[str, int, int, str, int, str, str]] = []
    names: dict[int, str] = {}
    for row_number, row in enumerate(reader, start=2):
        where = f"{source} line {row_number} ({row.get('filename')!r})"
        esc10 = _parse_bool(row["esc10"] or "")
        if esc10 is None:
            raise MlsplabError(f"{where}: esc10={row['esc10']!r}; expected True or False")
        try:
            fold = int(row["fold"])
        except (TypeError, ValueError):
            fold = -1
        if not 1 <= fold <= N_FOLDS:
            raise MlsplabError(f"{where}: unknown fold {row['fold']!r}; expected 1..{N_FOLDS}")
        try:
            target = int(row["target"])
        except (TypeError, ValueError):
            target = -1
        if not 0 <= target < N_TARGETS:
            raise MlsplabError(f"{where}: bad class id target={row['target']!r}; expected an "
                               f"integer in 0..{N_TARGETS - 1}")
        filename = (row["filename"] or "").strip()
        if not filename.lower().endswith(".wav") or "/" in filename or "\\" in filename:
            raise MlsplabError(f"{where}: filename {filename!r} is not a plain .wav file name")
        category = (row["category"] or "").strip()
        if names.setdefault(target, category) != category:
            raise MlsplabError(f"{where}: category {category!r} for class id {target}, but an "
                               f"earlier row calls it {names[target]!r}; fix the CSV")
        if esc10:
            raw.append((filename, fold, target, category, row_number,
                        (row.get("src_file") or "").strip(), (row.get("take") or "").strip()))
    if not raw:
        raise MlsplabError(f"{source}: no rows with esc10 == True; not the ESC-50 metadata")
    targets = sorted({r[2] for r in raw})
    index = {t: i for i, t in enumerate(targets)}
    return [Clip(f, fold, t, c, index[t], r, src, take) for f, fold, t, c, r, src, take in raw]


def class_names(clips: list[Clip]) -> list[str]:
    """Category names indexed by ESC-10 label."""
    names: dict[int, str] = {c.label: c.category for c in clips}
    return [names[i] for i in range(len(names))]


def split_clips(clips: list[Clip], folds: dict[str, tuple[int, ...]] | None = None
                ) -> dict[str, list[Clip]]:
    """Clips by split name; ``folds`` maps each split to its folds (default
    :data:`SPLIT_FOLDS`, the assignment's: folds 1-3 train, fold 4 validation, fold 5 test)."""
    folds = SPLIT_FOLDS if folds is None else folds
    return {name: [c for c in clips if c.fold in f] for name, f in folds.items()}


def read_metadata(zip_path: str | Path) -> list[Clip]:
    """Read and parse the metadata CSV inside the ESC-50 zip (see :func:`parse_metadata`)."""
    with open_zip(zip_path) as zf:
        data = read_member(zf, ESC_META_MEMBER, zip_path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise MlsplabError(f"{zip_path}: {ESC_META_MEMBER} is not UTF-8 text ({e})") from e
    return parse_metadata(text, source=f"{zip_path}:{ESC_META_MEMBER}")


FIX_ARCHIVE = "replace it with a valid WAV from the ESC-50 archive"


def decode_audio(data: bytes, *, name: str, sr: int = SAMPLE_RATE,
                 n_samples: int = N_SAMPLES, fix: str = FIX_ARCHIVE) -> np.ndarray:
    """Decode a WAV (or any libsndfile format) into a mono float32 clip of fixed length.

    Parameters
    ----------
    data : bytes
        The encoded file.
    name : str
        File name for warnings and errors.
    sr : int > 0
        Target sample rate in Hz; other rates are resampled (librosa, soxr) with a warning.
    n_samples : int > 0
        Target length in samples; shorter clips are zero-padded at the end and longer ones
        cropped, with a warning.
    fix : str
        What the error message tells the user to do with an unreadable file.

    Returns
    -------
    y : ndarray of shape (n_samples,), float32 in [-1, 1]

    Raises
    ------
    MlsplabError
        If the bytes cannot be decoded or hold no samples.
    """
    import soundfile as sf

    try:
        y, file_sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)  # (n, channels)
    except (RuntimeError, sf.LibsndfileError, ValueError, TypeError) as e:
        reason = re.sub(r"Error opening <_io\.BytesIO object at 0x[0-9a-f]+>: ", "", str(e))
        raise MlsplabError(f"{name}: unreadable or corrupt audio file ({reason.strip()}); "
                           f"{fix}") from e
    if y.shape[0] == 0:
        raise MlsplabError(f"{name}: audio file holds no samples; {fix}")
    if not np.isfinite(y).all():  # librosa would fail later with a traceback
        bad = int(y.size - np.isfinite(y).sum())
        raise MlsplabError(f"{name}: audio holds {bad} NaN or infinite sample value(s), which "
                           "no model can read; export it again with finite samples")
    if y.shape[1] > 1:
        log.warning("%s: %d channels; averaging to mono", name, y.shape[1])
    y = y.mean(axis=1)  # (n, channels) -> (n,)
    if file_sr != sr:
        import librosa

        log.warning("%s: sample rate %d Hz; resampling to %d Hz", name, file_sr, sr)
        y = librosa.resample(y, orig_sr=file_sr, target_sr=sr)
    if len(y) != n_samples:
        log.warning("%s: %.3f s long; %s to %.3f s", name, len(y) / sr,
                    "zero-padding" if len(y) < n_samples else "cropping", n_samples / sr)
        y = np.pad(y, (0, max(0, n_samples - len(y))))[:n_samples]
    return np.ascontiguousarray(y, dtype=np.float32)


def iter_audio(zip_path: str | Path, clips: list[Clip], *, sr: int = SAMPLE_RATE,
               n_samples: int = N_SAMPLES):
    """Yield ``(clip, waveform)`` for each clip, reading the WAVs from the zip in order.

    Raises
    ------
    MlsplabError
        If a listed WAV is missing from the archive or cannot be decoded (the message names it).
    """
    with open_zip(zip_path) as zf:
        for clip in clips:
            member = f"{ESC_AUDIO_DIR}/{clip.filename}"
            data = read_member(zf, member, zip_path)
            yield clip, decode_audio(data, name=f"{zip_path}:{member} (CSV line {clip.row})",
                                     sr=sr, n_samples=n_samples)
