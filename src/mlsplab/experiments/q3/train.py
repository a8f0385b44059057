"""One training of one configuration, seed and split: the unit every Q3 step runs as a Task.

:func:`train_one` is a module-level function of one picklable :class:`TrainJob`, so an executor
may run it in another process or on another machine. It writes everything it produces under
``<out>/q3-models/<job.name>/``:

* while training: ``ckpt.pt`` (weights, optimizer state, RNG, history; ~18 MB) and
  ``ckpt.pt.best`` (the best weights so far), written by :func:`mlsplab.training.fit`, so a
  killed training resumes where it stopped;
* when finished: ``model.pt`` (the lowest-validation-loss weights, the model config and the
  feature standardisation: what ``mlsplab classify`` needs, ~6 MB) and ``result.json`` (history,
  posteriors and accuracies at the best and the last epoch). Only then are the two resume
  checkpoints deleted; a later call finds ``result.json`` with the same config hash and reuses
  the training.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from mlsplab.errors import MlsplabError
from mlsplab.executors import where
from mlsplab.experiments.common import finished_metrics
from mlsplab.experiments.q3.config import (
    BATCH_SIZE,
    EVAL_BATCH,
    MODELS_DIR,
    MOMENTUM,
    THREADS,
    Split,
    Training,
)
from mlsplab.experiments.q3.data import EscData, load_split
from mlsplab.experiments.q3.deep_config import DeepTraining
from mlsplab.features.logmel import LogMelParams
from mlsplab.io import atomic_write_json, config_hash
from mlsplab.models.esc_cnn import EscCnn, EscCnnConfig
from mlsplab.models.esc_deep_cnn import EscDeepCnn, EscDeepCnnConfig
from mlsplab.runtime import select_device
from mlsplab.seeding import set_seed
from mlsplab.training import TrainConfig, fit, make_optimizer, remove_checkpoint, save_torch

log = logging.getLogger(__name__)

MODEL_FILE = "model.pt"
RESULT_FILE = "result.json"
CHECKPOINT_FILE = "ckpt.pt"
MODEL_FORMAT = "mlsplab-esc-cnn-v1"


@dataclass(frozen=True)
class TrainJob:
    """Everything one training needs; plain picklable values (no tensors, no open files)."""

    out: str  # results folder; the model lives in <out>/q3-models/<name>/
    zip_path: str  # the ESC-50 archive
    cache_dir: str  # the feature cache (extracted before the jobs run)
    params: LogMelParams
    feature_key: str  # hash of the front end and the archive
    training: Training | DeepTraining
    seed: int
    split: Split
    epochs: int
    batch_size: int = BATCH_SIZE
    eval_batch: int = EVAL_BATCH
    threads: int = THREADS
    device: str = "auto"
    augment: dict[str, int] | None = None  # the spec, when training.augment

    @property
    def name(self) -> str:
        """E.g. ``adam-lr0.001-batch-seed0-train123-val4-test5``."""
        return f"{self.training.key}-seed{self.seed}-{self.split.tag}"

    @property
    def run_dir(self) -> Path:
        return Path(self.out) / MODELS_DIR / self.name

    def identity(self, device: torch.device) -> dict[str, Any]:
        """What determines the numbers (hashed: a change retrains)."""
        return {"training": asdict(self.training), "seed": self.seed,
                "split": asdict(self.split), "epochs": self.epochs,
                "batch_size": self.batch_size, "eval_batch": self.eval_batch,
                "threads": self.threads, "device": device.type, "features": self.feature_key,
                "augment": self.augment if self.training.augment else None,
                "early_stopping": None}


def optimizer_settings(config: TrainConfig) -> dict[str, Any]:
    """The optimizer's settings as torch constructs it (its defaults for what is not set)."""
    opt = make_optimizer(config, [torch.nn.Parameter(torch.zeros(1))])
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in opt.defaults.items()
            if isinstance(v, (int, float, bool, tuple)) or v is None}


def batches(n: int, seed: int, epoch: int, batch_size: int = BATCH_SIZE) -> list[np.ndarray]:
    """Shuffled mini-batches of indices, a pure function of (seed, epoch)."""
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    return [perm[i:i + batch_size] for i in range(0, n, batch_size)]


def augment_batch(x: torch.Tensor, rng: np.random.Generator, spec: dict[str, int]
                  ) -> torch.Tensor:
    """Random time shift + SpecAugment-style masks on standardised log-mels (B, 1, F, T).

    Masked cells are set to 0, the training mean after standardisation.
    """
    x = x.clone()
    B, _, n_mels, n_frames = x.shape
    for i in range(B):
        shift = int(rng.integers(-spec["max_shift_frames"], spec["max_shift_frames"] + 1))
        x[i] = torch.roll(x[i], shift, dims=-1)  # (1, F, T), circular along time
        for _ in range(spec["freq_masks"]):
            w = int(rng.integers(0, spec["freq_mask_width"] + 1))
            f0 = int(rng.integers(0, n_mels - w + 1))
            x[i, :, f0:f0 + w, :] = 0.0  # mel bands f0 .. f0 + w - 1
        for _ in range(spec["time_masks"]):
            w = int(rng.integers(0, spec["time_mask_width"] + 1))
            t0 = int(rng.integers(0, n_frames - w + 1))
            x[i, :, :, t0:t0 + w] = 0.0  # frames t0 .. t0 + w - 1
    return x


def predict_logits(model: torch.nn.Module, X: torch.Tensor, eval_batch: int) -> torch.Tensor:
    """Logits of ``X`` (n, 1, F, T) -> (n, n_classes), eval mode, no gradients, on X's device."""
    model.eval()
    with torch.no_grad():
        return torch.cat([model(X[i:i + eval_batch]) for i in range(0, len(X), eval_batch)])


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> list[list[int]]:
    """Counts, rows: true class, columns: predicted class."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm.tolist()


def _evaluate(model: torch.nn.Module, data: EscData, device: torch.device, eval_batch: int,
              suffix: str) -> dict[str, Any]:
    """Loss, accuracy, posteriors and test confusion of the model's current weights."""
    out: dict[str, Any] = {}
    for split in ("val", "test"):
        logits = predict_logits(model, data.X[split].to(device), eval_batch).cpu()
        y = data.y[split]
        out[f"{split}_loss{suffix}"] = float(F.cross_entropy(logits, y))
        out[f"{split}_accuracy{suffix}"] = float((logits.argmax(1) == y).float().mean())
        out[f"{split}_probs{suffix}"] = torch.softmax(logits, 1).numpy().round(6).tolist()
    out[f"confusion_matrix{suffix}"] = confusion(
        data.y["test"].numpy(), np.asarray(out[f"test_probs{suffix}"]).argmax(1),
        len(data.class_names))
    return out


def _reuse(job: TrainJob, identity: dict[str, Any]) -> dict[str, Any] | None:
    """The finished result of this very job, if ``result.json`` and ``model.pt`` exist."""
    if not (job.run_dir / MODEL_FILE).exists():
        return None
    done = finished_metrics(job.run_dir, identity, filename=RESULT_FILE)
    if done is None:
        return None
    remove_checkpoint(job.run_dir / CHECKPOINT_FILE)  # a kill may have come between the writes
    log.info("reusing trained model %s", job.run_dir)
    return {**done, "reused": True}  # marked for this call's timing only, not in the file


def _save_model(job: TrainJob, data: EscData, recipe: Recipe, state: dict[str, torch.Tensor],
                best_epoch: int) -> Path:
    """Write ``model.pt`` atomically and check that it loads back with ``weights_only=True``."""
    path = job.run_dir / MODEL_FILE
    save_torch(path, {
        "format": MODEL_FORMAT, "model_config": asdict(recipe.model_config),
        "architecture": recipe.architecture,
        "state": {k: v.detach().cpu() for k, v in state.items()},
        "class_names": data.class_names, "feature_params": asdict(job.params),
        "mean": torch.from_numpy(data.mean), "std": torch.from_numpy(data.std),
        "training": job.training.key, "seed": job.seed, "split": job.split.tag,
        "best_epoch": best_epoch})
    loaded = torch.load(path, map_location="cpu", weights_only=True)
    if set(loaded["state"]) != set(state):
        raise MlsplabError(f"{path}: the saved weights do not read back; delete "
                           f"{job.run_dir} and run the same command again")
    return path


def train_one(job: TrainJob) -> dict[str, Any]:
    """Train (or resume, or reuse) one CNN; evaluate it at its best and its last epoch.

    Parameters
    ----------
    job : TrainJob

    Returns
    -------
    dict
        The content of ``result.json``: ``history`` (one row per epoch), ``best_epoch``,
        ``val_*``/``test_*`` accuracy, loss and posteriors at the lowest-validation-loss epoch
        and, with suffix ``_last``, at the last epoch; ``confusion_matrix`` (test),
        ``val_labels``/``test_labels``/``test_files``, ``optimizer_settings``, ``host``,
        ``device``, ``train_seconds``, ``disk`` (bytes kept and resume checkpoints deleted).
    """
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(job.threads)
    try:
        return _train(job)
    finally:
        torch.set_num_threads(previous_threads)


@dataclass
class Recipe:
    """What differs between the models trained by :func:`train_one`: the model, its config
    (saved in ``model.pt``), the trainer's settings, the step and the batches."""

    model: torch.nn.Module
    model_config: Any  # a dataclass: EscCnnConfig or EscDeepCnnConfig
    architecture: str  # "cnn" (the assignment's) or "deep" (EscDeepCnn)
    train: TrainConfig
    train_step: Callable[[torch.nn.Module, Any], tuple[torch.Tensor, int]]
    train_batches: Callable[[int], list[Any]]
    lr_schedule: Callable[[int, int, int], float] | None = None


def _assignment_recipe(job: TrainJob, data: EscData, device: torch.device) -> Recipe:
    """The assignment's CNN (optionally with q3x-augmented's augmentation)."""
    training = job.training
    assert isinstance(training, Training)
    model_config = EscCnnConfig(n_mels=data.X["train"].shape[2],
                                n_frames=data.X["train"].shape[3],
                                n_classes=len(data.class_names), norm=training.norm)
    set_seed(job.seed)  # the one seeding of this training: initialisation; batches use job.seed
    model = EscCnn(model_config).to(device)
    X, y = data.X["train"].to(device), data.y["train"].to(device)
    augment = job.augment if training.augment else None

    def train_step(m: torch.nn.Module, idx: np.ndarray) -> tuple[torch.Tensor, int]:
        x = X[torch.from_numpy(idx).to(device)]  # (B, 1, F, T)
        if augment:  # randomness a pure function of (seed, batch), so a resume repeats it
            x = augment_batch(x, np.random.default_rng([job.seed, *idx.tolist()]), augment)
        logits = m(x)  # (B, n_classes)
        return F.cross_entropy(logits, y[torch.from_numpy(idx).to(device)],
                               reduction="sum"), len(idx)

    train = TrainConfig(epochs=job.epochs, optimizer=training.optimizer, lr=training.lr,
                        momentum=MOMENTUM, early_stop_patience=None)
    return Recipe(model, model_config, "cnn", train, train_step,
                  lambda epoch: batches(len(X), job.seed, epoch, job.batch_size))


def _recipe(job: TrainJob, data: EscData, device: torch.device) -> Recipe:
    if isinstance(job.training, Training):
        return _assignment_recipe(job, data, device)
    from mlsplab.experiments.q3.deep_train import deep_recipe  # imports this module

    return deep_recipe(job, data, device)


def _train(job: TrainJob) -> dict[str, Any]:
    device = select_device(job.device)
    identity = job.identity(device)
    if (done := _reuse(job, identity)) is not None:
        return done
    t0 = time.perf_counter()
    data = load_split(job.zip_path, job.cache_dir, job.split, job.params)
    recipe = _recipe(job, data, device)
    model = recipe.model
    X_val, y_val = data.X["val"].to(device), data.y["val"].to(device)

    def evaluate(m: torch.nn.Module) -> dict[str, float]:  # no augmentation: the clips as they are
        logits = predict_logits(m, X_val, job.eval_batch)
        return {"loss": float(F.cross_entropy(logits, y_val)),
                "accuracy": float((logits.argmax(1) == y_val).float().mean())}

    job.run_dir.mkdir(parents=True, exist_ok=True)
    result = fit(model, config=recipe.train, train_batches=recipe.train_batches,
                 train_step=recipe.train_step, evaluate=evaluate,
                 checkpoint_path=job.run_dir / CHECKPOINT_FILE, run_config=identity,
                 seed=job.seed, progress=False, desc=job.name, lr_schedule=recipe.lr_schedule)
    out: dict[str, Any] = {
        "config": identity, "config_hash": config_hash(identity), "name": job.name,
        "training": job.training.key, **asdict(job.training), "seed": job.seed,
        "split": job.split.tag, "optimizer_settings": optimizer_settings(recipe.train),
        "history": result.history, "epochs_completed": len(result.history),
        "best_epoch": result.best_epoch,
        "n_parameters": sum(p.numel() for p in model.parameters())}
    out.update(_evaluate(model, data, device, job.eval_batch, "_last"))  # last epoch's weights
    model.load_state_dict(result.best_state)
    out.update(_evaluate(model, data, device, job.eval_batch, ""))  # lowest validation loss
    out.update({"val_labels": data.y["val"].tolist(), "test_labels": data.y["test"].tolist(),
                "test_files": data.filenames["test"], "class_names": data.class_names,
                "split_sizes": {k: int(v.shape[0]) for k, v in data.y.items()},
                "train_seconds": sum(r["seconds"] for r in result.history),
                "wall_seconds": time.perf_counter() - t0, "host": where(),
                "device": str(device), "threads": torch.get_num_threads()})
    model_path = _save_model(job, data, recipe, result.best_state, result.best_epoch)
    removable = [job.run_dir / n for n in (CHECKPOINT_FILE, CHECKPOINT_FILE + ".best")]
    out["disk"] = {"model_bytes": model_path.stat().st_size,
                   "resume_checkpoint_bytes_deleted": sum(p.stat().st_size for p in removable
                                                          if p.exists())}
    atomic_write_json(job.run_dir / RESULT_FILE, out)
    remove_checkpoint(job.run_dir / CHECKPOINT_FILE)  # only now: weights and results are on disk
    log.info("%s: best epoch %d, test accuracy %.4f (last epoch %.4f)", job.name,
             out["best_epoch"], out["test_accuracy"], out["test_accuracy_last"])
    return out


def load_model(path: str | Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """A finished model from its ``model.pt`` (``weights_only=True``), in eval mode.

    Returns
    -------
    model : EscCnn or EscDeepCnn (``architecture`` in the file; absent: the assignment's CNN)
    info : dict
        The file's other entries: ``class_names``, ``feature_params``, ``mean``/``std``
        tensors of shape (n_mels, 1), ``training``, ``seed``, ``split``, ``best_epoch``.

    Raises
    ------
    MlsplabError
        If the file is missing, unreadable or not an mlsplab ESC-10 model.
    """
    path = Path(path)
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as e:
        raise MlsplabError(f"{path}: model file not found") from e
    except Exception as e:  # torch raises many types for corrupt files
        raise MlsplabError(f"{path}: not a readable model file ({type(e).__name__}); delete its "
                           "folder and train it again") from e
    if not isinstance(blob, dict) or blob.get("format") != MODEL_FORMAT:
        raise MlsplabError(f"{path}: not an mlsplab ESC-10 model file (format tag missing)")
    model: torch.nn.Module
    if blob.get("architecture", "cnn") == "deep":
        config = dict(blob["model_config"])
        model = EscDeepCnn(EscDeepCnnConfig(**{**config, "channels": tuple(config["channels"])}))
    else:
        model = EscCnn(EscCnnConfig(**blob["model_config"]))
    model.load_state_dict(blob["state"])
    model.eval()
    return model, {k: v for k, v in blob.items() if k not in ("state", "model_config")}
