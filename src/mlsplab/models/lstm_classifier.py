"""Q1(b, c): 2-layer LSTM over frozen word2vec vectors, average or attention pooling, one
linear output (a logit, trained with BCE-with-logits).

Padding: batches are padded on the right. A unidirectional LSTM's output at step t depends only
on steps <= t, so the outputs at real steps are the same with or without the padding behind
them; pooling then masks the padded steps (``pooling.py``; :class:`AttentionPooling` here). On the CPU this lets the dense,
oneDNN-backed ``nn.LSTM`` run on length-bucketed batches, where padding is a few percent of
the work. ``packed=True`` instead feeds a ``PackedSequence`` (no padded step is computed at
all; the natural choice for cuDNN on a GPU). Both give the same outputs; tests check it.

Dropout (on the embeddings, between the LSTM layers, before the classifier) draws its masks with
:mod:`mlsplab.models.dropout` on the CPU; :class:`~mlsplab.models.stacked_lstm.StackedLSTM`
applies it between the layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from mlsplab.models.dropout import Dropout
from mlsplab.models.pooling import length_mask, masked_mean
from mlsplab.models.stacked_lstm import StackedLSTM

POOLINGS = ("mean", "attention")


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


@dataclass
class LSTMConfig:
    embed_dim: int = 100  # word2vec vector size (frozen input features)
    hidden_dim: int = 256  # the assignment's 256 cells per layer
    num_layers: int = 2  # the assignment's 2 hidden layers
    pooling: str = "mean"  # "mean" (Q1b) or "attention" (Q1c)
    attention_dim: int = 128  # size of the attention scorer's hidden layer (Q1c)
    dropout: float = 0.3  # on the embeddings, between LSTM layers, and before the classifier
    packed: bool = False  # True: PackedSequence (e.g. cuDNN); False: dense LSTM + masking


class LSTMClassifier(nn.Module):
    """Binary sentiment classifier: embeddings -> LSTM x2 -> pooling -> Linear -> logit.

    Parameters
    ----------
    config : LSTMConfig
    embeddings : Tensor of shape (vocab_size, embed_dim)
        Frozen word vectors; row 0 is padding. Stored as a non-persistent buffer: checkpoints
        hold only the trained weights (the vectors are rebuilt from their cache).
    """

    def __init__(self, config: LSTMConfig, embeddings: torch.Tensor):
        super().__init__()
        assert config.pooling in POOLINGS, config.pooling
        assert embeddings.shape[1] == config.embed_dim, (embeddings.shape, config.embed_dim)
        self.config = config
        self.register_buffer("embeddings", embeddings.float(), persistent=False)
        self.drop = Dropout(config.dropout)  # masks drawn fast on the CPU: models/dropout.py
        between = config.dropout if config.num_layers > 1 else 0.0  # between the LSTM layers
        self.lstm = StackedLSTM(config.embed_dim, config.hidden_dim,
                                num_layers=config.num_layers, batch_first=True, dropout=between)
        self.attention = (AttentionPooling(config.hidden_dim, config.attention_dim)
                          if config.pooling == "attention" else None)
        self.head = nn.Linear(config.hidden_dim, 1)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor,
                return_attention: bool = False):
        """Logits for a padded batch.

        Parameters
        ----------
        ids : LongTensor of shape (B, T)
        lengths : LongTensor of shape (B,)
            Real lengths (>= 1); positions t >= lengths[b] are padding.
        return_attention : bool
            Also return the attention weights (B, T) (attention pooling only).

        Returns
        -------
        logits : Tensor of shape (B,)
        alpha : Tensor of shape (B, T), only if ``return_attention``
        """
        T = ids.shape[1]  # ids: (B, T)
        x = self.drop(nn.functional.embedding(ids, self.embeddings))  # (B, T) -> (B, T, E)
        if self.config.packed:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True,
                                          enforce_sorted=False)
            h, _ = self.lstm(packed)
            h, _ = pad_packed_sequence(h, batch_first=True, total_length=T)  # (B, T, H)
        else:
            h, _ = self.lstm(x)  # (B, T, H); steps >= length are masked below
        mask = length_mask(lengths, T, ids.device)  # (B, T), True at real tokens
        alpha = None
        if self.attention is None:
            pooled = masked_mean(h, mask)  # (B, T, H) -> (B, H)
        else:
            pooled, alpha = self.attention(h, mask)  # (B, H), (B, T)
        logits = self.head(self.drop(pooled)).squeeze(-1)  # (B, 1) -> (B,)
        if return_attention:
            return logits, alpha
        return logits

    def flops_per_token(self) -> float:
        """Forward FLOPs per real token of the LSTM layers: 8 H (I + H) per layer (4 gates, a
        multiply-add each over the input and the recurrent state); the pooling and head are
        negligible. Forward+backward is about 3x this."""
        c, total, i = self.config, 0.0, self.config.embed_dim
        for _ in range(c.num_layers):
            total += 8 * c.hidden_dim * (i + c.hidden_dim)
            i = c.hidden_dim
        return total
