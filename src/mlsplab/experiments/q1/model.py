"""The three Q1 classifiers, built from :func:`config.model_sizes` over frozen word vectors."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mlsplab.errors import MlsplabError
from mlsplab.experiments.q1.config import EMBED_DIM
from mlsplab.models.lstm_classifier import LSTMClassifier, LSTMConfig
from mlsplab.models.transformer_classifier import TransformerClassifier, TransformerConfig


def build_model(model_name: str, model_config: dict[str, Any], embeddings: torch.Tensor,
                device: torch.device | None = None) -> nn.Module:
    """The classifier ``model_name`` with sizes ``model_config`` over frozen ``embeddings``.

    Parameters
    ----------
    model_name : {"lstm-avg", "lstm-attention", "transformer"}
    model_config : dict
        From :func:`mlsplab.experiments.q1.config.model_sizes`.
    embeddings : Tensor of shape (vocab_size, 100)
    device : torch.device, default=CPU
        LSTMs use a PackedSequence on CUDA (cuDNN) and the dense LSTM + masking on the CPU
        (oneDNN); both give the same outputs (docs/sentiment.md).

    Raises
    ------
    MlsplabError
        If the word vectors are not 100-d.
    """
    if embeddings.ndim != 2 or embeddings.shape[1] != EMBED_DIM:
        raise MlsplabError(f"embeddings of shape {tuple(embeddings.shape)}; expected "
                           f"(vocab_size, {EMBED_DIM}): use {EMBED_DIM}-d word vectors")
    device = device or torch.device("cpu")
    if model_name == "transformer":
        model: nn.Module = TransformerClassifier(TransformerConfig(**model_config), embeddings)
    else:
        config = LSTMConfig(**model_config)
        config.packed = device.type == "cuda"
        model = LSTMClassifier(config, embeddings)
    return model.to(device)


def n_parameters(model: nn.Module) -> int:
    """Trainable parameters (the frozen word vectors are buffers, not counted)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def lstm_input(model: nn.Module) -> str | None:
    """How the LSTM reads its batch (an implementation choice with identical outputs)."""
    if not isinstance(model, LSTMClassifier):
        return None
    return "packed sequences" if model.config.packed else "dense + masking"
