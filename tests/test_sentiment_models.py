"""The Q1 sentiment models: shapes, masking, attention weights, overfitting, bf16."""

from __future__ import annotations

import pytest
import torch

from mlsplab.models.lstm_classifier import LSTMClassifier, LSTMConfig
from mlsplab.models.pooling import length_mask
from mlsplab.models.transformer_classifier import TransformerClassifier, TransformerConfig

V, E = 50, 100


pytestmark = pytest.mark.usefixtures("one_thread")


def _emb():
    g = torch.Generator().manual_seed(0)
    emb = torch.randn(V, E, generator=g)
    emb[0] = 0
    return emb


def _models(small: bool = False):
    torch.manual_seed(0)
    h = 32 if small else 256
    return {
        "lstm-avg": LSTMClassifier(LSTMConfig(hidden_dim=h, pooling="mean"), _emb()),
        "lstm-attention": LSTMClassifier(LSTMConfig(hidden_dim=h, pooling="attention"), _emb()),
        "lstm-packed": LSTMClassifier(LSTMConfig(hidden_dim=h, packed=True), _emb()),
        "transformer": TransformerClassifier(
            TransformerConfig(d_model=h, ff_dim=4 * h), _emb()),
    }


def _batch(B=4, T=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([T, T - 3, 5, 1][:B])
    ids = torch.randint(2, V, (B, T), generator=g)
    ids[length_mask(lengths, T, ids.device).logical_not()] = 0  # padding
    return ids, lengths


@pytest.mark.parametrize("name", ["lstm-avg", "lstm-attention", "lstm-packed", "transformer"])
def test_padding_never_changes_outputs(name):
    model = _models(small=True)[name].eval()
    ids, lengths = _batch()
    with torch.no_grad():
        base = model(ids, lengths)
        assert base.shape == (4,)
        # more padding, and garbage ids in the padded positions
        more = torch.cat([ids, torch.randint(2, V, (4, 7))], dim=1)
        padded = model(more, lengths)
        # each review alone, without any padding
        alone = torch.stack([model(ids[i:i + 1, :n], lengths[i:i + 1])[0]
                             for i, n in enumerate(lengths.tolist())])
    torch.testing.assert_close(padded, base, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(alone, base, atol=1e-5, rtol=1e-5)


def test_dense_and_packed_lstm_agree():
    torch.manual_seed(0)
    dense = LSTMClassifier(LSTMConfig(hidden_dim=32), _emb()).eval()
    packed = LSTMClassifier(LSTMConfig(hidden_dim=32, packed=True), _emb()).eval()
    packed.load_state_dict(dense.state_dict())
    ids, lengths = _batch()
    with torch.no_grad():
        torch.testing.assert_close(packed(ids, lengths), dense(ids, lengths))


def test_gradients_ignore_padding():
    torch.manual_seed(0)
    model = LSTMClassifier(LSTMConfig(hidden_dim=32, dropout=0.0), _emb())
    ids, lengths = _batch()
    model(ids, lengths).sum().backward()
    g1 = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model(torch.cat([ids, torch.randint(2, V, (4, 5))], 1), lengths).sum().backward()
    for a, b in zip(g1, [p.grad for p in model.parameters()]):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_attention_weights_sum_to_one_over_real_tokens():
    model = _models(small=True)["lstm-attention"].eval()
    ids, lengths = _batch()
    with torch.no_grad():
        logits, alpha = model(ids, lengths, return_attention=True)
    assert alpha.shape == ids.shape and logits.shape == (4,)
    mask = length_mask(lengths, ids.shape[1], ids.device)
    torch.testing.assert_close(alpha.sum(1), torch.ones(4))
    assert (alpha[~mask] == 0).all() and (alpha[mask] > 0).all()


def test_full_size_shapes_and_parameter_counts():
    models = _models()
    ids, lengths = _batch()
    for m in models.values():
        assert m(ids, lengths).shape == (4,)
    n = {k: sum(p.numel() for p in m.parameters() if p.requires_grad) for k, m in models.items()}
    # 2-layer LSTM(100 -> 256 -> 256): 4*256*(100+256+2) + 4*256*(256+256+2) = 892928, head 257
    assert n["lstm-avg"] == 892928 + 257
    assert n["lstm-attention"] == n["lstm-avg"] + 256 * 128 + 128 + 128
    assert not any(p.requires_grad for p in [models["lstm-avg"].embeddings])
    assert "embeddings" not in models["lstm-avg"].state_dict()  # frozen vectors not saved


@pytest.mark.parametrize("name", ["lstm-avg", "lstm-attention", "transformer"])
def test_tiny_model_overfits_tiny_set(name):
    torch.manual_seed(0)
    model = _models(small=True)[name]
    for mod in model.modules():
        if isinstance(mod, torch.nn.Dropout):
            mod.p = 0.0
    if hasattr(model, "lstm"):
        model.lstm.dropout = 0.0
    ids, lengths = _batch(T=10, seed=1)
    y = torch.tensor([1.0, 0.0, 1.0, 0.0])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(ids, lengths), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.05


@pytest.mark.parametrize("name", ["lstm-avg", "transformer"])
def test_bf16_close_to_fp32(name):
    model = _models(small=True)[name].eval()
    ids, lengths = _batch()
    with torch.no_grad():
        ref = torch.sigmoid(model(ids, lengths))
        try:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                low = torch.sigmoid(model(ids, lengths).float())
        except RuntimeError as e:
            pytest.skip(f"bf16 autocast does not run on this CPU: {str(e)[:80]}")
    torch.testing.assert_close(low, ref, atol=0.03, rtol=0)


def test_transformer_dropout_sits_where_the_original_puts_it():
    model = TransformerClassifier(TransformerConfig(d_model=32, ff_dim=64), _emb())
    # residual dropouts at the main rate; attention-weight and feed-forward dropout off
    assert model.encoder.dropout1.p == model.encoder.dropout2.p == model.drop.p == 0.1
    assert model.encoder.self_attn.dropout == 0.0
    assert isinstance(model.encoder.dropout, torch.nn.Identity)
    both = TransformerClassifier(TransformerConfig(attention_dropout=0.2, ff_dropout=0.3), _emb())
    assert both.encoder.self_attn.dropout == 0.2 and both.encoder.dropout.p == 0.3
    # the main dropout acts on the word + position sum (B, T, D) and on the pooled vector (B, D)
    shapes = []
    model.drop.register_forward_hook(lambda m, inp, out: shapes.append(tuple(out.shape)))
    model(torch.randint(1, 20, (2, 7)), torch.tensor([7, 5]))
    assert shapes == [(2, 7, 32), (2, 32)]


def test_transformer_evaluation_skips_the_mha_fast_path_and_restores_the_flag():
    """The encoder runs its regular path in eval mode (the nested-tensor fast path was the slow
    one here); its outputs match the fast path's, and the global flag is left as found."""
    model = _models(small=True)["transformer"].eval()
    ids, lengths = _batch()
    calls = []
    orig = torch.backends.mha.set_fastpath_enabled

    def spy(value):
        calls.append(value)
        orig(value)

    torch.backends.mha.set_fastpath_enabled = spy
    try:
        with torch.no_grad():
            ours = model(ids, lengths)
    finally:
        torch.backends.mha.set_fastpath_enabled = orig
    assert calls[0] is False and torch.backends.mha.get_fastpath_enabled() is True
    with torch.no_grad():  # the fast path by hand, for comparison
        x = model.drop(model.input_norm(model.input_proj(
            torch.nn.functional.embedding(ids, model.embeddings))) + model.positions[:12])
        mask = length_mask(lengths, 12, ids.device)
        h = model.encoder(x, src_key_padding_mask=~mask)
        fast = model.head((h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)).squeeze(-1)
    torch.testing.assert_close(ours, fast, atol=1e-5, rtol=1e-5)
