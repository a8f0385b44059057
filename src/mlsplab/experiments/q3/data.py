"""Q3's data: the cached log-mel features of the 400 ESC-10 clips, standardised per split.

The features are extracted once per results folder (``<out>/cache/``) by the process that
plans the trainings; each training (possibly in another process) then loads them from the cache
and standardises them with the statistics of its own training folds.
"""

from __future__ import annotations

import functools
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mlsplab.data.files import file_sha256
from mlsplab.errors import MlsplabError
from mlsplab.experiments.q3.config import Split
from mlsplab.features.logmel import (
    FeatureSet,
    LogMelParams,
    Standardizer,
    cache_key,
    load_esc10_features,
)

SPLIT_NAMES = ("train", "val", "test")


@dataclass
class EscData:
    """Standardised features of one split as tensors."""

    X: dict[str, torch.Tensor]  # split name -> (n, 1, n_mels, n_frames) float32
    y: dict[str, torch.Tensor]  # split name -> (n,) int64
    filenames: dict[str, list[str]]  # split name -> clip file names, in row order
    class_names: list[str]
    mean: np.ndarray  # (n_mels, 1): the training folds' per-band mean (dB)
    std: np.ndarray  # (n_mels, 1): the training folds' per-band std (dB)
    split: Split


def feature_identity(zip_path: Path, params: LogMelParams) -> dict[str, Any]:
    """What identifies the features: every front-end parameter and the archive's sha256."""
    sha = file_sha256(zip_path)
    return {"params": asdict(params), "zip_sha256": sha, "cache_key": cache_key(params, sha)}


def extract_features(zip_path: Path, cache_dir: Path, params: LogMelParams, *,
                     progress: bool = True) -> dict[str, Any]:
    """Build (or find) the feature cache, and describe it for metrics.json.

    Returns
    -------
    dict
        ``cache_file``, ``extraction_seconds`` (None when the cache was reused),
        ``extraction_seconds_when_built``, ``load_seconds``, ``shape_per_clip``, ``params``.
    """
    t0 = time.perf_counter()
    fs = load_esc10_features(zip_path, cache_dir, params=params, progress=progress)
    return {"cache_file": str(fs.cache_path), "extraction_seconds": fs.extraction_seconds,
            "extraction_seconds_when_built": fs.built_seconds,
            "load_seconds": time.perf_counter() - t0,
            "shape_per_clip": [params.n_mels, params.n_frames], "params": asdict(params),
            "standardisation": "per-band mean and std over the training folds' clips and frames"}


@functools.lru_cache(maxsize=2)
def _features(zip_path: str, zip_sha256: str, cache_dir: str,
              params: LogMelParams) -> FeatureSet:
    """The feature set, loaded once per process and archive content (the cache is ~100 MB)."""
    return load_esc10_features(Path(zip_path), Path(cache_dir), params=params, progress=False)


def load_split(zip_path: str | Path, cache_dir: str | Path, split: Split,
               params: LogMelParams) -> EscData:
    """The clips of ``split``'s folds, standardised with its training folds' statistics.

    Parameters
    ----------
    zip_path, cache_dir : path
        The ESC-50 archive and the feature cache folder (see :func:`extract_features`).
    split : Split
        Training folds, validation fold and test fold.
    params : LogMelParams

    Returns
    -------
    EscData

    Raises
    ------
    MlsplabError
        If a split has no clips (metadata without ESC-10 clips in some fold).
    """
    fs = _features(str(zip_path), file_sha256(zip_path), str(cache_dir), params)
    folds = {"train": split.train, "val": (split.val,), "test": (split.test,)}
    X, y, names = {}, {}, {}
    scaler = None
    for name in SPLIT_NAMES:
        rows = np.flatnonzero(np.isin(fs.folds, folds[name]))  # (n,) clip indices
        if len(rows) == 0:
            raise MlsplabError(f"{zip_path}: no ESC-10 clips in fold(s) {folds[name]} ({name} of "
                               f"{split.tag}); the metadata must have ESC-10 clips in folds 1-5")
        feats = fs.X[rows]  # (n, n_mels, n_frames)
        if scaler is None:  # "train" comes first: statistics of the training folds only
            scaler = Standardizer().fit(feats)
        X[name] = torch.from_numpy(scaler.transform(feats)).unsqueeze(1)  # (n, 1, F, T)
        y[name] = torch.from_numpy(fs.labels[rows])
        names[name] = [fs.filenames[i] for i in rows]
    assert scaler is not None
    return EscData(X, y, names, list(fs.class_names), scaler.mean_, scaler.std_, split)
