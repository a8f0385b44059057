"""Conv layer vs dense layer (Q4 ii): a conv layer as a sparse, weight-shared matrix, and a
dense layer as a conv layer.

A Conv2d is a linear map, so it *is* a dense layer ``y = W x + b`` whose ``N_out x N_in``
matrix is sparse (each output sees ``C_in/groups * k_h * k_w`` inputs) and weight-shared (every
row of one output channel holds the same kernel values, shifted). Conversely a dense layer is a
Conv2d whose kernel covers the whole input, or a 1x1 conv on the flattened input.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse
import torch
from torch import nn

from mlsplab.analysis.conv_cost import ConvSpec, conv_output_size, pair
from mlsplab.errors import MlsplabError

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- conv as dense

def conv2d_as_sparse(weight: np.ndarray, input_shape: tuple[int, int, int], *,
                     stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                     dilation: int | tuple[int, int] = 1, groups: int = 1
                     ) -> scipy.sparse.csr_matrix:
    """The explicit matrix ``W`` with ``W @ x.ravel() == conv2d(x).ravel()`` (no bias).

    Parameters
    ----------
    weight : ndarray of shape (C_out, C_in / groups, k_h, k_w)
        A Conv2d's weight.
    input_shape : (C_in, H, W)
    stride, padding, dilation : int or (int, int)
        As in ``torch.nn.Conv2d``; zero padding simply drops the taps that fall outside.
    groups : int, default=1

    Returns
    -------
    W : scipy.sparse.csr_matrix of shape (C_out * H_out * W_out, C_in * H * W)
        Row ``(o * H_out + i) * W_out + j`` is output channel ``o`` at ``(i, j)``; column
        ``(c * H + r) * W + s`` is input channel ``c`` at ``(r, s)`` (C-order ``ravel``).
    """
    C_out, C_g, kh, kw = weight.shape
    C_in, H, W = input_shape
    (sh, sw), (ph, pw) = pair(stride, "stride"), pair(padding, "padding")
    dh, dw = pair(dilation, "dilation")
    if C_g * groups != C_in or C_out % groups:
        raise MlsplabError(f"weight {weight.shape} with groups={groups} does not fit "
                           f"{C_in} input channels")
    Ho, Wo = conv_output_size(H, kh, sh, ph, dh), conv_output_size(W, kw, sw, pw, dw)
    if Ho < 1 or Wo < 1:
        raise MlsplabError(f"kernel {kh}x{kw} (dilation {dh}x{dw}) is larger than the padded "
                           f"input {H + 2 * ph}x{W + 2 * pw}")
    out_per_group = C_out // groups
    o = np.arange(C_out)[:, None, None]  # (C_out, 1, 1)
    i = np.arange(Ho)[None, :, None]  # (1, H_out, 1)
    j = np.arange(Wo)[None, None, :]  # (1, 1, W_out)
    rows_all = ((o * Ho + i) * Wo + j)  # (C_out, H_out, W_out)
    rows, cols, vals = [], [], []
    for cg in range(C_g):
        c = (o // out_per_group) * C_g + cg  # input channel seen by output channel o, (C_out,1,1)
        for u in range(kh):
            r = i * sh - ph + u * dh  # input row of tap u, (1, H_out, 1)
            for v in range(kw):
                s = j * sw - pw + v * dw  # input column of tap v, (1, 1, W_out)
                inside = (r >= 0) & (r < H) & (s >= 0) & (s < W)  # (1, H_out, W_out) not padding
                inside = np.broadcast_to(inside, rows_all.shape)
                col = np.broadcast_to((c * H + r) * W + s, rows_all.shape)
                val = np.broadcast_to(weight[:, cg, u, v][:, None, None], rows_all.shape)
                rows.append(rows_all[inside])
                cols.append(col[inside])
                vals.append(val[inside])
    shape = (C_out * Ho * Wo, C_in * H * W)
    mat = scipy.sparse.coo_matrix((np.concatenate(vals), (np.concatenate(rows),
                                                          np.concatenate(cols))), shape=shape)
    return mat.tocsr()  # no duplicate (row, col) pairs: each tap hits a distinct input


def sparse_stats(W: scipy.sparse.spmatrix, conv_weight: np.ndarray) -> dict[str, object]:
    """Sparsity and weight sharing of the matrix of a conv layer.

    Returns ``shape``, ``nnz``, ``density`` (nnz / size), ``distinct_values`` (distinct stored
    values = the shared weights), ``kernel_weights`` (conv weight numel) and ``uses_per_weight``
    (nnz / kernel weights: how often each shared weight appears).
    """
    n_rows, n_cols = W.shape
    return {"shape": [int(n_rows), int(n_cols)], "nnz": int(W.nnz),
            "density": W.nnz / (n_rows * n_cols), "distinct_values": int(np.unique(W.data).size),
            "kernel_weights": int(conv_weight.size),
            "uses_per_weight": W.nnz / conv_weight.size,
            "sparse_bytes_csr": int(W.data.nbytes + W.indices.nbytes + W.indptr.nbytes)}


def check_conv_as_sparse(spec: ConvSpec, *, seed: int = 0, integer: bool = False
                         ) -> dict[str, object]:
    """Build W for a random float64 Conv2d and compare ``W @ x + b`` with the conv output.

    ``integer=True`` draws small integer weights and inputs so float64 sums are exact and the
    comparison is bitwise (``exact``); otherwise ``max_abs_err`` is reported. Weights, bias and
    input all come from a generator seeded with ``seed``, so the result does not depend on
    what ran before in the process.
    """
    gen = torch.Generator().manual_seed(seed)
    conv = spec.module(dtype=torch.float64)
    x = torch.randn(1, spec.in_channels, *spec.input_size, generator=gen,
                    dtype=torch.float64)  # (1, C_in, H, W)
    with torch.no_grad():
        # nn.Conv2d's default distribution, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and
        # bias, but from the seeded generator instead of the process-wide RNG
        bound = 1.0 / np.sqrt(conv.weight[0].numel())
        for p in conv.parameters():
            p.copy_((2 * torch.rand(p.shape, generator=gen, dtype=torch.float64) - 1) * bound)
        if integer:
            conv.weight.copy_(torch.randint(-9, 10, conv.weight.shape, generator=gen))
            if conv.bias is not None:
                conv.bias.copy_(torch.randint(-9, 10, conv.bias.shape, generator=gen))
            x = torch.randint(-9, 10, x.shape, generator=gen).double()
        y = conv(x)[0].numpy().ravel()  # (C_out*H_out*W_out,)
    weight = conv.weight.detach().numpy()
    W = conv2d_as_sparse(weight, (spec.in_channels, *spec.input_size), stride=spec.stride,
                         padding=spec.padding, dilation=spec.dilation, groups=spec.groups)
    b = (np.repeat(conv.bias.detach().numpy(), spec.conv_output[0] * spec.conv_output[1])
         if conv.bias is not None else 0.0)  # bias per output channel -> per output unit
    y_sparse = W @ x[0].numpy().ravel() + b
    return {**sparse_stats(W, weight), "max_abs_err": float(np.abs(y_sparse - y).max()),
            "exact": bool(np.array_equal(y_sparse, y))}


def weight_pattern(spec: ConvSpec) -> dict[str, object]:
    """Where the kernel's weights sit in the matrix ``W`` of ``spec``: every non-zero, with the
    kernel position it holds.

    Builds ``W`` from a kernel whose entries are their own 1-based flat index, so each stored
    value names the shared weight ``K[o, c, u, v]`` it stands for.

    Returns
    -------
    dict
        ``shape`` (rows, columns), ``rows``, ``cols`` and ``ids`` (0-based flat kernel index,
        one per non-zero), ``positions`` (``[o, c, u, v]`` of each id), ``nnz``,
        ``distinct_values`` (ids that occur).
    """
    C_out, C_g, (kh, kw) = spec.out_channels, spec.in_channels // spec.groups, spec.kernel
    ids = np.arange(1, C_out * C_g * kh * kw + 1, dtype=np.float64).reshape(C_out, C_g, kh, kw)
    W = conv2d_as_sparse(ids, (spec.in_channels, *spec.input_size), stride=spec.stride,
                         padding=spec.padding, dilation=spec.dilation,
                         groups=spec.groups).tocoo()
    positions = [[int(o), int(c), int(u), int(v)] for o, c, u, v in np.ndindex(ids.shape)]
    return {"shape": [int(n) for n in W.shape], "rows": W.row.tolist(), "cols": W.col.tolist(),
            "ids": (W.data.astype(np.int64) - 1).tolist(), "positions": positions,
            "nnz": int(W.nnz), "distinct_values": int(np.unique(W.data).size)}


# --------------------------------------------------------------------------- dense as conv

def linear_as_conv(linear: nn.Linear, input_shape: tuple[int, int, int]) -> nn.Conv2d:
    """A Conv2d whose kernel covers the whole ``(C, H, W)`` input and equals ``linear``.

    ``conv(x)`` has shape (B, out_features, 1, 1) and equals ``linear(x.flatten(1))``: each of the
    ``out_features`` filters is one row of the Linear weight, reshaped to (C, H, W).
    """
    C, H, W = input_shape
    if C * H * W != linear.in_features:
        raise MlsplabError(f"input shape {input_shape} has {C * H * W} values but the Linear "
                           f"expects in_features={linear.in_features}")
    conv = nn.Conv2d(C, linear.out_features, (H, W), bias=linear.bias is not None,
                     dtype=linear.weight.dtype)
    with torch.no_grad():
        conv.weight.copy_(linear.weight.reshape(linear.out_features, C, H, W))  # (out, C, H, W)
        if linear.bias is not None:
            conv.bias.copy_(linear.bias)
    return conv


def linear_as_1x1_conv(linear: nn.Linear) -> nn.Conv2d:
    """The 1x1-conv view: input flattened to (B, N_in, 1, 1), one channel per input value."""
    conv = nn.Conv2d(linear.in_features, linear.out_features, 1, bias=linear.bias is not None,
                     dtype=linear.weight.dtype)
    with torch.no_grad():
        conv.weight.copy_(linear.weight[:, :, None, None])  # (out, N_in) -> (out, N_in, 1, 1)
        if linear.bias is not None:
            conv.bias.copy_(linear.bias)
    return conv


def check_dense_as_conv(input_shape: tuple[int, int, int], out_features: int, *, seed: int = 0
                        ) -> dict[str, object]:
    """Random float64 Linear vs its whole-input conv and its 1x1 conv; max abs differences."""
    gen = torch.Generator().manual_seed(seed)
    C, H, W = input_shape
    linear = nn.Linear(C * H * W, out_features, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.randn(linear.weight.shape, generator=gen, dtype=torch.float64))
        linear.bias.copy_(torch.randn(linear.bias.shape, generator=gen, dtype=torch.float64))
    x = torch.randn(2, C, H, W, generator=gen, dtype=torch.float64)  # (B, C, H, W)
    with torch.no_grad():
        ref = linear(x.flatten(1))  # (B, out)
        full = linear_as_conv(linear, input_shape)(x).flatten(1)  # (B, out, 1, 1) -> (B, out)
        one = linear_as_1x1_conv(linear)(x.flatten(1)[:, :, None, None]).flatten(1)
    scale = float(ref.abs().max())
    return {"input_shape": list(input_shape), "out_features": out_features,
            "linear_params": sum(p.numel() for p in linear.parameters()),
            "whole_input_conv_kernel": [H, W],
            "whole_input_conv_max_abs_err": float((full - ref).abs().max()),
            "conv1x1_max_abs_err": float((one - ref).abs().max()), "output_scale": scale}


