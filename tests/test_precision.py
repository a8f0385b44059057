"""The precision decision: from CPU flags, confirmed once by a probe, cached per machine, and
unchanged by load (issue 12 item 6)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import torch

from mlsplab import runtime
from mlsplab.errors import MlsplabError
from mlsplab.runtime import bf16_from_flags, cpu_info, resolve_precision

CPU = torch.device("cpu")


@pytest.fixture
def machine(monkeypatch):
    """A fake processor whose flags the test sets; returns the flag set to edit."""
    flags: set[str] = {"avx2", "avx512f", "avx512_bf16"}
    monkeypatch.setattr(runtime, "cpu_info", lambda *a: ("Fake CPU 9000", frozenset(flags)))
    return flags


class CountingStep:
    """A probe step: counts its calls; under bf16 autocast optionally slow or failing."""

    def __init__(self, bf16_sleep: float = 0.0, bf16_error: str | None = None):
        self.calls = 0
        self.bf16_sleep, self.bf16_error = bf16_sleep, bf16_error

    def __call__(self, device: torch.device):
        def step() -> torch.Tensor:
            self.calls += 1
            if torch.is_autocast_enabled("cpu"):
                if self.bf16_error:
                    raise RuntimeError(self.bf16_error)
                time.sleep(self.bf16_sleep)
            return torch.linspace(0.0, 1.0, 8)

        return step


@pytest.mark.parametrize("flags, name", [
    ({"avx2", "fma"}, "fp32"), ({"avx2", "avx512f"}, "fp32"),
    ({"avx2", "avx512f", "avx512_bf16"}, "bf16"), ({"avx2", "amx_bf16", "amx_tile"}, "bf16"),
    (set(), "fp32")])
def test_decision_from_fake_cpu_flags(flags, name):
    got, why = bf16_from_flags(frozenset(flags))
    assert got == name and why


def test_cpu_info_reads_model_and_flags(tmp_path):
    f = tmp_path / "cpuinfo"
    f.write_text("processor\t: 0\nmodel name\t: Test Xeon\nflags\t\t: fpu avx2 amx_bf16\n"
                 "processor\t: 1\nmodel name\t: Test Xeon\nflags\t\t: fpu\n")
    name, flags = cpu_info(f)
    assert name == "Test Xeon" and flags == {"fpu", "avx2", "amx_bf16"}
    assert cpu_info(tmp_path / "absent")[1] == frozenset()


def test_cached_decision_does_not_change_under_load(machine, tmp_path):
    cache = tmp_path / "precision.json"
    first = resolve_precision("auto", CPU, make_step=CountingStep(), cache_path=cache)
    assert first.name == "bf16" and "avx512_bf16" in first.reason
    assert json.loads(cache.read_text())["decisions"]  # written
    # now a busy machine and a probe that would time bf16 100x slower: never consulted
    slow = CountingStep(bf16_sleep=0.05)
    stop = threading.Event()
    busy = threading.Thread(target=lambda: [sum(range(10_000)) for _ in iter(stop.is_set, True)])
    busy.start()
    try:
        again = [resolve_precision("auto", CPU, make_step=slow, cache_path=cache)
                 for _ in range(3)]
    finally:
        stop.set()
        busy.join()
    assert {p.name for p in again} == {"bf16"} and slow.calls == 0
    assert all("cache" in p.evidence["source"] for p in again)


def test_uncached_decision_does_not_rest_on_timing(machine, tmp_path):
    """Even the first decision ignores speed: bf16 timed 20x slower (a loaded machine) is
    still chosen on a CPU with native bf16; the timing is kept as evidence only."""
    step = CountingStep(bf16_sleep=0.02)
    p = resolve_precision("auto", CPU, make_step=step, cache_path=tmp_path / "p.json")
    assert p.name == "bf16" and step.calls >= 2
    probe = p.evidence["probe"]
    assert probe["runs"] and probe["bf16_seconds"] > probe["fp32_seconds"]


def test_no_native_bf16_gives_fp32_without_probe(machine, tmp_path):
    machine.discard("avx512_bf16")
    step = CountingStep()
    p = resolve_precision("auto", CPU, make_step=step, cache_path=tmp_path / "p.json")
    assert p.name == "fp32" and "emulated" in p.reason and step.calls == 0


def test_bf16_that_fails_falls_back_and_is_cached(machine, tmp_path):
    cache = tmp_path / "p.json"
    failing = CountingStep(bf16_error="oneDNN: unsupported")
    p = resolve_precision("auto", CPU, make_step=failing, cache_path=cache)
    assert p.name == "fp32" and "failed" in p.reason
    assert resolve_precision("auto", CPU, make_step=CountingStep(), cache_path=cache).name == \
        "fp32"
    with pytest.raises(MlsplabError, match="--precision=bf16 does not run"):
        resolve_precision("bf16", CPU, make_step=failing, cache_path=cache)


def test_explicit_precision_overrides_the_cache(machine, tmp_path):
    cache = tmp_path / "p.json"
    resolve_precision("auto", CPU, make_step=CountingStep(), cache_path=cache)
    step = CountingStep()
    assert resolve_precision("fp32", CPU, make_step=step, cache_path=cache).name == "fp32"
    assert step.calls == 0
    with pytest.raises(MlsplabError, match="expected one of"):
        resolve_precision("fp16", CPU, cache_path=cache)


def test_unreadable_cache_is_decided_again(machine, tmp_path):
    cache = tmp_path / "p.json"
    cache.write_text("{ not json")
    p = resolve_precision("auto", CPU, make_step=CountingStep(), cache_path=cache)
    assert p.name == "bf16" and json.loads(cache.read_text())["format"] == \
        runtime.PRECISION_CACHE_FORMAT


def test_cache_is_per_machine_and_torch_version(machine, tmp_path, monkeypatch):
    cache = tmp_path / "p.json"
    resolve_precision("auto", CPU, make_step=CountingStep(), cache_path=cache)
    monkeypatch.setattr(torch, "__version__", "9.9.9")
    machine.discard("avx512_bf16")
    assert resolve_precision("auto", CPU, make_step=CountingStep(), cache_path=cache).name == \
        "fp32"
    assert len(json.loads(cache.read_text())["decisions"]) == 2


def test_default_cache_lives_in_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert runtime.precision_cache_path() == Path(tmp_path) / ".cache/mlsplab/precision.json"
