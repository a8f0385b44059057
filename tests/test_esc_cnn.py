"""The assignment's CNN: output shapes per norm, the 11232-d flatten, and layer order."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mlsplab.errors import MlsplabError
from mlsplab.models.esc_cnn import EscCnn, EscCnnConfig, conv_output_shape


def test_flatten_size_matches_the_hand_computation() -> None:
    assert conv_output_shape(EscCnnConfig()) == (16, 13, 54)  # 16 * 13 * 54 = 11232


@pytest.mark.parametrize("norm, kind", [("none", nn.Identity), ("layer", nn.LayerNorm),
                                        ("batch", nn.BatchNorm1d)])
def test_norm_variants_shapes_and_positions(norm: str, kind: type) -> None:
    torch.manual_seed(0)
    model = EscCnn(EscCnnConfig(norm=norm))
    assert model(torch.randn(4, 1, 128, 500)).shape == (4, 10)
    assert model(torch.randn(2, 128, 500)).shape == (2, 10)  # channel dim added
    norms = [m for m in model.classifier if isinstance(m, kind)]
    assert len(norms) == 3
    sizes = [m.normalized_shape[0] if isinstance(m, nn.LayerNorm) else m.num_features
             for m in norms] if norm != "none" else [11232, 128, 128]
    assert sizes == [11232, 128, 128]
    linears = [m for m in model.classifier if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(11232, 128), (128, 128),
                                                                  (128, 10)]


def test_unknown_norm_is_refused() -> None:
    with pytest.raises(MlsplabError, match="norm='group'"):
        EscCnn(EscCnnConfig(norm="group"))


def test_pool_then_relu_equals_the_assignments_relu_then_pool() -> None:
    torch.manual_seed(0)
    model = EscCnn(EscCnnConfig()).eval()
    conv1, conv2 = model.features[0], model.features[3]
    reference = nn.Sequential(conv1, nn.ReLU(), nn.MaxPool2d(3), conv2, nn.ReLU(),
                              nn.MaxPool2d(3))
    x = torch.randn(2, 1, 128, 500)
    with torch.no_grad():
        expected = model.classifier(reference(x).flatten(1))
        assert torch.allclose(model(x), expected, atol=1e-5)


def test_small_input_is_refused() -> None:
    with pytest.raises(MlsplabError, match="too small"):
        conv_output_shape(EscCnnConfig(n_mels=8, n_frames=8))


def test_conv_layer_shapes_for_cost_tables() -> None:
    from mlsplab.models.esc_cnn import conv_layers

    first, second = conv_layers(EscCnnConfig())
    assert (first.in_channels, first.out_channels, first.kernel) == (1, 16, 3)
    assert (first.input_hw, first.conv_hw, first.pooled_hw) == ((128, 500), (126, 498),
                                                                (42, 166))
    assert (second.in_channels, second.input_hw, second.conv_hw, second.pooled_hw) == (
        16, (42, 166), (40, 164), (13, 54))
    model = EscCnn(EscCnnConfig())
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [
        (s.in_channels, s.out_channels) for s in (first, second)]
