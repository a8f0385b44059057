"""The Q3 conclusions hold on another CPU: rerun on an Intel Xeon with AMX, the reference's Q3
means moved within the seed spread (Adam 66.7 ± 3.1 % -> 63.8 ± 7.6 %, BatchNorm 78.8 ± 2.5 %
-> 75.8 ± 5.1 %, SGD+momentum 57.9 ± 5.1 % -> 62.5 ± 11.3 %). Every pair of configurations
the report ranks on one machine must keep its order on the other, and Q3(a)/(b)'s conclusions
must reach the same verdicts."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

from mlsplab.experiments.q3.conclusions import conclusion_a, conclusion_b
from mlsplab.experiments.q3.reading import beyond_spread

REFERENCE = Path(__file__).resolve().parents[1] / "results" / "reference"
Q3A = ("q3a-sgd", "q3a-sgd-momentum", "q3a-rmsprop", "q3a-rmsprop-lr1e-3", "q3a-adam")
Q3B = ("q3b-none", "q3b-layernorm", "q3b-batchnorm")
# test accuracy (mean, std) measured by the rerun on the Intel Xeon with AMX
INTEL = {"q3a-adam": (0.638, 0.076), "q3b-none": (0.638, 0.076),
         "q3b-batchnorm": (0.758, 0.051), "q3a-sgd-momentum": (0.625, 0.113)}


def _docs(ids: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    return {i: json.loads((REFERENCE / i / "metrics.json").read_text()) for i in ids}


def _on_intel(docs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    other = copy.deepcopy(docs)
    for exp_id, (mean, std) in INTEL.items():
        if exp_id in other:
            other[exp_id].update(test_accuracy=mean, test_accuracy_std=std)
    return other


def _ranked(docs: dict[str, dict[str, Any]]) -> set[tuple[str, str]]:
    """(a, b) for every pair the report's rule ranks: a above b beyond the seed spread."""
    return {(a, b) if docs[a]["test_accuracy"] > docs[b]["test_accuracy"] else (b, a)
            for a, b in itertools.combinations(docs, 2) if beyond_spread(docs[a], docs[b])}


def _reversed(pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(b, a) for a, b in pairs}


def test_no_pair_ranked_on_one_cpu_is_reversed_on_the_other() -> None:
    for ids in (Q3A, Q3B):
        amd = _docs(ids)
        intel = _on_intel(amd)
        assert not _ranked(amd) & _reversed(_ranked(intel)), ids


def test_q3a_and_q3b_reach_the_same_verdicts_on_both_cpus() -> None:
    amd_a, amd_b = _docs(Q3A), _docs(Q3B)
    intel_a, intel_b = _on_intel(amd_a), _on_intel(amd_b)
    tie = "cannot rank them"
    assert (tie in conclusion_a(amd_a)) == (tie in conclusion_a(intel_a))
    for verdict in ("beyond the seed spread; at the last", "within the seed spread; at the last"):
        assert (verdict in conclusion_b(amd_b)) == (verdict in conclusion_b(intel_b))


def test_a_pair_whose_order_flips_within_the_spread_is_not_ranked() -> None:
    def doc(mean: float, std: float) -> dict[str, Any]:
        return {"test_accuracy": mean, "test_accuracy_std": std}

    here = {"a": doc(0.62, 0.05), "b": doc(0.58, 0.06)}
    there = {"a": doc(0.57, 0.05), "b": doc(0.60, 0.06)}  # the order flips
    assert not _ranked(here) and not _ranked(there)
    far = {"a": doc(0.75, 0.03), "b": doc(0.60, 0.06)}  # beyond the spread: ranked
    assert _ranked(far) == {("a", "b")}
