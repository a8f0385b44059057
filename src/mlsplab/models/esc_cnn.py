"""The assignment's ESC-10 CNN: two 3x3 conv layers with 3x3 max-pooling, then two FC-128 layers.

Conv2d(1->16, 3x3, stride 1) -> ReLU -> MaxPool 3x3 -> Conv2d(16->16, 3x3) -> ReLU -> MaxPool 3x3
-> flatten -> [norm] -> FC 128 -> ReLU -> [norm] -> FC 128 -> ReLU -> [norm] -> FC 10 (logits;
softmax is inside the cross-entropy loss).

``norm`` (none / layer / batch) is applied at the flattened conv output and at the inputs of the
two layers after it, i.e. at the input of every fully connected layer. The assignment does not
name the hidden non-linearity; ReLU is used, as in the conv layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mlsplab.errors import MlsplabError

NORMS = ("none", "layer", "batch")


@dataclass
class EscCnnConfig:
    """Hyperparameters of :class:`EscCnn` (stored with every checkpoint)."""

    n_mels: int = 128  # input height: mel bands
    n_frames: int = 500  # input width: 10 ms frames in a 5 s clip
    n_classes: int = 10
    channels: int = 16  # filters in each conv layer
    kernel: int = 3  # conv kernel (kernel x kernel), stride 1, no padding
    pool: int = 3  # max-pool window and stride
    hidden: int = 128  # width of the two fully connected layers
    norm: str = "none"  # one of NORMS


@dataclass(frozen=True)
class ConvLayerShape:
    """One conv stage of :class:`EscCnn`: conv (valid, stride 1) then max-pool (stride = window)."""

    name: str  # "conv1", "conv2"
    in_channels: int
    out_channels: int
    kernel: int  # kernel x kernel
    input_hw: tuple[int, int]  # (height, width) entering the conv
    conv_hw: tuple[int, int]  # after the conv
    pooled_hw: tuple[int, int]  # after the max-pool (floor)


def conv_layers(config: EscCnnConfig) -> list[ConvLayerShape]:
    """The shapes of the two conv stages, e.g. for cost and memory tables (Q4).

    Examples
    --------
    >>> [(s.name, s.input_hw, s.conv_hw, s.pooled_hw) for s in conv_layers(EscCnnConfig())]
    [('conv1', (128, 500), (126, 498), (42, 166)), ('conv2', (42, 166), (40, 164), (13, 54))]
    """
    shapes, h, w, c_in = [], config.n_mels, config.n_frames, 1
    for i in (1, 2):
        ch, cw = h - config.kernel + 1, w - config.kernel + 1  # valid conv, stride 1
        ph, pw = ch // config.pool, cw // config.pool  # max-pool, floor
        if ph < 1 or pw < 1:
            raise MlsplabError(f"input {config.n_mels} x {config.n_frames} is too small for two "
                               f"conv({config.kernel}) + pool({config.pool}) stages")
        shapes.append(ConvLayerShape(f"conv{i}", c_in, config.channels, config.kernel, (h, w),
                                     (ch, cw), (ph, pw)))
        h, w, c_in = ph, pw, config.channels
    return shapes


def conv_output_shape(config: EscCnnConfig) -> tuple[int, int, int]:
    """(channels, height, width) after the second pooling layer.

    For 128 x 500 inputs: conv 126 x 498 -> pool 42 x 166 -> conv 40 x 164 -> pool 13 x 54,
    so the flattened vector has 16 * 13 * 54 = 11232 entries.
    """
    last = conv_layers(config)[-1]
    return last.out_channels, *last.pooled_hw


def make_norm(kind: str, n_features: int) -> nn.Module:
    """The normalization layer named by ``kind`` for vectors of ``n_features``."""
    if kind == "none":
        return nn.Identity()
    if kind == "layer":
        return nn.LayerNorm(n_features)
    if kind == "batch":
        return nn.BatchNorm1d(n_features)
    raise MlsplabError(f"norm={kind!r}; expected one of {NORMS}")


class EscCnn(nn.Module):
    """Log-mel CNN classifier for ESC-10.

    Parameters
    ----------
    config : EscCnnConfig

    Examples
    --------
    >>> model = EscCnn(EscCnnConfig(norm="batch"))
    >>> model(torch.zeros(2, 1, 128, 500)).shape
    torch.Size([2, 10])
    """

    def __init__(self, config: EscCnnConfig) -> None:
        super().__init__()
        self.config = config
        c, h, w = conv_output_shape(config)
        flat = c * h * w
        # ReLU and max-pooling commute (ReLU is monotonic: relu(max(x)) = max(relu(x))), so
        # pooling first computes exactly "conv -> ReLU -> pool" with 9x fewer ReLU evaluations;
        # on a 2-core CPU this (with channels_last) halves the time of a training step.
        self.features = nn.Sequential(
            nn.Conv2d(1, config.channels, config.kernel),  # (B, 1, F, T) -> (B, 16, F-2, T-2)
            nn.MaxPool2d(config.pool),  # (B, 16, F-2, T-2) -> (B, 16, (F-2)//3, (T-2)//3)
            nn.ReLU(),
            nn.Conv2d(config.channels, config.channels, config.kernel),  # -> (B, 16, 40, 164)
            nn.MaxPool2d(config.pool),  # -> (B, 16, h, w) = (B, 16, 13, 54) for 128 x 500
            nn.ReLU(),
        )
        self.features.to(memory_format=torch.channels_last)
        self.classifier = nn.Sequential(
            make_norm(config.norm, flat),  # at the flattened conv output = input of FC 1
            nn.Linear(flat, config.hidden),
            nn.ReLU(),
            make_norm(config.norm, config.hidden),  # input of FC 2
            nn.Linear(config.hidden, config.hidden),
            nn.ReLU(),
            make_norm(config.norm, config.hidden),  # input of the output layer
            nn.Linear(config.hidden, config.n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of log-mel spectrograms.

        Parameters
        ----------
        x : Tensor of shape (B, 1, n_mels, n_frames) or (B, n_mels, n_frames)

        Returns
        -------
        logits : Tensor of shape (B, n_classes)
        """
        if x.dim() == 3:
            x = x.unsqueeze(1)  # (B, F, T) -> (B, 1, F, T)
        x = x.contiguous(memory_format=torch.channels_last)  # faster oneDNN convolutions
        x = self.features(x)  # (B, 16, h, w)
        x = x.contiguous().flatten(1)  # (B, 16, h, w) -> (B, 16 * h * w), channel-major order
        return self.classifier(x)  # (B, n_classes)
