"""Device and precision chosen at run time.

CPUs of the same machine kind differ: on Intel Sapphire Rapids (AMX) bf16 autocast made an
LSTM step 3.4x faster, on AMD EPYC Milan (AVX2 only) bf16 is ~30x slower and autocast LSTM can
raise a oneDNN error. CUDA is used automatically when present.

``--precision auto`` is decided by :func:`resolve_precision`, a stable property of the machine:
bf16 where the processor has native bf16 arithmetic (the ``amx_bf16`` or ``avx512_bf16`` flag
of /proc/cpuinfo; on CUDA ``torch.cuda.is_bf16_supported()``), confirmed once by a probe that
bf16 autocast runs and agrees with fp32, fp32 otherwise. The decision and its evidence are
cached per processor model, flags and torch version in ``~/.cache/mlsplab/precision.json`` and
reused, so later calls never probe again. A timing is recorded as evidence but never decides:
on a busy 2-core machine the same probe measured bf16 at 0.78x, 0.94x and 1.02x the speed of
fp32 while a whole idle training step ran 1.7x faster in bf16, and a timing-based choice made
two calls with one seed train in different precisions (issue 12 item 6).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from mlsplab.cli_options import PRECISIONS
from mlsplab.errors import MlsplabError
from mlsplab.io import atomic_write_json

if TYPE_CHECKING:
    from mlsplab.experiments.options import RunOptions

log = logging.getLogger(__name__)

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
    """The chosen compute precision and why (``evidence``: what the decision rested on)."""

    name: str  # "fp32" or "bf16"
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

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


def cpu_info(path: str | os.PathLike = "/proc/cpuinfo") -> tuple[str, frozenset[str]]:
    """The processor's model name and its feature flags (empty where /proc/cpuinfo is absent)."""
    name, flags = platform.processor() or "unknown CPU", frozenset()
    found_name = False
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("model name") and not found_name:
                    name, found_name = line.split(":", 1)[1].strip(), True
                elif line.startswith("flags") and not flags:
                    flags = frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return name, flags


def cpu_name() -> str:
    """A short description of the processor (model name and vector extensions)."""
    name, flags = cpu_info()
    ext = [x for x in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if x in flags]
    threads = torch.get_num_threads()
    return (f"{name} ({', '.join(ext) or 'no AVX2'}, {threads} "
            f"thread{'' if threads == 1 else 's'})")


# ---------------------------------------------------------------------------------------------
# a precision decision that load cannot flip

BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # native bf16 dot products (Intel AMX; AVX-512 BF16)
PRECISION_CACHE_FORMAT = "mlsplab-precision-v1"
PROBE_TOLERANCE = 0.05  # bf16 probe output must agree with fp32 to this relative error


def bf16_from_flags(flags: frozenset[str] | set[str]) -> tuple[str, str]:
    """``("bf16" | "fp32", why)`` from CPU feature flags alone (no timing)."""
    native = [f for f in BF16_FLAGS if f in flags]
    if native:
        return "bf16", f"native bf16 arithmetic ({', '.join(native)})"
    if not flags:
        return "fp32", "CPU flags unknown (no /proc/cpuinfo): fp32 to be safe"
    return "fp32", "no native bf16 arithmetic (no amx_bf16 / avx512_bf16): bf16 is emulated"


def precision_cache_path() -> Path:
    """``~/.cache/mlsplab/precision.json``: decisions per processor and torch version."""
    return Path.home() / ".cache" / "mlsplab" / "precision.json"


def machine_key(device: torch.device) -> str:
    """What a precision decision depends on: the processor (or GPU), its bf16 flags, torch."""
    if device.type == "cuda":
        hw = f"cuda:{torch.cuda.get_device_name(device)}"
    else:
        name, flags = cpu_info()
        hw = f"cpu:{name} [{' '.join(sorted(f for f in flags if 'bf16' in f or f == 'avx2'))}]"
    return f"{hw} | torch {torch.__version__}"


def _confirm_bf16(device: torch.device,
                  make_step: Callable[[torch.device], Callable[[], torch.Tensor]]
                  ) -> dict[str, Any]:
    """Run ``make_step(device)`` in fp32 and under bf16 autocast once each (after a warm-up):
    whether bf16 runs, its relative difference from fp32, and both timings (evidence only)."""
    step = make_step(device)
    try:
        with autocast(device, Precision("bf16", "probe")):
            step()  # warm-up; raises where bf16 does not run
        t0 = time.perf_counter()
        with autocast(device, Precision("bf16", "probe")):
            out_bf16 = step().detach().float()
        t_bf16 = time.perf_counter() - t0
    except RuntimeError as e:  # e.g. oneDNN refusing bf16 LSTM on AVX2-only CPUs
        return {"runs": False, "error": str(e)[:160]}
    step()
    t0 = time.perf_counter()
    out_fp32 = step().detach().float()
    t_fp32 = time.perf_counter() - t0
    rel = float((out_bf16 - out_fp32).norm() / out_fp32.norm().clamp_min(1e-12))
    return {"runs": True, "finite": bool(torch.isfinite(out_bf16).all()),
            "relative_difference": rel, "fp32_seconds": t_fp32, "bf16_seconds": t_bf16}


def default_confirm_step(device: torch.device) -> Callable[[], torch.Tensor]:
    """A seeded 2-layer LSTM(256) forward+backward at batch 8 x 64 tokens; returns the output."""
    gen = torch.Generator().manual_seed(0)
    lstm = torch.nn.LSTM(100, 256, num_layers=2, batch_first=True)
    with torch.no_grad():
        for p in lstm.parameters():
            p.copy_(torch.rand(p.shape, generator=gen) * 0.1 - 0.05)
    lstm = lstm.to(device)
    x = torch.randn(8, 64, 100, generator=gen).to(device)

    def step() -> torch.Tensor:
        out, _ = lstm(x)
        out.float().mean().backward()
        return out

    return step


def _decide(device: torch.device,
            make_step: Callable[[torch.device], Callable[[], torch.Tensor]]) -> Precision:
    """The uncached decision for ``device``: capability first, then one confirming probe."""
    if device.type == "cuda":
        ok = torch.cuda.is_bf16_supported()
        name, why = ("bf16", "GPU supports bf16") if ok else ("fp32", "GPU without bf16")
        capability = torch.cuda.get_device_name(device)
    else:
        name, why = bf16_from_flags(cpu_info()[1])
        capability = torch.backends.cpu.get_cpu_capability()
    evidence: dict[str, Any] = {"machine": machine_key(device), "capability": capability,
                                "flags": sorted(f for f in cpu_info()[1] if "bf16" in f),
                                "decided_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if name == "bf16":
        probe = _confirm_bf16(device, make_step)
        evidence["probe"] = probe
        if not probe["runs"]:
            name, why = "fp32", f"{why}, but bf16 autocast failed: {probe['error'][:80]}"
        elif not probe["finite"] or probe["relative_difference"] > PROBE_TOLERANCE:
            name, why = "fp32", (f"{why}, but bf16 output differed from fp32 by "
                                 f"{probe['relative_difference']:.2g}")
        else:
            why += (f"; probe: bf16 runs and agrees with fp32 to "
                    f"{probe['relative_difference']:.1e}")
    return Precision(name, why, evidence)


def resolve_precision(requested: str, device: torch.device, *,
                      make_step: Callable[[torch.device], Callable[[], torch.Tensor]]
                      = default_confirm_step,
                      cache_path: str | os.PathLike | None = None) -> Precision:
    """The precision of a run: ``fp32``/``bf16`` as requested, ``auto`` from the cache.

    ``auto`` reads the decision for this machine (:func:`machine_key`) from ``cache_path``
    (default :func:`precision_cache_path`); when there is none, it decides (:func:`_decide`:
    CPU flags / GPU capability, confirmed by one probe), writes it atomically and returns it.
    Load on the machine cannot change a cached decision, and the uncached one does not rest on
    a timing. An unreadable cache is ignored (decided again and rewritten).

    Raises
    ------
    MlsplabError
        For an unknown ``requested``, or ``bf16`` requested where it does not run.
    """
    if requested not in PRECISIONS:
        raise MlsplabError(f"--precision={requested!r}; expected one of {PRECISIONS}")
    if requested == "fp32":
        return Precision("fp32", "requested", {"source": "requested"})
    if requested == "bf16":
        probe = _confirm_bf16(device, make_step)
        if not probe["runs"]:
            raise MlsplabError(f"--precision=bf16 does not run on this {device}: "
                               f"{probe['error']}; use --precision fp32")
        return Precision("bf16", "requested", {"source": "requested", "probe": probe})
    path = Path(cache_path) if cache_path is not None else precision_cache_path()
    key = machine_key(device)
    cache = _read_cache(path)
    hit = cache.get(key)
    if isinstance(hit, dict) and hit.get("name") in ("fp32", "bf16"):
        return Precision(hit["name"], hit.get("reason", ""),
                         {**hit.get("evidence", {}), "source": f"cache {path}"})
    decision = _decide(device, make_step)
    cache[key] = {"name": decision.name, "reason": decision.reason,
                  "evidence": decision.evidence}
    try:
        atomic_write_json(path, {"format": PRECISION_CACHE_FORMAT, "decisions": cache})
    except (OSError, MlsplabError) as e:  # a read-only home still runs, just re-decides
        log.warning("precision decision not cached in %s: %s", path, e)
    log.info("precision for %s: %s (%s)", key, decision.name, decision.reason)
    return Precision(decision.name, decision.reason,
                     {**decision.evidence, "source": "decided now (probe), cached"})


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(doc, dict) or doc.get("format") != PRECISION_CACHE_FORMAT:
        return {}
    decisions = doc.get("decisions")
    return decisions if isinstance(decisions, dict) else {}


def decide_precision(options: RunOptions) -> Precision:
    """The run's precision: ``options.precision_used`` once decided, else decided now from
    ``--precision`` on ``--device`` (:func:`resolve_precision`) and kept in ``options`` for the
    rest of the run, so that the estimate and every training use one decision."""
    if options.precision_used is None:
        options.precision_used = resolve_precision(options.precision,
                                                   select_device(options.device))
    return options.precision_used
