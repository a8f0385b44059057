"""Q4 conv vs dense: calculator vs torch counts, exact conv <-> dense equivalences, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mlsplab.analysis.conv_cost import (
    ConvSpec,
    conv_cost,
    measure_forward,
    sparse_stats_formula,
    torch_counts,
)
from mlsplab.analysis.conv_dense import (
    check_conv_as_sparse,
    check_dense_as_conv,
    conv2d_as_sparse,
    linear_as_1x1_conv,
    linear_as_conv,
    weight_pattern,
)
from mlsplab.errors import MlsplabError
from mlsplab.experiments.q4.esc import esc_layers
from mlsplab.models.esc_cnn import EscCnnConfig, conv_output_shape

SHAPES = [
    ConvSpec(2, 4, (9, 8), kernel=3, stride=2, padding=1),
    ConvSpec(3, 6, (10, 11), kernel=(3, 2), dilation=(2, 3), padding=(2, 0), groups=3),
    ConvSpec(4, 2, (7, 12), kernel=(2, 4), stride=(1, 3), padding=(0, 2), dilation=(3, 1),
             groups=2, bias=False),
    ConvSpec(1, 5, (6, 6), kernel=1),
    ConvSpec(2, 3, (5, 5), kernel=5, padding=2, stride=2, pool=(2, 2)),
]


def test_esc10_worked_example_by_hand():
    esc = esc_layers()
    conv1, conv2 = esc.convs
    assert conv1.conv_output == (126, 498) and conv1.pooled_output == (42, 166)
    assert conv2.conv_output == (40, 164) and conv2.pooled_output == (13, 54)
    assert esc.flat_shape == (16, 13, 54) == conv_output_shape(EscCnnConfig())
    assert (esc.fc_in, esc.fc_out) == (16 * 13 * 54, 128)
    cost = conv_cost(conv1)
    assert cost["conv"]["params"] == 16 * 9 + 16
    assert cost["conv"]["macs"] == 16 * 126 * 498 * 9
    assert cost["dense"]["params"] == 128 * 500 * 16 * 126 * 498 + 16 * 126 * 498


@pytest.mark.parametrize("spec", SHAPES + list(esc_layers().convs))
def test_calculator_matches_torch_numel_and_flop_counter(spec):
    cost, counts = conv_cost(spec), torch_counts(spec)
    assert counts["conv_params"] == cost["conv"]["params"]
    assert counts["conv_macs"] == cost["conv"]["macs"]
    assert counts["dense_params"] == cost["dense"]["params"]
    assert counts["dense_macs"] == cost["dense"]["macs"]
    assert counts["conv_output_shape"] == cost["conv_output_shape"]


def test_pooled_shape_matches_torch_maxpool():
    spec = SHAPES[-1]
    x = torch.zeros(1, spec.in_channels, *spec.input_size)  # (1, C, H, W)
    y = nn.MaxPool2d(spec.pool)(spec.module()(x))
    assert list(y.shape[1:]) == conv_cost(spec)["pooled_output_shape"]


@pytest.mark.parametrize("i", range(len(SHAPES)))
def test_conv_as_sparse_matrix_is_exact(i):
    spec = SHAPES[i]
    exact = check_conv_as_sparse(spec, seed=i, integer=True)
    assert exact["exact"], exact
    real = check_conv_as_sparse(spec, seed=i)
    assert real["max_abs_err"] < 1e-12
    # shared weights: the matrix stores only the kernel's values, and nnz matches the formula
    assert real["distinct_values"] == real["kernel_weights"] == spec.module().weight.numel()
    assert real["nnz"] == sparse_stats_formula(spec)["nnz"]


def test_sparse_matrix_layout_on_a_tiny_case():
    # 1 channel 3x3 input, 2x2 kernel, stride 1: row 0 = output (0,0) sees inputs 0,1,3,4
    weight = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    W = conv2d_as_sparse(weight, (1, 3, 3)).toarray()
    assert W.shape == (4, 9)
    assert W[0].tolist() == [1, 2, 0, 3, 4, 0, 0, 0, 0]
    assert W[3].tolist() == [0, 0, 0, 0, 1, 2, 0, 3, 4]


def test_sparse_matrix_detects_a_wrong_layout():
    # transposing the kernel must break the equality (the check can fail)
    spec = SHAPES[0]
    conv = spec.module(dtype=torch.float64)
    x = torch.randn(1, spec.in_channels, *spec.input_size, dtype=torch.float64)
    W = conv2d_as_sparse(conv.weight.detach().numpy().transpose(0, 1, 3, 2).copy(),
                         (spec.in_channels, *spec.input_size), stride=2, padding=1)
    with torch.no_grad():
        y = (conv(x) - conv.bias[:, None, None])[0].numpy().ravel()
    assert np.abs(W @ x[0].numpy().ravel() - y).max() > 1e-3


@pytest.mark.parametrize("shape, out", [((16, 13, 54), 128), ((3, 4, 5), 7)])
def test_dense_as_conv_is_exact(shape, out):
    result = check_dense_as_conv(shape, out, seed=1)
    tol = 1e-12 * max(result["output_scale"], 1.0)
    assert result["whole_input_conv_max_abs_err"] <= tol
    assert result["conv1x1_max_abs_err"] <= tol


def test_linear_as_conv_weights_are_the_linear_rows():
    linear = nn.Linear(2 * 3 * 4, 5)
    conv = linear_as_conv(linear, (2, 3, 4))
    assert conv.kernel_size == (3, 4) and conv.out_channels == 5
    assert torch.equal(conv.weight[1].flatten(), linear.weight[1])
    assert linear_as_1x1_conv(linear).weight.shape == (5, 24, 1, 1)
    with pytest.raises(MlsplabError, match="in_features=24"):
        linear_as_conv(linear, (2, 3, 5))


def test_measure_forward_skips_huge_dense():
    timing = measure_forward(esc_layers().convs[0], repeats=1)
    assert timing["dense_materialised"] is False and timing["dense_seconds"] is None
    assert timing["conv_seconds"] > 0
    small = measure_forward(ConvSpec(1, 2, (6, 6)), repeats=1)
    assert small["dense_materialised"] and small["dense_seconds"] > 0


@pytest.mark.parametrize("kwargs, fragment", [
    ({"input_size": (2, 2), "kernel": 3}, "larger than the padded input"),
    ({"input_size": (8, 8), "kernel": 3, "dilation": 4}, "larger than the padded input"),
    ({"input_size": (-1, 8)}, "--input-size"),
    ({"input_size": (8, 8), "stride": 0}, "--stride"),
    ({"input_size": (8, 8), "padding": -1}, "--padding"),
    ({"input_size": (8, 8), "groups": 3}, "--groups"),
    ({"input_size": (4, 4), "pool": 5}, "--pool"),
])
def test_bad_input_gives_clear_errors(kwargs, fragment):
    with pytest.raises(MlsplabError, match=fragment):
        ConvSpec(2, 4, **kwargs)


def test_bad_channels_error():
    with pytest.raises(MlsplabError, match="--in-channels"):
        ConvSpec(-2, 4, (8, 8))


def test_esc_layers_follow_esc_cnn_config():
    # a different EscCnnConfig gives different layers: no second copy of the CNN's sizes
    esc = esc_layers(EscCnnConfig(n_mels=64, n_frames=100, channels=8, kernel=5, pool=2))
    assert [c.kernel for c in esc.convs] == [(5, 5), (5, 5)]
    assert [c.pool for c in esc.convs] == [(2, 2), (2, 2)]
    assert esc.convs[1].in_channels == esc.convs[1].out_channels == 8
    assert esc.flat_shape == conv_output_shape(EscCnnConfig(n_mels=64, n_frames=100, channels=8,
                                                            kernel=5, pool=2))


def test_weight_pattern_ids_name_the_shared_weights():
    spec = ConvSpec(1, 2, (4, 4), kernel=2)
    pattern = weight_pattern(spec)
    assert pattern["shape"] == [18, 16] and pattern["nnz"] == 72 == len(pattern["ids"])
    assert pattern["distinct_values"] == 8 == len(pattern["positions"])
    # row 0 = output (0, 0, 0) reads inputs 0, 1, 4, 5 with K[0,0,0,0], K[0,0,0,1], K[0,0,1,0], ...
    row0 = sorted((c, i) for r, c, i in zip(pattern["rows"], pattern["cols"], pattern["ids"])
                  if r == 0)
    assert row0 == [(0, 0), (1, 1), (4, 2), (5, 3)]
    assert pattern["positions"][5] == [1, 0, 0, 1]
    # every entry with the same id holds the same value in the real matrix W
    weight = np.random.default_rng(0).normal(size=(2, 1, 2, 2))
    W = conv2d_as_sparse(weight, (1, 4, 4)).toarray()
    for r, c, i in zip(pattern["rows"], pattern["cols"], pattern["ids"]):
        assert W[r, c] == weight.reshape(-1)[i]


def test_sparse_check_depends_on_its_seed_only():
    # same seed, different process-wide RNG state before: same numbers
    torch.manual_seed(1)
    first = check_conv_as_sparse(SHAPES[1], seed=4)
    torch.manual_seed(2)
    torch.randn(100)
    assert check_conv_as_sparse(SHAPES[1], seed=4) == first
