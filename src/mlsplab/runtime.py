"""Device and precision chosen at run time.

CPUs of the same machine kind differ: on Intel Sapphire Rapids (AMX) bf16 autocast made an
LSTM step 3.4x faster, on AMD EPYC Milan (AVX2 only) bf16 is ~30x slower and autocast LSTM can
raise a oneDNN error. So bf16 is used only where a short probe shows it both works and is
faster; otherwise fp32. CUDA is used automatically when present.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from mlsplab.errors import MlsplabError

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16")
BF16_MIN_SPEEDUP = 1.2  # bf16 must beat fp32 by this factor in the probe to be chosen


def select_device(requested: str = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU; otherwise the named device, validated."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError as e:
        raise MlsplabError(f"--device={requested!r} is not a device name (try cpu or cuda)") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise MlsplabError(f"--device={requested!r} but CUDA is not available; use --device cpu")
    return device


@dataclass(frozen=True)
class Precision:
    """The chosen compute precision and why."""

    name: str  # "fp32" or "bf16"
    reason: str

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return torch.bfloat16 if self.name == "bf16" else None


@contextlib.contextmanager
def autocast(device: torch.device, precision: Precision) -> Iterator[None]:
    """bf16 autocast on ``device`` when ``precision`` says so, else a no-op."""
    if precision.name == "bf16":
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            yield
    else:
        yield


def _seconds_of(step: Callable[[], None]) -> float:
    """Seconds of one call of ``step``."""
    t0 = time.perf_counter()
    step()
    return time.perf_counter() - t0


def default_probe_step(device: torch.device) -> Callable[[], None]:
    """A small 2-layer LSTM(256) forward+backward at batch 8 x 64 tokens, the models' hot loop."""
    lstm = torch.nn.LSTM(100, 256, num_layers=2, batch_first=True).to(device)
    x = torch.randn(8, 64, 100, device=device)

    def step() -> None:
        out, _ = lstm(x)
        out.float().mean().backward()

    return step


def choose_precision(
    requested: str,
    device: torch.device,
    make_step: Callable[[torch.device], Callable[[], None]] = default_probe_step,
    repeats: int = 3,
) -> Precision:
    """Pick fp32 or bf16.

    ``fp32``/``bf16`` are honoured (bf16 is still checked to run). ``auto`` times
    ``make_step(device)`` in fp32 and under bf16 autocast (interleaved, best of ``repeats``) and
    takes bf16 only if it runs and is at least ``BF16_MIN_SPEEDUP`` times faster.
    """
    if requested not in PRECISIONS:
        raise MlsplabError(f"--precision={requested!r}; expected one of {PRECISIONS}")
    if requested == "fp32":
        return Precision("fp32", "requested")
    step = make_step(device)

    def bf16_step() -> None:
        with autocast(device, Precision("bf16", "probe")):
            step()

    try:
        bf16_step()  # warm-up; raises where bf16 does not run
    except RuntimeError as e:  # e.g. oneDNN refusing bf16 LSTM on AVX2-only CPUs
        if requested == "bf16":
            raise MlsplabError(f"--precision=bf16 does not run on this {device}: {e}") from e
        return Precision("fp32", f"bf16 autocast failed on this {device.type}: {str(e)[:80]}")
    if requested == "bf16":
        return Precision("bf16", "requested")
    step()  # fp32 warm-up
    # interleaved and best-of: a busy machine slows some calls, not the fastest of each kind
    t_fp32 = t_bf16 = math.inf
    for _ in range(repeats):
        t_fp32 = min(t_fp32, _seconds_of(step))
        t_bf16 = min(t_bf16, _seconds_of(bf16_step))
    speedup = t_fp32 / t_bf16
    if speedup >= BF16_MIN_SPEEDUP:
        return Precision("bf16", f"probe: bf16 {speedup:.2f}x faster than fp32")
    return Precision("fp32", f"probe: bf16 only {speedup:.2f}x the speed of fp32")


def matmul_flops(device: torch.device, n: int = 1024, repeats: int = 10,
                 dtype: torch.dtype = torch.float32) -> float:
    """Attainable FLOP/s on ``device``: the best of ``repeats`` n x n matmuls (2 n^3 flops)."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


def cpu_name() -> str:
    """A short description of the processor (model name and vector extensions)."""
    name, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and name == "unknown CPU":
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    ext = [x for x in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if x in flags]
    return f"{name} ({', '.join(ext) or 'no AVX2'}, {torch.get_num_threads()} threads)"
