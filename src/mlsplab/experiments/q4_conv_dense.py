"""Q4: a conv layer vs the dense layer with the same input and output sizes, and each as the other.

``mlsplab convdense`` works through the ESC-10 CNN's layers (input 1x128x500), checks every
formula against the real torch modules, times both layers on this CPU and writes
``<out>/q4-conv-dense/metrics.json``. With ``--input-size`` it also prints the calculator for
one layer of your choice. See ``docs/conv_vs_dense.md``.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mlsplab.analysis.conv_dense import (MAX_DENSE_BYTES, ConvSpec, check_conv_as_sparse,
                                         check_dense_as_conv, conv_cost, linear_as_conv,
                                         measure_forward, sparse_stats_formula, time_forward,
                                         torch_counts)
from mlsplab.errors import MlsplabError
from mlsplab.io import atomic_write, read_json
from mlsplab.experiments.common import (
    add_common_args, experiment_dir, finished_metrics, text_table,
                                        write_metrics)
from mlsplab.runtime import cpu_name
from mlsplab.seeding import set_seed

log = logging.getLogger(__name__)

EXPERIMENT_ID = "q4-conv-dense"
# The assignment's ESC-10 CNN (Q3): log-mel input, two 3x3/16-filter convs, 3x3 max-pools, FC 128.
ESC_INPUT = (1, 128, 500)  # (channels, mel bands, frames at 10 ms)
ESC_FILTERS = 16
ESC_KERNEL = 3
ESC_POOL = 3
ESC_FC = 128
TIMING_REPEATS = 10


def esc10_layers() -> tuple[list[ConvSpec], tuple[int, int, int]]:
    """The two conv layers of the ESC-10 CNN and the (C, H, W) shape that is flattened.

    No padding (the assignment gives none); pooling stride = pool size, floor mode.
    """
    C, H, W = ESC_INPUT
    conv1 = ConvSpec(C, ESC_FILTERS, (H, W), kernel=ESC_KERNEL, pool=ESC_POOL, name="conv1")
    conv2 = ConvSpec(ESC_FILTERS, ESC_FILTERS, conv1.pooled_output, kernel=ESC_KERNEL,
                     pool=ESC_POOL, name="conv2")
    return [conv1, conv2], (ESC_FILTERS, *conv2.pooled_output)


def _torch_flattened_size() -> int:
    """The flattened size the real torch layers produce (meta device: no memory, no compute)."""
    net = nn.Sequential(nn.Conv2d(ESC_INPUT[0], ESC_FILTERS, ESC_KERNEL), nn.MaxPool2d(ESC_POOL),
                        nn.Conv2d(ESC_FILTERS, ESC_FILTERS, ESC_KERNEL), nn.MaxPool2d(ESC_POOL),
                        nn.Flatten()).to("meta")
    return int(net(torch.empty(1, *ESC_INPUT, device="meta")).shape[1])  # (1, C*H*W) -> C*H*W


def random_sparse_checks(seed: int, n: int) -> list[dict[str, Any]]:
    """Conv -> sparse matrix on ``n`` random shapes (stride, padding, dilation, groups), exact."""
    rng = np.random.default_rng(seed)
    rows = []
    fixed = [ConvSpec(2, 4, (9, 8), kernel=3, stride=2, padding=1, name="stride2-pad1"),
             ConvSpec(3, 6, (10, 11), kernel=(3, 2), dilation=(2, 3), padding=(2, 0), groups=3,
                      name="dilated-grouped")]
    specs = fixed[:n]
    while len(specs) < n:
        groups = int(rng.choice([1, 2]))
        k = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        d = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        specs.append(ConvSpec(groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3)),
                              (int(rng.integers(6, 12)), int(rng.integers(6, 12))), kernel=k,
                              stride=(int(rng.integers(1, 3)), int(rng.integers(1, 3))),
                              padding=(int(rng.integers(0, 2)), int(rng.integers(0, 2))),
                              dilation=d, groups=groups, name=f"random{len(specs)}"))
    for i, spec in enumerate(specs):
        exact = check_conv_as_sparse(spec, seed=seed + i, integer=True)
        real = check_conv_as_sparse(spec, seed=seed + i)
        rows.append({"name": spec.name, "spec": conv_cost(spec)["spec"],
                     "matrix_shape": real["shape"], "nnz": real["nnz"],
                     "nnz_formula": sparse_stats_formula(spec)["nnz"],
                     "density": real["density"], "distinct_values": real["distinct_values"],
                     "kernel_weights": real["kernel_weights"],
                     "exact_integer_match": exact["exact"], "float64_max_abs_err":
                     real["max_abs_err"]})
    return rows


def _layer_row(spec: ConvSpec, timing: dict[str, Any], *, seed: int, quick: bool
               ) -> dict[str, Any]:
    cost = conv_cost(spec)
    counts = torch_counts(spec)
    cost["torch"] = counts
    cost["formula_matches_torch"] = (
        counts["conv_params"] == cost["conv"]["params"]
        and counts["conv_macs"] == cost["conv"]["macs"]
        and counts["dense_params"] == cost["dense"]["params"]
        and counts["dense_macs"] == cost["dense"]["macs"]
        and counts["conv_output_shape"] == cost["conv_output_shape"])
    if quick:  # nnz by formula only; building W costs seconds and ~200 MB for these layers
        sparse = {**sparse_stats_formula(spec), "materialised": False}
    else:
        sparse = {**check_conv_as_sparse(spec, seed=seed), "materialised": True}
    cost["sparse_view"] = sparse
    cost["timing"] = timing
    return cost


def _fc_row(flat_shape: tuple[int, int, int], *, seed: int) -> dict[str, Any]:
    """FC128 on the flattened features: cost, its whole-input conv, exactness, timing."""
    n_in = int(np.prod(flat_shape))
    check = check_dense_as_conv(flat_shape, ESC_FC, seed=seed)
    linear = nn.Linear(n_in, ESC_FC)
    conv = linear_as_conv(linear, flat_shape)
    x = torch.randn(1, *flat_shape)  # (1, C, H, W)
    return {"name": "fc128", "input_shape": list(flat_shape), "n_in": n_in, "n_out": ESC_FC,
            "params": n_in * ESC_FC + ESC_FC, "macs": n_in * ESC_FC,
            "weight_bytes": (n_in * ESC_FC + ESC_FC) * 4,
            "conv_view": {"kernel": list(flat_shape[1:]), "in_channels": flat_shape[0],
                          "out_channels": ESC_FC,
                          "params": sum(p.numel() for p in conv.parameters())},
            "check": check,
            "timing": {"linear_seconds": time_forward(linear, x.flatten(1)),
                       "whole_input_conv_seconds": time_forward(conv, x), "threads": 1}}


def timing_examples(quick: bool) -> list[ConvSpec]:
    """Layers small enough to materialise the dense equivalent, to time both for real."""
    specs = [ConvSpec(3, 16, (16, 16), kernel=3, name="3x16x16 -> 16 ch")]
    if not quick:
        specs.append(ConvSpec(3, 16, (32, 32), kernel=3, name="3x32x32 -> 16 ch"))
    return specs


def plot_costs(rows: list[dict[str, Any]], path: Path) -> Path:
    """Log-scale bars: parameters, MACs and forward time of each conv and its dense equivalent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["name"] for r in rows]
    x = np.arange(len(rows))
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    panels = [("parameters", lambda r, k: r[k]["params"]),
              ("MACs per example", lambda r, k: r[k]["macs"]),
              ("forward seconds (1 thread)", lambda r, k: r["timing"][f"{k}_seconds"])]
    for ax, (title, get) in zip(axes, panels):
        for shift, kind, color in ((-0.2, "conv", "tab:blue"), (0.2, "dense", "tab:orange")):
            values = [get(r, kind) for r in rows]
            ax.bar(x[[v is not None for v in values]] + shift,
                   [v for v in values if v is not None], width=0.4, color=color, label=kind)
            for xi, v in zip(x, values):
                if v is None:  # x in data units, y in axes units: just above the bottom
                    ax.text(xi + shift, 0.03, "not built", transform=ax.get_xaxis_transform(),
                            rotation=90, ha="center", va="bottom", fontsize=8)
        ax.set_yscale("log")
        ax.set_xticks(x, names, rotation=15, fontsize=8)
        ax.set_title(title)
    axes[0].legend()
    fig.suptitle("Conv layer vs the dense layer with the same input and output sizes")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)
    return path


def run(out: str | Path, *, seed: int = 0, quick: bool = False) -> dict[str, Any]:
    """Compare conv and dense layers on the ESC-10 CNN and verify both equivalences.

    Parameters
    ----------
    out : path
        Results folder; writes ``<out>/q4-conv-dense/metrics.json``.
    seed : int, default=0
        Seeds the random weights and inputs of the checks.
    quick : bool, default=False
        Skip building the ESC-10 layers' sparse matrices (nnz from the formula instead) and the
        larger timing example.

    Returns
    -------
    dict
        The metrics document: ``flattened_size``, ``layers``, ``fc``, ``timing_examples``,
        ``sparse_checks``, ``summary``, ``deviations``, ``quick``.
    """
    config = {"seed": seed, "quick": quick, "input": list(ESC_INPUT), "filters": ESC_FILTERS,
              "kernel": ESC_KERNEL, "pool": ESC_POOL, "fc": ESC_FC,
              "max_dense_bytes": MAX_DENSE_BYTES, "timing_repeats": TIMING_REPEATS}
    exp_dir = experiment_dir(out, EXPERIMENT_ID)
    if (done := finished_metrics(exp_dir, config)) is not None:
        return done
    set_seed(seed)
    t0 = time.perf_counter()
    convs, flat_shape = esc10_layers()
    flattened = int(np.prod(flat_shape))
    torch_flat = _torch_flattened_size()
    log.info("ESC-10 layers: %s -> flattened %d", [c.name for c in convs], flattened)
    # Time everything before building the big sparse matrices: freeing those raises glibc's
    # dynamic mmap threshold, after which conv1's 4 MiB output is no longer freshly mapped,
    # zeroed pages (measured ~7 ms -> ~0.6 ms; MALLOC_MMAP_THRESHOLD_=64MiB has the same effect).
    timings = [measure_forward(spec, repeats=TIMING_REPEATS, seed=seed) for spec in convs]
    fc = _fc_row(flat_shape, seed=seed)
    examples = []
    for spec in timing_examples(quick):
        row = conv_cost(spec)
        row["torch"] = torch_counts(spec)
        row["timing"] = measure_forward(spec, repeats=TIMING_REPEATS, seed=seed)
        examples.append(row)
    layers = [_layer_row(spec, t, seed=seed, quick=quick) for spec, t in zip(convs, timings)]
    sparse_checks = random_sparse_checks(seed, 4 if quick else 8)
    figure = plot_costs(layers + examples, exp_dir / "conv_vs_dense.png")

    summary = []
    for row in layers:
        sv, tm = row["sparse_view"], row["timing"]
        summary.append(
            f"{row['name']} ({'x'.join(map(str, row['input_shape']))} -> "
            f"{'x'.join(map(str, row['conv_output_shape']))}): the conv has "
            f"{row['conv']['params']:,} parameters and {row['conv']['macs']:,} MACs; the dense "
            f"layer with the same sizes would need {row['dense']['params']:,} parameters "
            f"({row['dense']['weight_bytes'] / 2**30:,.1f} GiB fp32, {row['ratio_params']:,.0f}x) "
            f"and {row['dense']['macs']:,} MACs ({row['ratio_macs']:,.0f}x); as a matrix the conv "
            f"is {sv['density']:.4%} dense with {sv['kernel_weights']:,} shared values; the conv "
            f"forward took {tm['conv_seconds'] * 1e3:.1f} ms on one thread, the dense layer "
            + ("was too large to build." if not tm["dense_materialised"] else
               f"{tm['dense_seconds'] * 1e3:.1f} ms."))
    summary.append(
        f"The flattened CNN output has {flattened:,} values "
        f"({'x'.join(map(str, flat_shape))}); FC128 has {fc['params']:,} parameters, and a "
        f"Conv2d with {ESC_FC} filters of size {flat_shape[1]}x{flat_shape[2]} reproduces it to "
        f"{fc['check']['whole_input_conv_max_abs_err']:.1e} (1x1-conv view "
        f"{fc['check']['conv1x1_max_abs_err']:.1e}) in float64.")
    for row in examples:
        tm = row["timing"]
        summary.append(
            f"On a layer small enough to build both ({row['name']}), the dense layer has "
            f"{row['ratio_params']:,.0f}x the parameters and {row['ratio_macs']:,.0f}x the MACs "
            f"and its forward took {tm['dense_seconds'] * 1e3:.2f} ms vs "
            f"{tm['conv_seconds'] * 1e3:.2f} ms for the conv "
            f"({tm['dense_seconds'] / tm['conv_seconds']:.1f}x).")
    all_exact = all(r["exact_integer_match"] for r in sparse_checks)
    summary.append(
        f"Conv as a sparse matrix W: W @ x equals the conv output exactly on "
        f"{sum(r['exact_integer_match'] for r in sparse_checks)}/{len(sparse_checks)} random "
        f"shapes with integer data (stride, padding, dilation, groups), and to "
        f"{max(r['float64_max_abs_err'] for r in sparse_checks):.1e} with random float64 data.")
    metrics = {
        "quick": quick,
        "deviations": [
            "The ESC-10 CNN's padding is not given by the assignment; no padding is assumed "
            "(pool stride = pool size, floor mode), which gives the flattened size above.",
            "The 'dense equivalent' maps the conv's input to the conv's output before pooling; "
            "max-pooling has no weights and costs the same after either layer.",
            f"Dense layers whose fp32 weight exceeds {MAX_DENSE_BYTES // 2**20} MiB are not "
            "built; their parameters and MACs come from the formula, checked against torch "
            "modules on the meta device.",
            "Forward times are single-threaded, batch 1, best of "
            f"{TIMING_REPEATS}, because the 2-core machine is shared; they include allocating "
            "the output, which for conv1 (4 MiB) is most of the time in a fresh process.",
        ] + (["quick: the ESC-10 layers' sparse matrices are counted by formula, not built."]
             if quick else []),
        "cpu": cpu_name(),
        "flattened_shape": list(flat_shape),
        "flattened_size": flattened,
        "flattened_size_torch": torch_flat,
        "layers": layers,
        "fc": fc,
        "timing_examples": examples,
        "sparse_checks": sparse_checks,
        "all_formulas_match_torch": all(r["formula_matches_torch"] for r in layers)
        and flattened == torch_flat,
        "all_sparse_exact": all_exact,
        "figures": {"costs": figure.name},
        "seconds": time.perf_counter() - t0,
        "summary": summary,
    }
    write_metrics(exp_dir, EXPERIMENT_ID, config, metrics)
    return read_json(exp_dir / "metrics.json")


# --------------------------------------------------------------------------- CLI

def _hw(text: str) -> tuple[int, int]:
    """``"128x500"`` or ``"7"`` -> (H, W)."""
    parts = text.lower().replace(",", "x").split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{text!r} is not N or HxW with integers") from e
    if len(values) not in (1, 2):
        raise argparse.ArgumentTypeError(f"{text!r}: expected N or HxW")
    return (values[0], values[-1])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="count the ESC-10 sparse matrices by formula, one timing example")
    g = parser.add_argument_group("one layer of your choice (printed, not saved)")
    g.add_argument("--input-size", type=_hw, default=None, help="input H x W, e.g. 128x500")
    g.add_argument("--in-channels", type=int, default=1, help="input channels")
    g.add_argument("--out-channels", type=int, default=16, help="filters")
    g.add_argument("--kernel", type=_hw, default=(3, 3), help="kernel k or kh x kw")
    g.add_argument("--stride", type=_hw, default=(1, 1), help="stride s or sh x sw")
    g.add_argument("--padding", type=_hw, default=(0, 0), help="zero padding p or ph x pw")
    g.add_argument("--dilation", type=_hw, default=(1, 1), help="dilation d or dh x dw")
    g.add_argument("--groups", type=int, default=1, help="channel groups")
    g.add_argument("--pool", type=_hw, default=None, help="max-pool size (stride = size)")
    add_common_args(parser, data=False)


def _bytes(n: float) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n:,.0f} B"


def _ms(seconds: float | None) -> str:
    return "not built" if seconds is None else f"{seconds * 1e3:.3f} ms"


def _geometry(spec: dict[str, Any]) -> str:
    """``s2x2 p1x1 d1x1 g1``: stride, padding, dilation, groups."""
    return " ".join(f"{k[0]}{'x'.join(map(str, spec[k]))}"
                    for k in ("stride", "padding", "dilation")) + f" g{spec['groups']}"


def _shape(shape: list[int]) -> str:
    return "x".join(map(str, shape))


def _cost_table(rows: list[dict[str, Any]]) -> str:
    lines = []
    for r in rows:
        shape = f"{_shape(r['input_shape'])}->{_shape(r['conv_output_shape'])}"
        tm = r.get("timing", {})
        for kind in ("conv", "dense"):
            c = r[kind]
            lines.append([r["name"] if kind == "conv" else "", shape if kind == "conv" else "",
                          kind, f"{c['params']:,}", f"{c['macs']:,}", _bytes(c["weight_bytes"]),
                          _bytes(c["activation_bytes"]),
                          _ms(tm.get(f"{kind}_seconds")) if tm else "-"])
    return text_table(lines, ["layer", "shape", "view", "params", "MACs", "weights",
                          "activations", "forward (1 thread)"])


def main(args: argparse.Namespace) -> int:
    custom = None
    if args.input_size is not None:
        custom = ConvSpec(args.in_channels, args.out_channels, args.input_size, kernel=args.kernel,
                          stride=args.stride, padding=args.padding, dilation=args.dilation,
                          groups=args.groups, pool=args.pool, name="your layer")
    doc = run(args.out, seed=args.seed, quick=args.quick)
    print(f"ESC-10 CNN, input {'x'.join(map(str, ESC_INPUT))} (CPU: {doc['cpu']})")
    print(_cost_table(doc["layers"]))
    print(f"flattened: {'x'.join(map(str, doc['flattened_shape']))} = {doc['flattened_size']:,} "
          f"(torch: {doc['flattened_size_torch']:,}); formulas match torch numel and FLOP "
          f"counter: {doc['all_formulas_match_torch']}")
    print("\nConv as a sparse, weight-shared dense matrix W (W @ x.flatten() == conv(x).flatten())")
    print(text_table([[r["name"], "x".join(map(str, r["sparse_view"]["shape"])),
                   f"{r['sparse_view']['nnz']:,}", f"{r['sparse_view']['density']:.4%}",
                   f"{r['sparse_view'].get('distinct_values', '-')}",
                   f"{r['sparse_view']['kernel_weights']:,}",
                   f"{r['sparse_view']['max_abs_err']:.1e}" if "max_abs_err" in r["sparse_view"]
                   else "formula only"] for r in doc["layers"]],
                 ["layer", "W shape", "nnz", "density", "distinct", "kernel weights",
                  "max |W x - conv x|"]))
    print(text_table([[r["name"], "x".join(map(str, r["matrix_shape"])), _geometry(r["spec"]),
                   r["nnz"], f"{r['density']:.3f}", r["distinct_values"], r["exact_integer_match"],
                   f"{r['float64_max_abs_err']:.1e}"] for r in doc["sparse_checks"]],
                 ["random shape", "W shape", "stride/pad/dil/groups", "nnz", "density",
                  "distinct", "exact (int)", "float64 err"]))
    fc = doc["fc"]
    print(f"\nDense as conv: FC{ESC_FC} on {fc['n_in']:,} inputs = Conv2d({fc['input_shape'][0]}"
          f"->{ESC_FC}, kernel {fc['conv_view']['kernel'][0]}x{fc['conv_view']['kernel'][1]}), "
          f"{fc['params']:,} params both ways; max abs error "
          f"{fc['check']['whole_input_conv_max_abs_err']:.1e} (whole-input conv), "
          f"{fc['check']['conv1x1_max_abs_err']:.1e} (1x1 conv on the flattened input); "
          f"forward {_ms(fc['timing']['linear_seconds'])} (Linear) vs "
          f"{_ms(fc['timing']['whole_input_conv_seconds'])} (conv)")
    print("\nTiming examples small enough to build the dense layer")
    print(_cost_table(doc["timing_examples"]))
    if custom is not None:
        row = conv_cost(custom)
        row["timing"] = measure_forward(custom, repeats=TIMING_REPEATS, seed=args.seed)
        counts = torch_counts(custom)
        print("\nYour layer")
        print(_cost_table([row]))
        print(f"torch numel/FLOP counter: conv {counts['conv_params']:,} params "
              f"{counts['conv_macs']:,} MACs, dense {counts['dense_params']:,} params "
              f"{counts['dense_macs']:,} MACs; sparse W nnz "
              f"{sparse_stats_formula(custom)['nnz']:,}")
    print("\n" + "\n".join("- " + s for s in doc["summary"]))
    print(f"\nwrote {Path(args.out) / EXPERIMENT_ID / 'metrics.json'}")
    ok = doc["all_formulas_match_torch"] and doc["all_sparse_exact"]
    if not ok:
        raise MlsplabError("a formula or an equivalence check failed; see metrics.json")
    return 0
