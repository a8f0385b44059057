"""Dropout whose masks are cut from 64-bit random words: the IMDB models' dropout on the CPU.

``nn.Dropout`` draws its mask with ``bernoulli_``. On a CPU that PyTorch does not recognise as
Intel's, that kernel runs on one thread and takes two 32-bit Mersenne-Twister draws per element
(on Intel CPUs it calls MKL's vectorised generator). Measured on a 2-core AMD EPYC, a mask for
32 x 204 x 256 elements took 12.4 ms, against 1.9 ms here, where one 64-bit draw of the same
generator gives four 16-bit uniform integers, each compared with a threshold. In a bf16 training
step of the IMDB models (2 threads) ``bernoulli_`` was 13 % (LSTM) and 16 % (transformer) of the
time.

The rate is rounded to a multiple of 2^-16 (0.3 -> 0.300003, 0.1 -> 0.100006). Kept values are
scaled by 1 / (1 - p) as in ``nn.Dropout``, and the masks come from the default generator, so a
seeded run draws the same masks whatever the number of threads. Off the CPU (CUDA has its own
fast generator) the layer is ``nn.Dropout``.
"""

from __future__ import annotations

import torch
from torch import nn

_LEVELS = 1 << 16  # the mask's resolution: uniform 16-bit integers


def keep_mask(shape: torch.Size, p: float, device: torch.device) -> torch.Tensor:
    """Bool tensor of ``shape``, each element True (kept) with probability 1 - p (p rounded to a
    multiple of 2^-16), from the default generator: four elements per 64-bit draw."""
    n = shape.numel()
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=device)
    words.random_(torch.iinfo(torch.int64).min, None)  # the full int64 range: every bit uniform
    uniform16 = words.view(torch.int16)[:n].view(shape)  # uniform on [-2^15, 2^15)
    return uniform16 >= round(p * _LEVELS) - _LEVELS // 2


def dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Training-mode dropout of ``x`` at rate ``p`` (0 <= p < 1) with a :func:`keep_mask` mask:
    kept values scaled by 1 / (1 - p), the others zero."""
    keep = keep_mask(x.shape, p, x.device).to(x.dtype)  # 0/1 in x's dtype: no cast in backward
    return x.mul(keep).mul_(1.0 / (1.0 - p))


class Dropout(nn.Dropout):
    """``nn.Dropout`` with masks from :func:`keep_mask` on the CPU (see the module docstring)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (not self.training or self.p in (0.0, 1.0) or self.inplace
                or x.device.type != "cpu"):
            return super().forward(x)
        return dropout(x, self.p)
