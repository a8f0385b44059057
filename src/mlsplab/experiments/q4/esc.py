"""The ESC-10 CNN's layers as Q4 sees them, read off the real model (one definition of the CNN).

The model is built from :class:`~mlsplab.models.esc_cnn.EscCnnConfig` on PyTorch's ``meta``
device (no memory, no compute) and a meta input is passed through its feature extractor, so the
layer shapes Q4 analyses are those the Q3 model has.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from mlsplab.analysis.conv_cost import ConvSpec
from mlsplab.errors import MlsplabError
from mlsplab.models.esc_cnn import EscCnn, EscCnnConfig


@dataclass(frozen=True)
class EscLayers:
    """The conv layers (with their max-pools), the flattened shape and the first FC layer."""

    convs: tuple[ConvSpec, ...]
    flat_shape: tuple[int, int, int]  # (C, H, W) that is flattened
    fc_in: int  # in_features of the first fully connected layer
    fc_out: int  # its out_features


def esc_layers(config: EscCnnConfig | None = None) -> EscLayers:
    """Read the conv layers, pools and first FC layer off ``EscCnn(config)``.

    Raises
    ------
    MlsplabError
        If a pooling layer is not a plain max-pool with stride = window (the only kind ConvSpec
        describes), or the first FC layer does not read the flattened feature map.
    """
    config = config or EscCnnConfig()
    with torch.device("meta"):
        model = EscCnn(config)
    x = torch.empty(1, 1, config.n_mels, config.n_frames, device="meta")  # (B, C, F, T)
    convs: list[ConvSpec] = []
    for module in model.features:
        if isinstance(module, nn.Conv2d):
            convs.append(ConvSpec(module.in_channels, module.out_channels,
                                  tuple(x.shape[2:]), kernel=module.kernel_size,
                                  stride=module.stride, padding=module.padding,
                                  dilation=module.dilation, groups=module.groups,
                                  bias=module.bias is not None, name=f"conv{len(convs) + 1}"))
        elif isinstance(module, nn.MaxPool2d):
            if module.stride not in (module.kernel_size, None) or module.padding not in (0, (0, 0)):
                raise MlsplabError(f"ESC CNN pooling {module} is not a max-pool with stride = "
                                   "window and no padding; Q4's ConvSpec cannot describe it")
            convs[-1] = replace(convs[-1], pool=module.kernel_size)
        x = module(x)
    flat_shape = tuple(int(n) for n in x.shape[1:])  # (1, C, H, W) -> (C, H, W)
    fc = next(m for m in model.classifier if isinstance(m, nn.Linear))
    if fc.in_features != flat_shape[0] * flat_shape[1] * flat_shape[2]:
        raise MlsplabError(f"ESC CNN: the first FC layer reads {fc.in_features} values but the "
                           f"feature map {flat_shape} has {x[0].numel()}")
    return EscLayers(tuple(convs), flat_shape,  # type: ignore[arg-type]
                     fc.in_features, fc.out_features)
