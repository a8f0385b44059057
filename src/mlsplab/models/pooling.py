"""Pooling over time with padding masked out: masked mean and attention pooling.

``mask`` is a bool tensor of shape (B, T), True at real tokens. Padded positions contribute
nothing to either pooling, whatever values the encoder left there.
"""

from __future__ import annotations

import torch
from torch import nn


def length_mask(lengths: torch.Tensor, T: int, device: torch.device) -> torch.Tensor:
    """Bool mask of shape (B, T), True where ``t < lengths[b]``."""
    return torch.arange(T, device=device)[None, :] < lengths.to(device)[:, None]  # (B, T)


def masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``h`` (B, T, C) over the real time steps of ``mask`` (B, T) -> (B, C)."""
    m = mask.unsqueeze(-1).to(h.dtype)  # (B, T) -> (B, T, 1)
    # masked_fill (not h * m) so that NaN/inf left in padding cannot leak into the sum
    summed = h.masked_fill(~mask.unsqueeze(-1), 0.0).sum(dim=1)  # (B, T, C) -> (B, C)
    return summed / m.sum(dim=1).clamp_min(1.0)  # (B, C) / (B, 1)


class AttentionPooling(nn.Module):
    """Additive attention pooling (Bahdanau et al. 2015; Yang et al. 2016 HAN word attention).

    score_t = v^T tanh(W h_t + b), alpha = masked softmax over t, output = sum_t alpha_t h_t.
    """

    def __init__(self, dim: int, attention_dim: int):
        super().__init__()
        self.proj = nn.Linear(dim, attention_dim)
        self.score = nn.Linear(attention_dim, 1, bias=False)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``h`` (B, T, C), ``mask`` (B, T) -> pooled (B, C), weights (B, T) summing to 1."""
        scores = self.score(torch.tanh(self.proj(h))).squeeze(-1)  # (B, T, 1) -> (B, T)
        scores = scores.float().masked_fill(~mask, float("-inf"))  # padding gets weight 0
        alpha = torch.softmax(scores, dim=1)  # (B, T), rows sum to 1 over real tokens
        h = h.masked_fill(~mask.unsqueeze(-1), 0.0)  # (B, T, C)
        pooled = torch.bmm(alpha.unsqueeze(1).to(h.dtype), h).squeeze(1)  # (B,1,T)@(B,T,C)->(B,C)
        return pooled, alpha
