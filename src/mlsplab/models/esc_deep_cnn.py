"""A deeper ESC-10 CNN (beyond the assignment): conv blocks with BatchNorm and global pooling.

The design follows what small-audio-set CNNs do (Piczak 2015; Salamon & Bello 2017; Kong et al.,
PANNs 2020): stacked 3x3 convolutions with BatchNorm and ReLU, pooling between blocks, and a
global pooling over frequency and time, so the classifier sees *whether* a pattern occurred, not
*where* in the 5 s clip (a dog bark at 1 s or 4 s is the same bark). It differs from the
assignment's CNN (two conv layers, 1.5 M parameters almost all in the first dense layer) by

* a strided stem: the first convolution has stride 2, so every later layer works on a
  64 x 250 (or smaller) map: the cost of depth is paid on small maps;
* ``blocks`` conv blocks (conv 3x3 -> BatchNorm -> ReLU, ``convs_per_block`` times, then
  2x2 max-pooling), channels doubling from block to block;
* global pooling: mean over frequency, then mean + max over time (PANNs' pooling), dropout,
  one linear layer. No flattened 11,232-vector and no 1.4 M-weight dense layer.

::

    log-mel (1 x 128 x 500)
    -> conv 3x3 stride 2, c0 -> BN -> ReLU                       (c0 x 64 x 250)
    -> [conv 3x3 -> BN -> ReLU] x convs_per_block -> maxpool 2   block 1 (c1 x 32 x 125)
    -> ... block k ...                                           (ck x h x w)
    -> mean over frequency -> mean + max over time               (ck)
    -> dropout -> linear                                         (n_classes logits)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mlsplab.errors import MlsplabError


@dataclass
class EscDeepCnnConfig:
    """Hyperparameters of :class:`EscDeepCnn` (stored with every model file)."""

    n_mels: int = 128
    n_frames: int = 500
    n_classes: int = 10
    stem_channels: int = 16  # c0: channels of the strided stem convolution
    channels: tuple[int, ...] = (32, 64, 128, 256)  # one entry per block
    convs_per_block: int = 1
    dropout: float = 0.3  # before the linear layer


@dataclass(frozen=True)
class DeepLayerShape:
    """One convolution of :class:`EscDeepCnn` (for parameter and multiply-add counts)."""

    name: str
    in_channels: int
    out_channels: int
    kernel: int
    output_hw: tuple[int, int]  # (height, width) of the conv's output


def deep_conv_layers(config: EscDeepCnnConfig) -> list[DeepLayerShape]:
    """Every convolution with its output size (3x3, padding 1; stem stride 2; pool 2 after each
    block).

    Examples
    --------
    >>> [(s.name, s.output_hw) for s in deep_conv_layers(EscDeepCnnConfig())]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('stem', (64, 250)), ('block1.conv1', (64, 250)), ('block2.conv1', (32, 125)),
     ('block3.conv1', (16, 62)), ('block4.conv1', (8, 31))]
    """
    h, w = (config.n_mels + 1) // 2, (config.n_frames + 1) // 2  # stride 2, padding 1
    layers = [DeepLayerShape("stem", 1, config.stem_channels, 3, (h, w))]
    c_in = config.stem_channels
    for b, c_out in enumerate(config.channels, start=1):
        for k in range(1, config.convs_per_block + 1):
            layers.append(DeepLayerShape(f"block{b}.conv{k}", c_in, c_out, 3, (h, w)))
            c_in = c_out
        h, w = h // 2, w // 2
        if h < 1 or w < 1:
            raise MlsplabError(f"input {config.n_mels} x {config.n_frames} is too small for "
                               f"{len(config.channels)} pooling blocks")
    return layers


def deep_cost(config: EscDeepCnnConfig) -> dict[str, int]:
    """Parameters and multiply-adds of one forward pass of one clip.

    Convolutions: ``k² c_in c_out`` per output position; BatchNorm (folded into the conv at
    inference) and pooling are not counted; the linear layer: ``c_last n_classes``.
    """
    layers = deep_conv_layers(config)
    conv_macs = sum(s.kernel ** 2 * s.in_channels * s.out_channels * s.output_hw[0]
                    * s.output_hw[1] for s in layers)
    linear = config.channels[-1] * config.n_classes  # mean + max pooled: c_last inputs
    return {"multiply_adds": int(conv_macs + linear), "conv_multiply_adds": int(conv_macs)}


def _conv_bn(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class EscDeepCnn(nn.Module):
    """Deeper log-mel CNN with BatchNorm and global pooling.

    Parameters
    ----------
    config : EscDeepCnnConfig

    Examples
    --------
    >>> model = EscDeepCnn(EscDeepCnnConfig())
    >>> model(torch.zeros(2, 1, 128, 500)).shape
    torch.Size([2, 10])
    """

    def __init__(self, config: EscDeepCnnConfig) -> None:
        super().__init__()
        self.config = config
        deep_conv_layers(config)  # checks the input is large enough
        layers: list[nn.Module] = _conv_bn(1, config.stem_channels, stride=2)
        c_in = config.stem_channels
        for c_out in config.channels:
            for _ in range(config.convs_per_block):
                layers += _conv_bn(c_in, c_out)
                c_in = c_out
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.features.to(memory_format=torch.channels_last)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(c_in, config.n_classes)

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
        x = self.features(x.contiguous(memory_format=torch.channels_last))  # (B, C, h, w)
        x = x.mean(dim=2)  # (B, C, w): mean over frequency
        x = x.mean(dim=2) + x.amax(dim=2)  # (B, C): mean + max over time
        return self.head(self.dropout(x))  # (B, n_classes)
