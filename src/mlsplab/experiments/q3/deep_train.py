"""How the deeper CNN is trained: its model and steps, for :class:`~.train.EscRecipe`.

Against the assignment's CNN (:class:`mlsplab.experiments.q3.train.EscRecipe` runs both):

* AdamW (decoupled weight decay) with a learning rate that warms up linearly over the first
  :data:`WARMUP` of the steps, then follows a cosine down to zero at the last step;
* augmentation of each training batch (:func:`augment_deep`): a random gain, then
  q3x-augmented's circular time shift and SpecAugment masks;
* mixup (Zhang et al., ICLR 2018; :func:`mixup`): each clip mixed with another clip of the
  batch, the loss mixed with the same weight.

The randomness of a batch is a pure function of (seed, epoch, batch number): a resumed training
repeats it exactly. Only the training step augments; validation and test clips go through the
model as they are (``predict_logits`` in eval mode).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from mlsplab.experiments.q3.batching import augment_batch, batches
from mlsplab.experiments.q3.data import EscData
from mlsplab.experiments.q3.deep_config import WARMUP, DeepTraining
from mlsplab.models.esc_deep_cnn import EscDeepCnnConfig
from mlsplab.training import Steps, TrainConfig


def lr_factor(schedule: str, epoch: int, batch: int, n_batches: int, epochs: int,
              warmup: float = WARMUP) -> float:
    """The learning rate's factor at a step (epoch 1-based, batch 0-based).

    ``"warmup-cosine"``: linear from ``1/n_warm`` to 1 over the first ``warmup`` of the steps,
    then ``(1 + cos(pi t)) / 2`` with ``t`` going from 0 to 1 over the remaining steps;
    ``"constant"``: 1.

    Examples
    --------
    >>> lr_factor("warmup-cosine", 1, 0, 10, 10)  # the first of 10 warm-up steps
    0.1
    >>> round(lr_factor("warmup-cosine", 10, 9, 10, 10), 6)  # the last step
    0.0
    """
    if schedule == "constant":
        return 1.0
    if schedule != "warmup-cosine":
        raise ValueError(f"schedule={schedule!r}")
    step, total = (epoch - 1) * n_batches + batch, epochs * n_batches
    n_warm = max(1, round(warmup * total))
    if step < n_warm:
        return (step + 1) / n_warm
    t = (step - n_warm) / max(1, total - 1 - n_warm)
    return 0.5 * (1.0 + math.cos(math.pi * min(t, 1.0)))


def augment_deep(x: torch.Tensor, rng: np.random.Generator, spec: dict[str, float],
                 inv_std: torch.Tensor) -> torch.Tensor:
    """Random gain, then time shift and SpecAugment masks, on standardised log-mels.

    Parameters
    ----------
    x : Tensor (B, 1, F, T)
        Standardised log-mels: ``(dB - mean_f) / std_f``.
    rng : numpy Generator
        The batch's randomness.
    spec : dict
        ``gain_db`` (a gain drawn uniformly in ``±gain_db`` per clip) and the keys of
        :func:`~mlsplab.experiments.q3.batching.augment_batch`.
    inv_std : Tensor (F, 1)
        ``1 / std_f``: a gain of ``g`` dB adds ``g / std_f`` to band ``f`` of a standardised clip.
    """
    gains = rng.uniform(-spec["gain_db"], spec["gain_db"], size=len(x))  # (B,) dB
    x = x + torch.as_tensor(gains, dtype=x.dtype, device=x.device)[:, None, None, None] * inv_std
    return augment_batch(x, rng, {k: int(v) for k, v in spec.items() if k != "gain_db"})


def mixup(x: torch.Tensor, rng: np.random.Generator, alpha: float
          ) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Each clip ``i`` mixed with clip ``perm[i]`` of the batch: ``lam_i x_i + (1 - lam_i)
    x_perm[i]``, ``lam_i ~ Beta(alpha, alpha)``.

    Returns
    -------
    mixed : Tensor like ``x``
    perm : ndarray (B,)
    lam : ndarray (B,)
    """
    lam = rng.beta(alpha, alpha, size=len(x))  # (B,)
    perm = rng.permutation(len(x))  # (B,)
    w = torch.as_tensor(lam, dtype=x.dtype, device=x.device)[:, None, None, None]
    return w * x + (1 - w) * x[torch.from_numpy(perm).to(x.device)], perm, lam


def batch_rng(seed: int, epoch: int, batch: int) -> np.random.Generator:
    """The randomness of one training batch: a pure function of (seed, epoch, batch)."""
    return np.random.default_rng([seed, epoch, batch])


def deep_model_config(training: DeepTraining, data: EscData) -> EscDeepCnnConfig:
    """The deeper CNN's sizes for ``training`` on log-mels of ``data``'s shape."""
    return EscDeepCnnConfig(n_mels=data.X["train"].shape[2], n_frames=data.X["train"].shape[3],
                            n_classes=len(data.class_names),
                            stem_channels=training.stem_channels,
                            channels=tuple(training.channels),
                            convs_per_block=training.convs_per_block, dropout=training.dropout)


def deep_train_config(training: DeepTraining, epochs: int) -> TrainConfig:
    """AdamW (or the training's optimizer) with its weight decay, a fixed horizon."""
    return TrainConfig(epochs=epochs, optimizer=training.optimizer, lr=training.lr,
                       weight_decay=training.weight_decay, early_stop_patience=None)


def deep_steps(training: DeepTraining, data: EscData, device: torch.device, *, seed: int,
               epochs: int, batch_size: int, augment: dict[str, Any] | None) -> Steps:
    """Batches (with their epoch and number, for their randomness), the step with
    augmentation and mixup, and the warm-up + cosine schedule; validation is the caller's."""
    X, y = data.X["train"].to(device), data.y["train"].to(device)
    inv_std = torch.from_numpy(1.0 / data.std).to(device, X.dtype)  # (F, 1)
    spec = augment if training.augment else None

    def train_batches(epoch: int) -> list[Any]:
        return [(epoch, b, idx) for b, idx in
                enumerate(batches(len(X), seed, epoch, batch_size))]

    def train_step(m: torch.nn.Module, item: Any) -> tuple[torch.Tensor, int]:
        epoch, b, idx = item
        rows = torch.from_numpy(idx).to(device)
        x, target = X[rows], y[rows]  # (B, 1, F, T), (B,)
        rng = batch_rng(seed, epoch, b)
        if spec:
            x = augment_deep(x, rng, spec, inv_std)
        if training.mixup > 0:
            x, perm, lam = mixup(x, rng, training.mixup)
            logits = m(x)  # (B, n_classes)
            w = torch.as_tensor(lam, dtype=logits.dtype, device=device)
            loss = (w * F.cross_entropy(logits, target, reduction="none")
                    + (1 - w) * F.cross_entropy(logits, target[torch.from_numpy(perm).to(device)],
                                                reduction="none")).sum()
            return loss, len(idx)
        return F.cross_entropy(m(x), target, reduction="sum"), len(idx)

    def schedule(epoch: int, batch: int, n_batches: int) -> float:
        return lr_factor(training.schedule, epoch, batch, n_batches, epochs)

    return Steps(train_batches, train_step, evaluate=lambda m: {}, lr_schedule=schedule)
