"""One ESC-10 CNN training: :class:`EscRecipe`, what :func:`mlsplab.training.run_job` needs
for Q3, and :func:`esc_job`, the job of one configuration, seed and split.

Everything a training produces lies under ``<out>/q3-models/<job.name>/``:

* while training: ``checkpoint.pt`` (weights, optimizer state, RNG, history; ~18 MB) and
  ``checkpoint.pt.best`` (the best weights so far), so a killed training resumes where it
  stopped (a ``ckpt.pt`` of an earlier version is resumed too);
* when finished: ``model.pt`` (the lowest-validation-loss weights, the model config and the
  feature standardisation: what ``mlsplab classify`` needs, ~6 MB) and ``result.json``
  (history, posteriors and accuracies at the best and the last epoch). Only then are the two
  resume checkpoints deleted; a later call finds ``result.json`` with the same config hash and
  reuses the training.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from mlsplab.errors import MlsplabError
from mlsplab.experiments.q3.batching import augment_batch, batches
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
from mlsplab.experiments.q3.deep_train import deep_model_config, deep_steps, deep_train_config
from mlsplab.features.logmel import LogMelParams
from mlsplab.models.esc_cnn import EscCnn, EscCnnConfig
from mlsplab.models.esc_deep_cnn import EscDeepCnn, EscDeepCnnConfig
from mlsplab.runtime import Precision, select_device
from mlsplab.training import (
    MODEL_FORMAT,
    Context,
    Recipe,
    Steps,
    TrainConfig,
    TrainingJob,
    make_optimizer,
)

MODEL_FILE = "model.pt"
KIND = "esc10-cnn"  # model.pt's kind: the assignment's CNN or the deeper one ("architecture")
OLD_MODEL_FORMAT = "mlsplab-esc-cnn-v1"  # model.pt of earlier versions, still read
# the ESC-10 CNNs train in fp32: --precision applies to the IMDB models only (and says so)
FP32 = Precision("fp32", "the ESC-10 CNNs train in fp32", {"source": "fixed for Q3"})


@dataclass(frozen=True)
class EscRecipe(Recipe):
    """An ESC-10 CNN on one split: the assignment's (optionally with q3x-augmented's
    augmentation) or the deeper one (:mod:`.deep_train`); plain picklable values."""

    zip_path: str  # the ESC-50 archive
    cache_dir: str  # the feature cache (extracted before the jobs run)
    params: LogMelParams
    feature_key: str  # hash of the front end and the archive
    training: Training | DeepTraining
    split: Split
    batch_size: int = BATCH_SIZE
    eval_batch: int = EVAL_BATCH
    augment: dict[str, Any] | None = None  # the spec, when training.augment
    kind: str = KIND

    @property
    def deep(self) -> bool:
        return isinstance(self.training, DeepTraining)

    def load_data(self, ctx: Context) -> EscData:
        return load_split(self.zip_path, self.cache_dir, self.split, self.params)

    def model_config(self, data: EscData) -> EscCnnConfig | EscDeepCnnConfig:
        if isinstance(self.training, DeepTraining):
            return deep_model_config(self.training, data)
        return EscCnnConfig(n_mels=data.X["train"].shape[2], n_frames=data.X["train"].shape[3],
                            n_classes=len(data.class_names), norm=self.training.norm)

    def build_model(self, ctx: Context) -> torch.nn.Module:
        config = self.model_config(ctx.data)
        model = EscDeepCnn(config) if self.deep else EscCnn(config)  # type: ignore[arg-type]
        return model.to(ctx.device)

    def steps(self, ctx: Context, model: torch.nn.Module) -> Steps:
        data, device, seed = ctx.data, ctx.device, ctx.job.seed
        X_val, y_val = data.X["val"].to(device), data.y["val"].to(device)

        def evaluate(m: torch.nn.Module) -> dict[str, float]:  # the clips as they are
            logits = predict_logits(m, X_val, self.eval_batch)
            return {"loss": float(F.cross_entropy(logits, y_val)),
                    "accuracy": float((logits.argmax(1) == y_val).float().mean())}

        if isinstance(self.training, DeepTraining):
            steps = deep_steps(self.training, data, device, seed=seed,
                               epochs=ctx.job.train.epochs, batch_size=self.batch_size,
                               augment=self.augment)
            steps.evaluate = evaluate
            return steps
        X, y = data.X["train"].to(device), data.y["train"].to(device)
        augment = self.augment if self.training.augment else None

        def train_step(m: torch.nn.Module, idx: np.ndarray) -> tuple[torch.Tensor, int]:
            x = X[torch.from_numpy(idx).to(device)]  # (B, 1, F, T)
            if augment:  # randomness a pure function of (seed, batch), so a resume repeats it
                x = augment_batch(x, np.random.default_rng([seed, *idx.tolist()]), augment)
            logits = m(x)  # (B, n_classes)
            return F.cross_entropy(logits, y[torch.from_numpy(idx).to(device)],
                                   reduction="sum"), len(idx)

        return Steps(lambda epoch: batches(len(X), seed, epoch, self.batch_size), train_step,
                     evaluate)

    def measure(self, ctx: Context, model: torch.nn.Module, weights: str) -> dict[str, Any]:
        """Validation and test loss, accuracy, posteriors and the test confusion matrix;
        the last epoch's under names ending in ``_last``."""
        suffix = "_last" if weights == "last" else ""
        return _evaluate(model, ctx.data, ctx.device, self.eval_batch, suffix)

    def record(self, ctx: Context, model: torch.nn.Module, result: Any) -> dict[str, Any]:
        data = ctx.data
        return {"training": self.training.key, **asdict(self.training),
                "split": self.split.tag, "optimizer_settings": optimizer_settings(ctx.job.train),
                "val_labels": data.y["val"].tolist(), "test_labels": data.y["test"].tolist(),
                "test_files": data.filenames["test"], "class_names": data.class_names,
                "split_sizes": {k: int(v.shape[0]) for k, v in data.y.items()}}

    def model_file(self, ctx: Context) -> dict[str, Any]:
        data = ctx.data
        return {"model_config": asdict(self.model_config(data)),
                "architecture": "deep" if self.deep else "cnn",
                "class_names": data.class_names, "feature_params": asdict(self.params),
                "mean": torch.from_numpy(data.mean), "std": torch.from_numpy(data.std),
                "training": self.training.key, "split": self.split.tag}


def train_config(training: Training | DeepTraining, epochs: int) -> TrainConfig:
    """The trainer's settings of ``training``: a fixed horizon, no early stopping."""
    if isinstance(training, DeepTraining):
        return deep_train_config(training, epochs)
    return TrainConfig(epochs=epochs, optimizer=training.optimizer, lr=training.lr,
                       momentum=MOMENTUM, early_stop_patience=None)


def esc_job(*, out: str | Path, zip_path: str | Path, params: LogMelParams, feature_key: str,
            training: Training | DeepTraining, seed: int, split: Split, epochs: int,
            batch_size: int = BATCH_SIZE, eval_batch: int = EVAL_BATCH, threads: int = THREADS,
            device: str = "auto", augment: dict[str, Any] | None = None,
            cache_dir: str | Path | None = None) -> TrainingJob:
    """The job of one configuration, seed and split, in ``<out>/q3-models/<name>/``.

    ``name`` is e.g. ``adam-lr0.001-batch-seed0-train123-val4-test5``; ``device`` is decided
    here (``auto``: CUDA when there is one) and keys the result with everything else that
    determines the numbers.
    """
    used = select_device(device)
    augment = dict(augment) if training.augment and augment else None
    name = f"{training.key}-seed{seed}-{split.tag}"
    run_dir = Path(out) / MODELS_DIR / name
    identity = {"training": asdict(training), "seed": seed, "split": asdict(split),
                "epochs": epochs, "batch_size": batch_size, "eval_batch": eval_batch,
                "threads": threads, "device": used.type, "features": feature_key,
                "augment": augment, "early_stopping": None}
    recipe = EscRecipe(zip_path=str(zip_path),
                       cache_dir=str(cache_dir if cache_dir is not None
                                     else Path(out) / "cache"),
                       params=params, feature_key=feature_key, training=training, split=split,
                       batch_size=batch_size, eval_batch=eval_batch, augment=augment)
    return TrainingJob(name=name, run_dir=str(run_dir), identity=identity, seed=seed,
                       train=train_config(training, epochs), device=str(used), precision=FP32,
                       recipe=recipe, model_path=str(run_dir / MODEL_FILE), threads=threads)


def optimizer_settings(config: TrainConfig) -> dict[str, Any]:
    """The optimizer's settings as torch constructs it (its defaults for what is not set)."""
    opt = make_optimizer(config, [torch.nn.Parameter(torch.zeros(1))])
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in opt.defaults.items()
            if isinstance(v, (int, float, bool, tuple)) or v is None}


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
    # this version's model.pt (the one format of every question, "kind" esc10-cnn), or the
    # ESC-10 format of earlier versions (weights under "state")
    if not isinstance(blob, dict) or (blob.get("format"), blob.get("kind")) not in (
            (MODEL_FORMAT, KIND), (OLD_MODEL_FORMAT, None)):
        raise MlsplabError(f"{path}: not an mlsplab ESC-10 model file (format tag missing)")
    weights = blob["state_dict"] if "state_dict" in blob else blob["state"]
    model: torch.nn.Module
    if blob.get("architecture", "cnn") == "deep":
        config = dict(blob["model_config"])
        model = EscDeepCnn(EscDeepCnnConfig(**{**config, "channels": tuple(config["channels"])}))
    else:
        model = EscCnn(EscCnnConfig(**blob["model_config"]))
    model.load_state_dict(weights)
    model.eval()
    return model, {k: v for k, v in blob.items() if k not in ("state", "state_dict", "model_config")}
