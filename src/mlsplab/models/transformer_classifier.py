"""Q1(d): one transformer encoder layer over frozen word2vec vectors, masked average pooling,
one linear output (a logit, trained with BCE-with-logits).

"A single transformer encoder layer with 256 hidden dimensions" is read as model width
d_model = 256: the 100-d word vectors are projected to 256, sinusoidal positions are added
(Vaswani et al. 2017, sec. 3.5), then one ``nn.TransformerEncoderLayer`` with 4 heads of 64
dims and a 1024-wide feed-forward block (the 4x ratio of the original Transformer), GELU.
The projected vectors are layer-normalised before the positions are added: at initialisation a
projected word vector has a per-dimension std of ~0.2 against the positions' ~0.7, so without
it the mean-pooled representation is dominated by the (content-free) positions. The encoder
layer is pre-norm (``norm_first=True``; Xiong et al. 2020), which trains stably with Adam
without a warm-up. Padded keys are excluded from attention with ``src_key_padding_mask``
and padded positions from the average, so padding never changes the output.

Dropout sits where the original Transformer puts it (Vaswani et al. 2017, sec. 5.4): on the sum
of the word and position vectors and on the output of each sub-layer before its residual add
(and here before the classifier). ``nn.TransformerEncoderLayer`` adds two more by default, on
the attention weights and inside the feed-forward block; both are off by default here: on the
CPU a dropout mask costs a random draw per element, and these two are the largest tensors of
the layer (B x heads x T x T and B x T x 1024); attention-weight dropout also keeps PyTorch off
its fused (flash) CPU attention kernel. Measured on a training step of 32 x 230 tokens in bf16:
371 ms with all four dropouts, 248 ms with none (``nn.Dropout``'s masks). The dropouts that
remain draw their masks with :mod:`mlsplab.models.dropout` on the CPU.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from mlsplab.models.dropout import Dropout
from mlsplab.models.pooling import length_mask, masked_mean


@contextlib.contextmanager
def _no_mha_fastpath() -> Iterator[None]:
    """Run the encoder layer on its regular path in evaluation too.

    In eval mode without gradients ``nn.TransformerEncoderLayer`` switches to a "fast path"
    that packs the padded batch into nested tensors. On this CPU it is the slow path for
    length-bucketed batches: evaluating 1,000 reviews (up to 400 tokens, batches of 64, one
    thread) took 8.3-10.5 s with it and 3.1-5.7 s without it in bf16 (9.9 vs 10.1 s in fp32),
    with the same losses to 5 decimals. Training never takes the fast path, so this changes
    only the speed of validation and test passes (and their float rounding).
    """
    enabled = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(enabled)


@dataclass
class TransformerConfig:
    embed_dim: int = 100  # word2vec vector size (frozen input features)
    d_model: int = 256  # the assignment's 256 hidden dimensions
    n_heads: int = 4  # 4 heads x 64 dims
    ff_dim: int = 1024  # feed-forward width, 4 x d_model
    dropout: float = 0.1  # on word + position vectors, each sub-layer's output, the pooled vector
    attention_dropout: float = 0.0  # on the attention weights (off: see the module docstring)
    ff_dropout: float = 0.0  # inside the feed-forward block (off: see the module docstring)
    norm_first: bool = True  # pre-norm encoder layer (stable without learning-rate warm-up)
    max_len: int = 4096  # longest sequence the positional table covers


def sinusoidal_positions(max_len: int, dim: int) -> torch.Tensor:
    """Fixed sinusoidal position encodings, shape (max_len, dim)."""
    pos = torch.arange(max_len, dtype=torch.float32)[:, None]  # (L, 1)
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(max_len, dim)
    pe[:, 0::2] = torch.sin(pos * freq)  # (L, dim/2)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe


class TransformerClassifier(nn.Module):
    """Binary sentiment classifier: embeddings -> Linear 100->256 -> LayerNorm + positions ->
    encoder layer -> masked mean -> Linear -> logit.

    Parameters
    ----------
    config : TransformerConfig
    embeddings : Tensor of shape (vocab_size, embed_dim)
        Frozen word vectors (non-persistent buffer; row 0 is padding).
    """

    def __init__(self, config: TransformerConfig, embeddings: torch.Tensor):
        super().__init__()
        assert embeddings.shape[1] == config.embed_dim, (embeddings.shape, config.embed_dim)
        self.config = config
        self.register_buffer("embeddings", embeddings.float(), persistent=False)
        self.register_buffer("positions", sinusoidal_positions(config.max_len, config.d_model),
                             persistent=False)
        self.input_proj = nn.Linear(config.embed_dim, config.d_model)
        self.input_norm = nn.LayerNorm(config.d_model)
        self.encoder = nn.TransformerEncoderLayer(
            config.d_model, config.n_heads, dim_feedforward=config.ff_dim,
            dropout=config.dropout, activation="gelu", batch_first=True,
            norm_first=config.norm_first)
        # the layer's constructor gives all four of its dropouts one rate; set the two extras
        self.encoder.self_attn.dropout = config.attention_dropout
        self.encoder.dropout = Dropout(config.ff_dropout) if config.ff_dropout else nn.Identity()
        # the sub-layers' output dropouts, with masks drawn fast on the CPU (models/dropout.py)
        self.encoder.dropout1 = Dropout(config.dropout)
        self.encoder.dropout2 = Dropout(config.dropout)
        self.drop = Dropout(config.dropout)
        self.head = nn.Linear(config.d_model, 1)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits (B,) for padded ``ids`` (B, T) with real ``lengths`` (B,)."""
        T = ids.shape[1]  # ids: (B, T)
        assert T <= self.config.max_len, f"sequence of {T} tokens > max_len {self.config.max_len}"
        x = nn.functional.embedding(ids, self.embeddings)  # (B, T) -> (B, T, E)
        x = self.drop(self.input_norm(self.input_proj(x)) + self.positions[:T])  # (B, T, D)
        mask = length_mask(lengths, T, ids.device)  # (B, T), True at real tokens
        with _no_mha_fastpath():
            h = self.encoder(x, src_key_padding_mask=~mask)  # (B, T, D); True = ignore this key
        pooled = masked_mean(h, mask)  # (B, T, D) -> (B, D)
        return self.head(self.drop(pooled)).squeeze(-1)  # (B, 1) -> (B,)

    def flops_per_token(self, mean_len: float) -> float:
        """Forward FLOPs per real token at average sequence length ``mean_len``: the input
        projection, Q/K/V/output projections, attention scores and weighted sum over
        ``mean_len`` keys, and the feed-forward block (2 FLOPs per multiply-add)."""
        c = self.config
        return (2 * c.embed_dim * c.d_model + 4 * 2 * c.d_model ** 2
                + 2 * 2 * mean_len * c.d_model + 2 * 2 * c.d_model * c.ff_dim)
