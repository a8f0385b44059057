"""``mlsplab classify FILE...``: the ten ESC-10 classes of your own sounds.

Each file (WAV, FLAC, OGG: any sample rate, channels or length) is made into what the models
were trained on exactly as the data loader does it (:func:`mlsplab.data.esc50.decode_audio`:
resampled to 44.1 kHz, averaged to mono, zero-padded or cropped to 5 s, each with a warning),
then turned into the same log-mel features, standardised with the training folds' statistics
stored in the model file. Two classifiers of a results folder answer:

* the assignment's Adam/BatchNorm CNN (``q3b-batchnorm``), the seed with the highest
  validation accuracy;
* Q3(c)'s headline ensemble (the combination chosen on validation) of the seed whose headline
  has the highest out-of-fold validation accuracy, with that seed's fitted weights;
* when it has been trained (``q3x-deep-cnn``), the deeper CNN beyond the assignment, the fold
  model with the highest validation accuracy: it answers first. A results folder with only the
  deeper CNN is enough.

A silent, clipped or short file is still classified, with a warning; a file with NaN or
infinite samples is refused with one line naming it.

Every model file loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mlsplab.cli_options import add_runs, examples, positive_int
from mlsplab.data.esc50 import decode_audio
from mlsplab.errors import MlsplabError
from mlsplab.experiments.ids import Q3B_BATCHNORM
from mlsplab.experiments.q3.config import ENSEMBLE_ID, MODELS_DIR
from mlsplab.experiments.q3.deep_config import DEEP_ID
from mlsplab.experiments.q3.train import load_model
from mlsplab.features.logmel import LogMelParams, log_mel_spectrogram
from mlsplab.formatting import count
from mlsplab.io import read_json

log = logging.getLogger(__name__)

SINGLE_ID = Q3B_BATCHNORM  # the assignment's Adam/BatchNorm CNN
FIX_AUDIO = "pass a WAV, FLAC or OGG audio file"
METHOD_NAMES = {"average": "posterior averaging", "optimal-weights": "optimal linear weights",
                "least-squares": "least-squares weights"}


@dataclass
class Classifier:
    """Models whose posteriors are combined with ``weights`` (one model: weight 1)."""

    name: str  # what the output calls it
    models: list[torch.nn.Module]
    infos: list[dict[str, Any]]  # each model file's class names, feature params, mean/std
    weights: list[float]

    def posteriors(self, waveform: np.ndarray) -> np.ndarray:
        """Class posteriors of one waveform, shape (n_classes,)."""
        total = 0.0
        for model, info, w in zip(self.models, self.infos, self.weights):
            total = total + w * _posterior(model, info, waveform)
        return np.asarray(total)


def _posterior(model: torch.nn.Module, info: dict[str, Any], waveform: np.ndarray
               ) -> np.ndarray:
    p = LogMelParams(**info["feature_params"])
    feats = log_mel_spectrogram(y=waveform, sr=p.sr, n_fft=p.n_fft, win_length=p.win_length,
                                hop_length=p.hop_length, n_mels=p.n_mels, fmin=p.fmin,
                                fmax=p.fmax, n_frames=p.n_frames, amin=p.amin)  # (F, T)
    x = (torch.from_numpy(feats) - info["mean"]) / info["std"]  # (F, T), training statistics
    with torch.no_grad():
        logits = model(x[None, None].float())  # (1, 1, F, T) -> (1, n_classes)
    return torch.softmax(logits, dim=1)[0].numpy()


def _train_command(out: Path) -> str:
    return f"`mlsplab esc10 --out {out}` (or `mlsplab reproduce --only q3 --out {out}`)"


def _metrics(out: Path, exp_id: str) -> dict[str, Any]:
    path = out / exp_id / "metrics.json"
    if not path.exists():
        raise MlsplabError(f"--runs {out}: no trained ESC-10 models ({path} is missing); train "
                           f"them with {_train_command(out)}")
    return read_json(path)


def _load(out: Path, relative: str) -> tuple[torch.nn.Module, dict[str, Any]]:
    path = out / MODELS_DIR / relative
    if not path.exists():
        raise MlsplabError(f"{path}: model file missing (deleted, or an older results folder); "
                           f"train it again with {_train_command(out)}")
    return load_model(path)


def adam_batchnorm(out: Path) -> Classifier:
    """The Adam/BatchNorm CNN of the seed with the highest validation accuracy."""
    doc = _metrics(out, SINGLE_ID)
    i = int(np.argmax(doc["val_accuracy_per_seed"]))
    model, info = _load(out, doc["models"][i])
    return Classifier(f"Adam/BatchNorm (seed {doc['seeds'][i]}, the best validation accuracy "
                      f"of {count(len(doc['seeds']), 'seed')})", [model], [info], [1.0])


def headline_ensemble(out: Path) -> Classifier:
    """Q3(c)'s headline ensemble of the seed whose headline validates best out of fold."""
    doc = _metrics(out, ENSEMBLE_ID)
    head = doc["headline_method"]
    entry = doc["methods"][head]
    i = int(np.argmax(entry["val_accuracy_oof_per_seed"]))
    loaded = [_load(out, doc["member_models"][name][i]) for name in doc["members"]]
    return Classifier(f"ensemble, {METHOD_NAMES.get(head, head)} of "
                      f"{', '.join(doc['members'])} (seed {doc['seeds'][i]})",
                      [m for m, _ in loaded], [info for _, info in loaded],
                      list(entry["weights_per_seed"][i]))


def deeper_cnn(out: Path) -> Classifier:
    """The deeper CNN's fold model with the highest validation accuracy."""
    doc = _metrics(out, DEEP_ID)
    i = int(np.argmax(doc["val_accuracy_per_fold"]))
    model, info = _load(out, doc["models"][i])
    fold = doc["folds"][i]
    return Classifier(f"deeper CNN (test fold {fold['test_fold']}'s model, the best validation "
                      f"accuracy of {len(doc['folds'])} folds)", [model], [info], [1.0])


def available_classifiers(out: Path) -> list[Classifier]:
    """The deeper CNN first when trained, then the assignment's CNN and Q3(c)'s ensemble (both
    required unless the deeper CNN is there)."""
    found = [deeper_cnn(out)] if (out / DEEP_ID / "metrics.json").exists() else []
    if found and not (out / SINGLE_ID / "metrics.json").exists():
        return found
    return [*found, adam_batchnorm(out), headline_ensemble(out)]


SILENT_PEAK = 1e-4  # peak |sample| below this (-80 dBFS): silent
CLIPPED_FRACTION = 1e-3  # more samples than this at full scale: clipped


def check_level(y: np.ndarray, name: str) -> None:
    """Warn (and go on) when a clip is silent or clipped: the answer may mean little."""
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak < SILENT_PEAK:
        log.warning("%s: silent (peak %.1e); the classes below are a guess", name, peak)
    elif (clipped := float(np.mean(np.abs(y) >= 0.999))) > CLIPPED_FRACTION:
        log.warning("%s: clipped (%.1f %% of samples at full scale); the distortion may "
                    "change the answer", name, 100 * clipped)


def read_audio(path: Path, params: LogMelParams) -> np.ndarray:
    """A file as the loader would make it: mono, ``params.sr`` Hz, ``clip_seconds`` long.

    Raises
    ------
    MlsplabError
        If the file is missing, a folder, empty, not decodable audio, or holds NaN or
        infinite samples.
    """
    if not path.exists():
        raise MlsplabError(f"{path}: no such file; {FIX_AUDIO}")
    if path.is_dir():
        raise MlsplabError(f"{path}: is a folder; {FIX_AUDIO}")
    data = path.read_bytes()
    if not data:
        raise MlsplabError(f"{path}: empty file; {FIX_AUDIO}")
    y = decode_audio(data, name=str(path), sr=params.sr,
                     n_samples=round(params.clip_seconds * params.sr), fix=FIX_AUDIO)
    check_level(y, str(path))
    return y


def top_classes(probs: np.ndarray, names: list[str], k: int) -> list[tuple[str, float]]:
    """The ``k`` most probable classes with their probabilities, most probable first."""
    order = np.argsort(-probs, kind="stable")[:k]
    return [(names[i], float(probs[i])) for i in order]


def classify(files: list[Path], out: Path, k: int = 3) -> list[dict[str, Any]]:
    """Top-``k`` classes of each file from each classifier of the results folder ``out``.

    Returns
    -------
    list of dict
        Per file: ``file`` and ``results``, a list of ``(classifier name, [(class, p), ...])``.
    """
    if k < 1:
        raise MlsplabError(f"--top={k} must be >= 1")
    classifiers = available_classifiers(out)
    info = classifiers[0].infos[0]
    params = LogMelParams(**info["feature_params"])
    names = list(info["class_names"])
    waveforms = [read_audio(Path(f), params) for f in files]  # all errors before any output
    return [{"file": str(f), "results": [(c.name, top_classes(c.posteriors(y), names, k))
                                         for c in classifiers]}
            for f, y in zip(files, waveforms)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``mlsplab classify``."""
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE",
                        help="audio files: WAV, FLAC or OGG, any sample rate, channels and "
                             "length (made mono, 44.1 kHz and 5 s, with a warning)")
    add_runs(parser, what="the trained ESC-10 models, written by `mlsplab reproduce` or "
                          "`mlsplab esc10`")
    parser.add_argument("--top", type=positive_int, default=3, metavar="N",
                        help="the N most probable classes, per classifier")
    parser.epilog = examples(
        ("mlsplab classify dog.wav", "the top 3 classes from each classifier"),
        ("mlsplab classify --runs runs-quick --top 1 *.wav",
         "the models of a quick run (needs its q3 step)"),
    )


def main(args: argparse.Namespace) -> int:
    """Print the top classes of every file."""
    for item in classify(args.files, args.runs, args.top):
        print(item["file"])
        for name, top in item["results"]:
            shown = ", ".join(f"{c.replace('_', ' ')} {100 * p:.1f} %" for c, p in top)
            print(f"  {name}: {shown}")
    return 0
