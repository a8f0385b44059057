"""Conv layer vs dense layer (Q4 i): cost of each, counted, checked against torch, and timed.

A Conv2d maps an input of ``N_in = C_in * H * W`` numbers to ``N_out = C_out * H_out * W_out``;
the dense layer it is compared with maps the same input to the same output size. The formulas
are in :func:`conv_cost`; :func:`torch_counts` counts the real torch modules on the ``meta``
device; :func:`measure_forward` times both on this CPU.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from mlsplab.errors import MlsplabError

log = logging.getLogger(__name__)
BYTES_FP32 = 4
MAX_DENSE_BYTES = 512 * 2**20  # don't materialise a dense weight above 512 MiB on a 2-core box


def pair(value: int | tuple[int, int] | list[int], name: str) -> tuple[int, int]:
    """``3`` or ``(3, 2)`` -> ``(3, 3)`` / ``(3, 2)``; a clear error naming ``name`` otherwise."""
    both = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(both) != 2 or not all(isinstance(v, (int, np.integer)) for v in both):
        raise MlsplabError(f"{name}={value!r}: expected an integer or a pair of integers")
    return int(both[0]), int(both[1])


def conv_output_size(n: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """``floor((n + 2p - d(k - 1) - 1) / s) + 1`` (PyTorch's Conv2d/MaxPool2d convention)."""
    return (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@dataclass(frozen=True)
class ConvSpec:
    """One conv layer and its input; ``pool`` is an optional max-pool (stride = pool size)."""

    in_channels: int
    out_channels: int
    input_size: tuple[int, int]  # (H, W)
    kernel: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    bias: bool = True
    pool: tuple[int, int] | None = None
    name: str = "conv"

    def __post_init__(self) -> None:
        for f in ("input_size", "kernel", "stride", "padding", "dilation"):
            object.__setattr__(self, f, pair(getattr(self, f), f"--{f.replace('_', '-')}"))
        if self.pool is not None:
            object.__setattr__(self, "pool", pair(self.pool, "--pool"))
        checks = [("--in-channels", self.in_channels, 1), ("--out-channels", self.out_channels, 1),
                  ("--groups", self.groups, 1)]
        checks += [(f"--{f.replace('_', '-')}", v, lo) for f, lo in
                   (("input_size", 1), ("kernel", 1), ("stride", 1), ("padding", 0),
                    ("dilation", 1)) for v in getattr(self, f)]
        checks += [("--pool", v, 1) for v in (self.pool or ())]
        for flag, value, lo in checks:
            if not isinstance(value, (int, np.integer)) or value < lo:
                raise MlsplabError(f"{flag}={value!r} must be an integer >= {lo}")
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise MlsplabError(f"--groups={self.groups} must divide --in-channels="
                               f"{self.in_channels} and --out-channels={self.out_channels}")
        for axis, n, k, p, d in zip("HW", self.input_size, self.kernel, self.padding,
                                    self.dilation):
            reach = d * (k - 1) + 1
            if reach > n + 2 * p:
                raise MlsplabError(f"kernel {k} (dilation {d}, reach {reach}) is larger than the "
                                   f"padded input {axis}={n}+2*{p}={n + 2 * p}; use a smaller "
                                   "--kernel/--dilation or more --padding")
        if self.pool is not None:
            for axis, n, k in zip("HW", self.conv_output, self.pool):
                if k > n:
                    raise MlsplabError(f"--pool={k} is larger than the conv output {axis}={n}; "
                                       "use a smaller pool or a larger input")

    @property
    def conv_output(self) -> tuple[int, int]:
        """``(H_out, W_out)`` of the convolution."""
        return tuple(conv_output_size(n, k, s, p, d) for n, k, s, p, d in zip(  # type: ignore
            self.input_size, self.kernel, self.stride, self.padding, self.dilation))

    @property
    def pooled_output(self) -> tuple[int, int]:
        """``(H_pool, W_pool)`` after max-pooling (floor mode), or the conv output if no pool."""
        if self.pool is None:
            return self.conv_output
        return tuple(conv_output_size(n, k, k, 0, 1)  # type: ignore[return-value]
                     for n, k in zip(self.conv_output, self.pool))

    def module(self, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
               ) -> nn.Conv2d:
        """The matching ``nn.Conv2d``."""
        return nn.Conv2d(self.in_channels, self.out_channels, self.kernel, stride=self.stride,
                         padding=self.padding, dilation=self.dilation, groups=self.groups,
                         bias=self.bias, device=device, dtype=dtype)


def conv_cost(spec: ConvSpec) -> dict[str, object]:
    """Closed-form cost of a conv layer and of the dense layer with the same input/output sizes.

    Parameters
    ----------
    spec : ConvSpec

    Returns
    -------
    dict
        ``conv`` and ``dense`` sub-dicts with ``params``, ``macs`` (multiply-accumulates per
        example), ``weight_bytes`` and ``activation_bytes`` (fp32 output activations, conv output
        plus pooled output when pooling), shapes, and the ratios ``dense / conv``.

    Notes
    -----
    conv: ``params = C_out (C_in/g) k_h k_w + C_out``,
    ``MACs = C_out H_out W_out (C_in/g) k_h k_w``.
    dense: ``params = N_in N_out + N_out``, ``MACs = N_in N_out`` with ``N_in = C_in H W`` and
    ``N_out = C_out H_out W_out``. Max-pooling has no parameters and no MACs (it does
    ``C_out H_p W_p (p_h p_w - 1)`` comparisons) and is the same after either layer.
    """
    (H, W), (Ho, Wo), (Hp, Wp) = spec.input_size, spec.conv_output, spec.pooled_output
    (kh, kw), C_in, C_out = spec.kernel, spec.in_channels, spec.out_channels
    fan_in = C_in // spec.groups * kh * kw
    n_in, n_out = C_in * H * W, C_out * Ho * Wo
    n_pooled = C_out * Hp * Wp if spec.pool is not None else 0
    pool_cmp = n_pooled * (spec.pool[0] * spec.pool[1] - 1) if spec.pool is not None else 0
    act_bytes = (n_out + n_pooled) * BYTES_FP32
    conv_params = C_out * fan_in + (C_out if spec.bias else 0)
    dense_params = n_in * n_out + (n_out if spec.bias else 0)
    conv = {"params": conv_params, "macs": C_out * Ho * Wo * fan_in,
            "weight_bytes": conv_params * BYTES_FP32, "activation_bytes": act_bytes,
            "inputs_per_output": fan_in}
    dense = {"params": dense_params, "macs": n_in * n_out,
             "weight_bytes": dense_params * BYTES_FP32, "activation_bytes": act_bytes,
             "inputs_per_output": n_in}
    return {"name": spec.name, "spec": _spec_dict(spec), "input_shape": [C_in, H, W],
            "conv_output_shape": [C_out, Ho, Wo], "pooled_output_shape": [C_out, Hp, Wp],
            "n_in": n_in, "n_out": n_out, "input_bytes": n_in * BYTES_FP32,
            "pool_comparisons": pool_cmp, "conv": conv, "dense": dense,
            "ratio_params": dense_params / conv_params, "ratio_macs": dense["macs"] / conv["macs"]}


def _spec_dict(spec: ConvSpec) -> dict[str, object]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(spec).items()}


def torch_counts(spec: ConvSpec) -> dict[str, int]:
    """Parameters (``numel``) and MACs (FLOP counter / 2) of the real torch modules.

    Built on the ``meta`` device, so a dense layer of hundreds of GB is counted without
    allocating it. Returns ``conv_params``, ``conv_macs``, ``dense_params``, ``dense_macs`` and
    the conv output shape torch computes.
    """
    conv = spec.module(device="meta")
    cost = conv_cost(spec)
    dense = nn.Linear(cost["n_in"], cost["n_out"], bias=spec.bias, device="meta")
    x = torch.empty(1, spec.in_channels, *spec.input_size, device="meta")  # (1, C_in, H, W)
    with FlopCounterMode(display=False) as counter:
        y = conv(x)
    conv_flops = counter.get_total_flops()
    with FlopCounterMode(display=False) as counter:
        dense(x.flatten(1))  # (1, N_in)
    dense_flops = counter.get_total_flops()
    return {"conv_params": sum(p.numel() for p in conv.parameters()),
            "conv_macs": conv_flops // 2,  # the counter reports 2 FLOPs per multiply-accumulate
            "dense_params": sum(p.numel() for p in dense.parameters()),
            "dense_macs": dense_flops // 2, "conv_output_shape": list(y.shape[1:])}


def _best_time(fn, repeats: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure_forward(spec: ConvSpec, *, repeats: int = 5, batch: int = 1,
                    max_dense_bytes: int = MAX_DENSE_BYTES, seed: int = 0, threads: int = 1
                    ) -> dict[str, object]:
    """Best-of-``repeats`` forward time (s) of the conv and of its dense equivalent on this CPU.

    The dense layer is only built when its fp32 weight fits in ``max_dense_bytes``; otherwise
    ``dense_seconds`` is None and ``dense_materialised`` False (the formula numbers still hold).
    Timed with ``threads`` intra-op threads (default 1: on a shared 2-core machine two threads
    made a 4x7x7 conv take 25 ms instead of 30 us, waiting on descheduled workers).
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _measure_forward(spec, repeats=repeats, batch=batch,
                                max_dense_bytes=max_dense_bytes, seed=seed)
    finally:
        torch.set_num_threads(previous)


def _measure_forward(spec: ConvSpec, *, repeats: int, batch: int, max_dense_bytes: int,
                     seed: int) -> dict[str, object]:
    gen = torch.Generator().manual_seed(seed)
    cost = conv_cost(spec)
    x = torch.randn(batch, spec.in_channels, *spec.input_size, generator=gen)  # (B, C_in, H, W)
    conv = spec.module()
    with torch.no_grad():
        conv_s = _best_time(lambda: conv(x), repeats)
        dense_s = None
        fits = cost["dense"]["weight_bytes"] <= max_dense_bytes
        if fits:
            dense = nn.Linear(cost["n_in"], cost["n_out"], bias=spec.bias)
            flat = x.flatten(1)  # (B, C_in*H*W)
            dense_s = _best_time(lambda: dense(flat), repeats)
            del dense
    return {"name": spec.name, "batch": batch, "threads": torch.get_num_threads(),
            "conv_seconds": conv_s, "dense_seconds": dense_s, "dense_materialised": fits,
            "dense_weight_bytes": cost["dense"]["weight_bytes"],
            "max_dense_bytes": max_dense_bytes,
            "conv_macs_per_second": cost["conv"]["macs"] * batch / conv_s,
            "dense_macs_per_second": (cost["dense"]["macs"] * batch / dense_s) if dense_s else None}


def sparse_stats_formula(spec: ConvSpec) -> dict[str, object]:
    """nnz of the conv matrix without building it: taps that land inside the (unpadded) input."""
    C_out, C_g = spec.out_channels, spec.in_channels // spec.groups
    inside = 1
    for n, k, s, p, d, n_out in zip(spec.input_size, spec.kernel, spec.stride, spec.padding,
                                    spec.dilation, spec.conv_output):
        pos = np.arange(n_out)[:, None] * s - p + np.arange(k)[None, :] * d  # (n_out, k)
        inside *= int(((pos >= 0) & (pos < n)).sum())
    nnz = C_out * C_g * inside
    cost = conv_cost(spec)
    return {"shape": [cost["n_out"], cost["n_in"]], "nnz": nnz,
            "density": nnz / (cost["n_out"] * cost["n_in"]),
            "kernel_weights": C_out * C_g * spec.kernel[0] * spec.kernel[1]}


def time_forward(module: nn.Module, x: torch.Tensor, *, repeats: int = 5, threads: int = 1
                 ) -> float:
    """Best-of-``repeats`` seconds of ``module(x)`` under ``torch.no_grad`` with ``threads``."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            return _best_time(lambda: module(x), repeats)
    finally:
        torch.set_num_threads(previous)
