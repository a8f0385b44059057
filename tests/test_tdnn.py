"""Q2 TDNN: parameter counts, valid frames, manual backprop vs autograd and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mlsplab.analysis.tdnn import (
    TDNN,
    gradient_check,
    gradient_descent_step,
    manual_backward,
    manual_forward,
    manual_loss,
    random_config,
    sequence_loss,
    update_step_check,
)
from mlsplab.analysis.tdnn_arch import (
    TDNNConfig,
    closed_form_total,
    connected_offsets,
    count_parameters,
    output_frames,
    parse_contexts,
    receptive_field,
)
from mlsplab.errors import MlsplabError


def test_default_architecture_parameter_count_by_hand():
    # 5*13*512 + 2*512*512 + 2*512*512 + 512*10 + 10, written out independently of the code
    config = TDNNConfig()
    expected = 33280 + 524288 + 524288 + 5120 + 10
    assert closed_form_total(config) == expected
    assert sum(p.numel() for p in TDNN(config).parameters()) == expected
    assert [r["params"] for r in count_parameters(config)] == [33280, 524288, 524288, 5130]


@pytest.mark.parametrize("seed", range(6))
def test_parameter_formula_equals_numel_on_random_architectures(seed):
    config, _ = random_config(np.random.default_rng(seed))
    rows = count_parameters(config)
    numel = sum(p.numel() for p in TDNN(config).parameters())
    assert sum(r["params"] for r in rows) == closed_form_total(config) == numel


def test_valid_frames_and_receptive_field():
    contexts = ((-2, -1, 0, 1, 2), (-1, 2), (-3, 3), (0,))
    first, n_out = output_frames(30, contexts)
    assert (first, n_out) == (6, 30 - 4 - 3 - 6)
    field = receptive_field(contexts)
    assert (field["first_offset"], field["last_offset"], field["width"]) == (-6, 7, 14)
    # sparse contexts leave holes: {-3,3} + {-3,3} reaches -6, 0, 6 only
    assert receptive_field(((-3, 3), (-3, 3)))["used_offsets"] == [-6, 0, 6]
    assert output_frames(5, contexts) == (6, 0)


def test_module_output_length_matches_output_frames():
    config = TDNNConfig(input_dim=3, contexts=((-1, 0, 1), (2,)), hidden=4, classes=3,
                        output_context=(-2, 1))
    x = torch.randn(2, 17, 3)  # (B, T, d_0)
    assert model_len(config, x) == output_frames(17, config.layer_contexts)[1] == 17 - 2 - 0 - 3


def model_len(config: TDNNConfig, x: torch.Tensor) -> int:
    return TDNN(config)(x).shape[1]


def test_module_equals_manual_forward_frame_by_frame():
    # a single output frame computed by hand from the definition a_t = sum_k W_k h_{t+c_k}
    torch.manual_seed(0)
    config = TDNNConfig(input_dim=2, contexts=((-1, 1),), hidden=3, classes=2, output_bias=False)
    model = TDNN(config, dtype=torch.float64)
    x = torch.randn(5, 2, dtype=torch.float64)
    W1, W2 = (w.detach() for w in model.weights)
    t = 2  # output frame 1 is at input time 2
    h = torch.relu(W1[0] @ x[t - 1] + W1[1] @ x[t + 1])
    assert torch.allclose(model(x[None])[0, 1], W2[0] @ h)


@pytest.mark.parametrize("seed", range(5))
def test_manual_gradients_match_autograd_and_finite_differences(seed):
    config, n_frames = random_config(np.random.default_rng(1000 + seed))
    result = gradient_check(config, n_frames=n_frames, seed=seed, fd_entries=6)
    assert abs(result["loss"] - result["loss_autograd"]) <= 1e-10 * abs(result["loss"])
    for row in result["params"]:
        assert row["rel_err_autograd"] <= 1e-8, row
        assert row["rel_err_fd"] <= 1e-5, row


def test_gradient_check_detects_a_wrong_gradient(monkeypatch):
    # a 1% error in one gradient must be noticed (the check is not a tautology)
    from mlsplab.analysis import tdnn

    real = tdnn.manual_backward

    def broken(weights, bias, cache, targets, contexts):
        gw, gb = real(weights, bias, cache, targets, contexts)
        gw[0] = gw[0] * 1.01
        return gw, gb

    monkeypatch.setattr(tdnn, "manual_backward", broken)
    config = TDNNConfig(input_dim=3, contexts=((-1, 0, 1),), hidden=4, classes=3)
    result = tdnn.gradient_check(config, n_frames=8, fd_entries=4)
    assert result["params"][0]["rel_err_autograd"] > 1e-3


def test_gradient_descent_step_lowers_the_loss():
    torch.manual_seed(0)
    config = TDNNConfig(input_dim=4, contexts=((-1, 0, 1), (-2, 2)), hidden=8, classes=3)
    model = TDNN(config, dtype=torch.float64)
    weights = [w.detach().clone() for w in model.weights]
    bias = model.bias.detach().clone()
    x = torch.randn(20, 4, dtype=torch.float64)
    targets = torch.randint(3, (output_frames(20, config.layer_contexts)[1],))
    cache = manual_forward(weights, bias, x, config.layer_contexts)
    loss = manual_loss(cache, targets)
    reference = float(sequence_loss(model(x[None]), targets[None]).detach())
    assert loss == pytest.approx(reference, rel=1e-12)
    gw, gb = manual_backward(weights, bias, cache, targets, config.layer_contexts)
    new_w, new_b = gradient_descent_step(weights, bias, gw, gb, 1e-3)
    assert torch.equal(new_w[0], weights[0] - 1e-3 * gw[0])
    assert manual_loss(manual_forward(new_w, new_b, x, config.layer_contexts), targets) < loss


@pytest.mark.parametrize("text, fragment", [
    ("-2,a,1;0", "not all integers"),
    ("-1,0;;1", "layer 2 has no offsets"),
    ("-1,0,-1", "repeats offset"),
    ("1.5", "not all integers"),
])
def test_bad_contexts_give_clear_errors(text, fragment):
    with pytest.raises(MlsplabError, match=fragment):
        parse_contexts(text)


@pytest.mark.parametrize("kwargs, flag", [
    ({"hidden": -5}, "--hidden"), ({"input_dim": 0}, "--input-dim"), ({"classes": -1}, "--classes"),
    ({"contexts": ((),)}, "--contexts"), ({"contexts": ((0.5, 1),)}, "--contexts"),
])
def test_bad_config_gives_clear_errors(kwargs, flag):
    with pytest.raises(MlsplabError, match=flag):
        TDNNConfig(**kwargs)


def test_connected_offsets_layer_by_layer():
    # output frame t depends on layer-3 frames t-3, t+3; layer-2 frames reached through them
    used = connected_offsets(((-1, 1), (-3, 3), (0,)))
    assert used == [[-4, -2, 2, 4], [-3, 3], [0], [0]]


def test_update_step_check_lowers_the_loss():
    config = TDNNConfig(input_dim=3, contexts=((-1, 0, 1),), hidden=5, classes=3)
    result = update_step_check(config, n_frames=12, seed=0, lr=1e-3)
    assert result["decreased"] and result["loss_after"] < result["loss_before"]
