"""The IMDB models' CPU dropout (models/dropout.py) and the LSTM that uses it between its layers
(models/stacked_lstm.py): the rate, the scaling, the gradient, determinism, and an LSTM that
gives nn.LSTM's numbers whenever no mask is drawn."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mlsplab.models import stacked_lstm
from mlsplab.models.dropout import Dropout, dropout, keep_mask
from mlsplab.models.lstm_classifier import LSTMClassifier, LSTMConfig
from mlsplab.models.stacked_lstm import StackedLSTM

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
def test_mask_keeps_each_element_with_probability_one_minus_p(p):
    torch.manual_seed(0)
    n = 1_000_000
    kept = keep_mask(torch.Size([n]), p, torch.device("cpu")).double().mean().item()
    assert abs(kept - (1 - p)) < 5 * ((p * (1 - p) / n) ** 0.5)  # five standard errors
    # neighbours share a 64-bit draw but not their bits: pairs are independent
    m = keep_mask(torch.Size([n // 2, 2]), p, torch.device("cpu")).double()
    both = (m[:, 0] * m[:, 1]).mean().item()
    assert abs(both - (1 - p) ** 2) < 5 * (((1 - p) ** 2 * (1 - (1 - p) ** 2) / (n // 2)) ** 0.5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_dropout_scales_kept_values_and_masks_the_gradient(dtype):
    torch.manual_seed(1)
    x = (torch.rand(64, 33, dtype=torch.float32) + 1).to(dtype).requires_grad_(True)
    y = dropout(x, 0.3)
    kept = y != 0
    assert 0.6 < kept.float().mean() < 0.8
    expected = (x.detach().float() * (1 / 0.7)).to(dtype)  # as nn.Dropout rounds it
    assert torch.equal(y[kept].detach(), expected[kept])
    y.sum().backward()
    assert torch.equal(x.grad != 0, kept)


def test_same_seed_same_masks_whatever_the_threads():
    masks = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        torch.manual_seed(7)
        masks.append(keep_mask(torch.Size([300, 301]), 0.3, torch.device("cpu")))
    torch.set_num_threads(1)
    assert torch.equal(*masks)
    torch.manual_seed(8)
    assert not torch.equal(masks[0], keep_mask(torch.Size([300, 301]), 0.3, torch.device("cpu")))


def test_dropout_layer_is_nn_dropout_in_eval_and_at_the_extremes():
    x = torch.randn(5, 7)
    layer = Dropout(0.3)
    assert isinstance(layer, nn.Dropout) and torch.equal(layer.eval()(x), x)
    assert torch.equal(Dropout(0.0).train()(x), x)
    assert torch.equal(Dropout(1.0).train()(x), torch.zeros_like(x))


def _lstm_pair(dropout_rate: float) -> tuple[StackedLSTM, nn.LSTM]:
    torch.manual_seed(0)
    ours = StackedLSTM(6, 8, num_layers=2, batch_first=True, dropout=dropout_rate)
    plain = nn.LSTM(6, 8, num_layers=2, batch_first=True, dropout=dropout_rate)
    plain.load_state_dict(ours.state_dict())  # same parameter names
    return ours, plain


@pytest.mark.parametrize("autocast", [False, True])
def test_stacked_lstm_gives_nn_lstm_numbers_without_masks(autocast, monkeypatch):
    """Layer by layer in Python (training, every element kept) against nn.LSTM's own loop."""
    ours, plain = _lstm_pair(0.0)
    ours.dropout = 0.5  # a rate sends ours through its own loop; keep every element there
    monkeypatch.setattr(stacked_lstm, "dropout", lambda h, p: h)
    x = torch.randn(3, 11, 6)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        out, (h, c) = ours.train()(x)
        ref, (h_ref, c_ref) = plain.train()(x)
    assert out.dtype == ref.dtype
    assert torch.equal(out, ref) and torch.equal(h, h_ref) and torch.equal(c, c_ref)
    assert torch.equal(ours.eval()(x)[0], plain.eval()(x)[0])


def test_stacked_lstm_drops_between_layers_only_in_training():
    ours, _ = _lstm_pair(0.5)
    x = torch.randn(4, 9, 6)
    torch.manual_seed(3)
    a = ours.train()(x)[0]
    torch.manual_seed(3)
    b = ours(x)[0]
    torch.manual_seed(4)
    c = ours(x)[0]
    assert torch.equal(a, b) and not torch.equal(a, c)  # the seed decides the masks
    assert torch.equal(ours.eval()(x)[0], ours(x)[0])  # evaluation: no dropout


def test_lstm_classifier_loads_weights_saved_from_nn_lstm():
    """Weights saved before the LSTM drew its own masks (nn.LSTM's names) load unchanged."""
    torch.manual_seed(0)
    emb = torch.randn(20, 100)
    model = LSTMClassifier(LSTMConfig(hidden_dim=16), emb)
    names = {k for k in model.state_dict() if k.startswith("lstm.")}
    assert names == {f"lstm.{w}_l{k}" for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                     for k in (0, 1)}
