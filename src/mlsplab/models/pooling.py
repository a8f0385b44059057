"""Masks over time and the masked mean: what the IMDB models share to ignore padding.

``mask`` is a bool tensor of shape (B, T), True at real tokens. Padded positions contribute
nothing to the mean (nor to the LSTM's attention pooling,
:class:`mlsplab.models.lstm_classifier.AttentionPooling`), whatever values the encoder left
there.
"""

from __future__ import annotations

import torch


def length_mask(lengths: torch.Tensor, T: int, device: torch.device) -> torch.Tensor:
    """Bool mask of shape (B, T), True where ``t < lengths[b]``."""
    return torch.arange(T, device=device)[None, :] < lengths.to(device)[:, None]  # (B, T)


def masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``h`` (B, T, C) over the real time steps of ``mask`` (B, T) -> (B, C)."""
    m = mask.unsqueeze(-1).to(h.dtype)  # (B, T) -> (B, T, 1)
    # masked_fill (not h * m) so that NaN/inf left in padding cannot leak into the sum
    summed = h.masked_fill(~mask.unsqueeze(-1), 0.0).sum(dim=1)  # (B, T, C) -> (B, C)
    return summed / m.sum(dim=1).clamp_min(1.0)  # (B, C) / (B, 1)
