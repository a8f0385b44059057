"""The training batches of an ESC-10 CNN: shuffled indices and their augmentation.

Both are pure functions of (seed, epoch) or (seed, batch), so that a resumed training repeats
exactly the batches and the augmentation it would have seen.
"""

from __future__ import annotations

import numpy as np
import torch

from mlsplab.experiments.q3.config import BATCH_SIZE


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
