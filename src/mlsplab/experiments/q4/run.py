"""Q4 runner: conv vs dense on the ESC-10 CNN's layers, and each as the other; writes metrics.json.

metrics.json holds measurements only (see ``docs/conv_vs_dense.md``): the cost table of each
ESC-10 conv layer and of its dense equivalent (checked against torch), the layers as explicit
sparse matrices, the small example matrix's non-zero pattern, the dense-as-conv check of the
first FC layer, random-shape checks and single-thread timings. The report's sentences, equations
and figures are made from it by :mod:`.summary`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from typing import Any

import numpy as np
import torch
from torch import nn

from mlsplab.analysis.conv_cost import (
    ConvSpec,
    conv_cost,
    measure_forward,
    sparse_stats_formula,
    time_forward,
    torch_counts,
)
from mlsplab.analysis.conv_dense import (
    check_conv_as_sparse,
    check_dense_as_conv,
    linear_as_conv,
    weight_pattern,
)
from mlsplab.executors import where
from mlsplab.experiments.common import experiment_dir, finished_metrics, write_metrics
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q4.config import EXPERIMENT_ID, Q4Config
from mlsplab.experiments.q4.esc import EscLayers, esc_layers
from mlsplab.models.esc_cnn import EscCnnConfig
from mlsplab.runtime import cpu_name
from mlsplab.seeding import set_seed

log = logging.getLogger(__name__)


def random_sparse_checks(seed: int, n: int) -> list[dict[str, Any]]:
    """Conv -> sparse matrix on ``n`` shapes (stride, padding, dilation, groups): exactness."""
    rng = np.random.default_rng(seed)
    fixed = [ConvSpec(2, 4, (9, 8), kernel=3, stride=2, padding=1, name="stride2-pad1"),
             ConvSpec(3, 6, (10, 11), kernel=(3, 2), dilation=(2, 3), padding=(2, 0), groups=3,
                      name="dilated-grouped")]
    specs = fixed[:n]
    while len(specs) < n:
        groups = int(rng.choice([1, 2]))
        k = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))  # drawn in this order since
        d = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))  # the first version: same shapes
        specs.append(ConvSpec(groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3)),
                              (int(rng.integers(6, 12)), int(rng.integers(6, 12))), kernel=k,
                              stride=(int(rng.integers(1, 3)), int(rng.integers(1, 3))),
                              padding=(int(rng.integers(0, 2)), int(rng.integers(0, 2))),
                              dilation=d, groups=groups, name=f"random{len(specs)}"))
    rows = []
    for i, spec in enumerate(specs):
        exact = check_conv_as_sparse(spec, seed=seed + i, integer=True)
        real = check_conv_as_sparse(spec, seed=seed + i)
        rows.append({"name": spec.name, "spec": conv_cost(spec)["spec"],
                     "matrix_shape": real["shape"], "nnz": real["nnz"],
                     "nnz_formula": sparse_stats_formula(spec)["nnz"],
                     "density": real["density"], "distinct_values": real["distinct_values"],
                     "kernel_weights": real["kernel_weights"],
                     "exact_integer_match": exact["exact"],
                     "float64_max_abs_err": real["max_abs_err"]})
    return rows


def _layer_row(spec: ConvSpec, timing: dict[str, Any], *, seed: int, quick: bool
               ) -> dict[str, Any]:
    """Cost, torch counts, the explicit sparse matrix (or its formula in quick mode), timing."""
    cost = conv_cost(spec)
    counts = torch_counts(spec)
    cost["torch"] = counts
    cost["formula_matches_torch"] = (
        counts["conv_params"] == cost["conv"]["params"]
        and counts["conv_macs"] == cost["conv"]["macs"]
        and counts["dense_params"] == cost["dense"]["params"]
        and counts["dense_macs"] == cost["dense"]["macs"]
        and counts["conv_output_shape"] == cost["conv_output_shape"])
    if quick:  # nnz by formula only: building W costs seconds and ~200 MB for these layers
        sparse = {**sparse_stats_formula(spec), "materialised": False}
    else:
        sparse = {**check_conv_as_sparse(spec, seed=seed), "materialised": True}
    cost["sparse_view"] = sparse
    cost["timing"] = timing
    return cost


def _fc_row(esc: EscLayers, *, seed: int, repeats: int) -> dict[str, Any]:
    """The first FC layer on the flattened features: cost, its whole-input conv, exactness,
    timing."""
    n_in, n_out = esc.fc_in, esc.fc_out
    check = check_dense_as_conv(esc.flat_shape, n_out, seed=seed)
    linear = nn.Linear(n_in, n_out)
    conv = linear_as_conv(linear, esc.flat_shape)
    x = torch.randn(1, *esc.flat_shape)  # (1, C, H, W)
    return {"name": f"fc{n_out}", "input_shape": list(esc.flat_shape), "n_in": n_in,
            "n_out": n_out, "params": n_in * n_out + n_out, "macs": n_in * n_out,
            "weight_bytes": (n_in * n_out + n_out) * 4,
            "conv_view": {"kernel": list(esc.flat_shape[1:]), "in_channels": esc.flat_shape[0],
                          "out_channels": n_out,
                          "params": sum(p.numel() for p in conv.parameters())},
            "check": check,
            "timing": {"linear_seconds": time_forward(linear, x.flatten(1), repeats=repeats),
                       "whole_input_conv_seconds": time_forward(conv, x, repeats=repeats),
                       "threads": 1, "batch": 1, "repeats": repeats}}


def _example(config: Q4Config) -> dict[str, Any]:
    """The small layer whose matrix W the report draws: its pattern and its exactness."""
    c_in, c_out, h, w, k, s, p = config.example
    spec = ConvSpec(c_in, c_out, (h, w), kernel=k, stride=s, padding=p, name="example")
    pattern = weight_pattern(spec)
    check = check_conv_as_sparse(spec, seed=config.seed, integer=True)
    return {**pattern, "spec": conv_cost(spec)["spec"],
            "conv_output_shape": conv_cost(spec)["conv_output_shape"],
            "exact_integer_match": check["exact"], "max_abs_err": check["max_abs_err"]}


def measure(config: Q4Config, esc_config: EscCnnConfig | None = None) -> dict[str, Any]:
    """Every Q4 measurement (seeded here, once); the keys are listed in docs/conv_vs_dense.md."""
    set_seed(config.seed)
    t0 = time.perf_counter()
    esc = esc_layers(esc_config)
    max_bytes = config.max_dense_mib * 2**20
    # Time everything before building the big sparse matrices: freeing those raises glibc's
    # dynamic mmap threshold, after which conv1's 4 MiB output is no longer freshly mapped,
    # zeroed pages (measured ~7 ms -> ~0.6 ms; MALLOC_MMAP_THRESHOLD_=64MiB has the same effect).
    timings = [measure_forward(spec, repeats=config.timing_repeats, seed=config.seed,
                               max_dense_bytes=max_bytes) for spec in esc.convs]
    fc = _fc_row(esc, seed=config.seed, repeats=config.timing_repeats)
    examples = []
    for c_in, c_out, h, w, k in config.timing_examples:
        spec = ConvSpec(c_in, c_out, (h, w), kernel=k, name=f"{c_in}\u00d7{h}\u00d7{w}")
        row = conv_cost(spec)
        row["torch"] = torch_counts(spec)
        row["timing"] = measure_forward(spec, repeats=config.timing_repeats, seed=config.seed,
                                        max_dense_bytes=max_bytes)
        examples.append(row)
    layers = [_layer_row(spec, t, seed=config.seed, quick=config.quick)
              for spec, t in zip(esc.convs, timings)]
    checks = random_sparse_checks(config.seed, config.n_sparse_checks)
    last = esc.convs[-1]
    flattened = last.out_channels * last.pooled_output[0] * last.pooled_output[1]
    return {
        "quick": config.quick,
        "cpu": cpu_name(),
        "host": where(),
        "flattened_shape": [last.out_channels, *last.pooled_output],
        "flattened_size": flattened,
        "flattened_size_torch": int(np.prod(esc.flat_shape)),
        "layers": layers,
        "fc": fc,
        "timing_examples": examples,
        "sparse_checks": checks,
        "example": _example(config),
        "all_formulas_match_torch": all(r["formula_matches_torch"] for r in layers)
        and flattened == int(np.prod(esc.flat_shape)),
        "all_sparse_exact": all(r["exact_integer_match"] for r in checks),
        "seconds": time.perf_counter() - t0,
    }


def run(options: RunOptions, **params: Any) -> None:
    """Runner of step ``q4``: writes ``<options.out>/q4-conv-dense/metrics.json``.

    Parameters
    ----------
    options : RunOptions
        ``out``, ``seed`` and ``quick`` are used (quick: the ESC-10 layers' matrices are
        counted by formula, not built, and only the first timing example is timed).
    **params
        Overrides of :class:`Q4Config` fields.
    """
    config = Q4Config.from_options(options, **params)
    record = {**config.record(), "esc_cnn": asdict(EscCnnConfig())}
    exp_dir = experiment_dir(options.out, EXPERIMENT_ID)
    if finished_metrics(exp_dir, record) is not None:
        return
    write_metrics(exp_dir, EXPERIMENT_ID, record, measure(config))
