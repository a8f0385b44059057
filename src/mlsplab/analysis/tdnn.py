"""Time-delay neural network (Q2): the torch model, a manual forward/backward by the chain rule,
and the checks of one against the other.

A TDNN layer ``l`` with context set ``C_l = {c_1, ..., c_K}`` computes, for every frame ``t``
where all its inputs exist,

    a^l_t = sum_k W^l_k h^{l-1}_{t + c_k}          (one weight matrix per offset)
    h^l_t = ReLU(a^l_t)                             (hidden layers: no bias, as the assignment says)
    y_t   = softmax(a^L_t + b)                      (output layer; bias ``b`` optional)

and the loss is ``E = sum_t CE(y_t, z_t) = -sum_t log y_t[z_t]`` over the output frames that exist.
No padding is used, so each layer loses ``max(C_l) - min(C_l)`` frames (Peddinti et al.,
Interspeech 2015, "A time delay neural network architecture for efficient modeling of long
temporal contexts"). The context arithmetic (which frames exist, parameter counts) is in
:mod:`mlsplab.analysis.tdnn_arch`; the derivation in ``docs/tdnn.md`` uses the names of this file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from mlsplab.analysis.tdnn_arch import Contexts, TDNNConfig, output_frames, receptive_field
from mlsplab.errors import MlsplabError

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- the torch module

class TDNN(nn.Module):
    """A TDNN as a PyTorch module; autograd gives the reference gradients.

    ``weights[l]`` has shape ``(K_l, d_{l+1}, d_l)``: one ``d_out x d_in`` matrix per offset.
    """

    def __init__(self, config: TDNNConfig, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.config = config
        d = config.dims
        self.weights = nn.ParameterList()
        for l, ctx in enumerate(config.layer_contexts):
            w = torch.empty(len(ctx), d[l + 1], d[l], dtype=dtype)
            nn.init.normal_(w, std=(2.0 / (len(ctx) * d[l])) ** 0.5)  # He init over the fan-in
            self.weights.append(nn.Parameter(w))
        self.bias = nn.Parameter(torch.zeros(d[-1], dtype=dtype)) if config.output_bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for the output frames that exist.

        Parameters
        ----------
        x : Tensor of shape (B, T, input_dim)

        Returns
        -------
        logits : Tensor of shape (B, T_out, classes), ``T_out = output_frames(T, contexts)[1]``
        """
        h = x
        n_layers = len(self.weights)
        for l, (ctx, W) in enumerate(zip(self.config.layer_contexts, self.weights)):
            T_out = h.shape[1] - (ctx[-1] - ctx[0])
            if T_out < 1:
                raise MlsplabError(f"sequence of {x.shape[1]} frames is shorter than the "
                                   f"receptive field; give at least "
                                   f"{receptive_field(self.config.layer_contexts)['width']} frames")
            # frame t of this layer reads frame t + c_k - min(C) of the previous one
            a = sum(h[:, c - ctx[0]: c - ctx[0] + T_out] @ W[k].T for k, c in enumerate(ctx))
            h = torch.relu(a) if l < n_layers - 1 else a  # (B, T_out, d_{l+1})
        return h + self.bias if self.bias is not None else h


def sequence_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``E = sum_t CE(y_t, z_t)`` summed (not averaged) over frames and batch.

    logits : (B, T_out, classes); targets : (B, T_out) class indices.
    """
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),  # (B*T_out, classes)
                                       targets.reshape(-1), reduction="sum")


# --------------------------------------------------------------------------- manual chain rule

@dataclass
class ForwardCache:
    """What the backward pass needs: every layer's pre-activation ``a`` and output ``h``."""

    h: list[torch.Tensor]  # h[0] = x (T, d_0); h[l] (T_l, d_l) for hidden layers
    a: list[torch.Tensor]  # a[l-1] = pre-activation of layer l, (T_l, d_l)
    y: torch.Tensor  # softmax outputs (T_L, classes)


def manual_forward(weights: list[torch.Tensor], bias: torch.Tensor | None, x: torch.Tensor,
                   contexts: Contexts) -> ForwardCache:
    """Forward pass for one sequence, without autograd.

    Parameters
    ----------
    weights : list of Tensor, ``weights[l-1]`` of shape (K_l, d_l, d_{l-1})
    bias : Tensor of shape (classes,) or None
    x : Tensor of shape (T, d_0)
    contexts : offsets per layer, output layer last

    Returns
    -------
    ForwardCache
        With ``y`` of shape (T_L, classes).
    """
    h, a_list, h_list = x, [], [x]
    L = len(weights)
    for l in range(1, L + 1):
        ctx, W = contexts[l - 1], weights[l - 1]
        T_l = h.shape[0] - (ctx[-1] - ctx[0])
        a = torch.zeros(T_l, W.shape[1], dtype=x.dtype)
        for k, c in enumerate(ctx):
            o = c - ctx[0]  # h^{l-1}_{t+c_k} sits at row t + o of the previous layer's array
            a += h[o: o + T_l] @ W[k].T  # (T_l, d_{l-1}) @ (d_{l-1}, d_l)
        a_list.append(a)
        if l < L:
            h = torch.clamp(a, min=0.0)  # ReLU
            h_list.append(h)
    logits = a_list[-1] + bias if bias is not None else a_list[-1]
    y = torch.softmax(logits, dim=1)
    return ForwardCache(h=h_list, a=a_list, y=y)


def manual_loss(cache: ForwardCache, targets: torch.Tensor) -> float:
    """``E = -sum_t log y_t[z_t]``; ``targets`` of shape (T_L,)."""
    return float(-torch.log(cache.y[torch.arange(len(targets)), targets]).sum())


def manual_backward(weights: list[torch.Tensor], bias: torch.Tensor | None, cache: ForwardCache,
                    targets: torch.Tensor, contexts: Contexts
                    ) -> tuple[list[torch.Tensor], torch.Tensor | None]:
    """Gradients of ``E`` for every weight matrix by the chain rule (see ``docs/tdnn.md``).

    ``delta^L_t = y_t - z_t``;
    ``dE/dW^l_k = sum_t delta^l_t (h^{l-1}_{t+c_k})^T``;
    ``g^{l-1}_tau = sum_k (W^l_k)^T delta^l_{tau-c_k}`` (only the t that exist);
    ``delta^{l-1}_tau = g^{l-1}_tau * 1[a^{l-1}_tau > 0]``.

    Returns
    -------
    grad_weights : list of Tensor, same shapes as ``weights``
    grad_bias : Tensor of shape (classes,) or None
    """
    L = len(weights)
    z = torch.zeros_like(cache.y)
    z[torch.arange(len(targets)), targets] = 1.0  # one-hot targets (T_L, classes)
    delta = cache.y - z  # softmax + cross-entropy: dE/da^L_t = y_t - z_t
    grad_bias = delta.sum(dim=0) if bias is not None else None
    grad_weights: list[torch.Tensor] = [torch.empty(0)] * L
    for l in range(L, 0, -1):
        ctx, W, h_prev = contexts[l - 1], weights[l - 1], cache.h[l - 1]
        T_l = delta.shape[0]
        gW = torch.zeros_like(W)
        g_prev = torch.zeros_like(h_prev)  # dE/dh^{l-1}, (T_{l-1}, d_{l-1})
        for k, c in enumerate(ctx):
            o = c - ctx[0]
            gW[k] = delta.T @ h_prev[o: o + T_l]  # sum_t delta_t h_{t+c_k}^T, (d_l, d_{l-1})
            g_prev[o: o + T_l] += delta @ W[k]  # frame tau = t + c_k receives W_k^T delta_t
        grad_weights[l - 1] = gW
        if l > 1:
            delta = g_prev * (cache.a[l - 2] > 0).to(g_prev.dtype)  # ReLU'(a^{l-1})
    return grad_weights, grad_bias


def gradient_descent_step(weights: list[torch.Tensor], bias: torch.Tensor | None,
                          grad_weights: list[torch.Tensor], grad_bias: torch.Tensor | None,
                          lr: float) -> tuple[list[torch.Tensor], torch.Tensor | None]:
    """``W^l_k <- W^l_k - lr * dE/dW^l_k`` and ``b <- b - lr * dE/db`` (new tensors)."""
    new_w = [W - lr * g for W, g in zip(weights, grad_weights)]
    new_b = bias - lr * grad_bias if bias is not None and grad_bias is not None else bias
    return new_w, new_b


# --------------------------------------------------------------------------- verification

def _rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    denom = max(float(a.norm()), float(b.norm()))
    return 0.0 if denom == 0.0 else float((a - b).norm()) / denom


def _central_differences(loss_at, weights: list[torch.Tensor], bias: torch.Tensor | None,
                         param: int, entries: list[int], eps: float) -> torch.Tensor:
    """``(E(p + eps) - E(p - eps)) / 2 eps`` for the flat ``entries`` of parameter ``param``
    (the weight matrices in order, then the bias)."""
    fd = torch.empty(len(entries), dtype=torch.float64)
    for j, e in enumerate(entries):
        vals = []
        for sign in (1.0, -1.0):
            ws = [W.clone() for W in weights]
            b = bias.clone() if bias is not None else None
            target = ws[param] if param < len(ws) else b
            assert target is not None
            target.view(-1)[e] += sign * eps
            vals.append(loss_at(ws, b))
        fd[j] = (vals[0] - vals[1]) / (2 * eps)
    return fd


def gradient_check(config: TDNNConfig, *, n_frames: int, seed: int = 0, fd_entries: int = 8,
                   eps: float = 1e-6) -> dict[str, object]:
    """Compare the manual gradients with autograd and with central finite differences (float64).

    Parameters
    ----------
    config : TDNNConfig
    n_frames : int
        Input sequence length ``T`` (must exceed the receptive field width - 1).
    seed : int, default=0
    fd_entries : int, default=8
        Entries per parameter checked by finite differences (half the largest gradients, half
        random), each costing two forward passes.
    eps : float, default=1e-6
        Finite-difference step.

    Returns
    -------
    dict
        ``n_frames``, ``n_out_frames``, ``loss`` and per parameter ``name``, ``shape``,
        ``rel_err_autograd`` (``||g_manual - g_auto|| / ||g_auto||``) and ``rel_err_fd`` (same norm
        over the sampled entries).
    """
    first, n_out = output_frames(n_frames, config.layer_contexts)
    if n_out < 1:
        width = receptive_field(config.layer_contexts)["width"]
        raise MlsplabError(f"n_frames={n_frames} gives no output frame; the receptive field is "
                           f"{width} frames, so use at least {width}")
    gen = torch.Generator().manual_seed(seed)
    model = TDNN(config, dtype=torch.float64)
    with torch.no_grad():
        for W in model.weights:
            W.copy_(torch.randn(W.shape, generator=gen, dtype=torch.float64)
                    * (2.0 / (W.shape[0] * W.shape[2])) ** 0.5)
        if model.bias is not None:
            model.bias.copy_(0.1 * torch.randn(model.bias.shape, generator=gen,
                                               dtype=torch.float64))
    x = torch.randn(n_frames, config.input_dim, generator=gen, dtype=torch.float64)
    targets = torch.randint(config.classes, (n_out,), generator=gen)

    # reference: autograd through the torch module
    loss = sequence_loss(model(x[None]), targets[None])  # x[None]: (1, T, d_0)
    loss.backward()
    params = list(model.weights) + ([model.bias] if model.bias is not None else [])
    names = [f"W{l}" for l in range(1, len(model.weights) + 1)] + (["b"] if model.bias is not None
                                                                    else [])
    auto = [p.grad.detach().clone() for p in params]

    weights = [W.detach().clone() for W in model.weights]
    bias = model.bias.detach().clone() if model.bias is not None else None
    cache = manual_forward(weights, bias, x, config.layer_contexts)
    manual_e = manual_loss(cache, targets)
    gw, gb = manual_backward(weights, bias, cache, targets, config.layer_contexts)
    manual = gw + ([gb] if gb is not None else [])

    def loss_at(ws: list[torch.Tensor], b: torch.Tensor | None) -> float:
        return manual_loss(manual_forward(ws, b, x, config.layer_contexts), targets)

    rows = []
    for i, (name, g_man, g_auto) in enumerate(zip(names, manual, auto)):
        flat = g_man.reshape(-1)  # (numel,)
        n = min(fd_entries, flat.numel())
        top = torch.topk(flat.abs(), max(n // 2, 1)).indices
        rand = torch.randint(flat.numel(), (n - len(top),), generator=gen)
        idx = torch.unique(torch.cat([top, rand]))
        fd = _central_differences(loss_at, weights, bias, i, idx.tolist(), eps)
        rows.append({"name": name, "shape": list(g_man.shape),
                     "rel_err_autograd": _rel_err(g_man, g_auto),
                     "rel_err_fd": _rel_err(flat[idx], fd), "fd_entries": len(idx)})
    return {"n_frames": n_frames, "first_output_frame": first, "n_out_frames": n_out,
            "loss": manual_e, "loss_autograd": float(loss.detach()), "params": rows}


def update_step_check(config: TDNNConfig, *, n_frames: int, seed: int = 0, lr: float = 1e-3
                      ) -> dict[str, object]:
    """One gradient-descent step with the manual gradients on random data (float64).

    Returns ``lr``, ``loss_before``, ``loss_after`` and ``decreased``: the update of every
    parameter, applied once, should lower the loss for a small enough ``lr``.
    """
    gen = torch.Generator().manual_seed(seed + 1)
    model = TDNN(config, dtype=torch.float64)
    weights = [W.detach().clone() for W in model.weights]
    bias = model.bias.detach().clone() if model.bias is not None else None
    x = torch.randn(n_frames, config.input_dim, generator=gen, dtype=torch.float64)  # (T, d_0)
    targets = torch.randint(config.classes, (output_frames(n_frames, config.layer_contexts)[1],),
                            generator=gen)
    cache = manual_forward(weights, bias, x, config.layer_contexts)
    before = manual_loss(cache, targets)
    gw, gb = manual_backward(weights, bias, cache, targets, config.layer_contexts)
    new_w, new_b = gradient_descent_step(weights, bias, gw, gb, lr)
    after = manual_loss(manual_forward(new_w, new_b, x, config.layer_contexts), targets)
    return {"lr": lr, "loss_before": before, "loss_after": after, "decreased": after < before}


def random_config(rng: np.random.Generator) -> tuple[TDNNConfig, int]:
    """A small random architecture and a sequence length that leaves 1-6 output frames.

    Used to check the manual backward on many shapes: 1-3 hidden layers, each with 1-4 distinct
    offsets in [-4, 4], random widths, output context and output bias.
    """
    def ctx() -> tuple[int, ...]:
        offsets = rng.choice(np.arange(-4, 5), rng.integers(1, 5), replace=False)
        return tuple(int(c) for c in offsets)

    config = TDNNConfig(input_dim=int(rng.integers(2, 7)),
                        contexts=tuple(ctx() for _ in range(rng.integers(1, 4))),
                        hidden=int(rng.integers(3, 9)), classes=int(rng.integers(2, 6)),
                        output_context=ctx() if rng.random() < 0.5 else (0,),
                        output_bias=bool(rng.random() < 0.5))
    width = int(receptive_field(config.layer_contexts)["width"])
    return config, width + int(rng.integers(0, 6))
