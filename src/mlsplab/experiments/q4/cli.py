"""``mlsplab convdense``: Q4's conv-vs-dense tables, and the calculator for a layer of your choice.

``mlsplab convdense`` works through the ESC-10 CNN's layers (from EscCnnConfig), checks every
formula against the real torch modules, times both layers on this CPU and writes
``<out>/q4-conv-dense/metrics.json``. With ``--input-size`` it also prints the same table for one
layer of your choice (not saved).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mlsplab.analysis.conv_cost import ConvSpec, conv_cost, measure_forward, torch_counts
from mlsplab.cli_options import add_out, add_quick, add_seed, examples
from mlsplab.errors import MlsplabError
from mlsplab.experiments.common import text_table
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q4.config import EXPERIMENT_ID, TIMING_REPEATS
from mlsplab.experiments.q4.run import run
from mlsplab.experiments.q4.units import bytes_text, ms_text, shape_text
from mlsplab.io import read_json


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
    """The flags of ``mlsplab convdense``."""
    add_quick(parser, what="the ESC-10 sparse matrices counted by formula, one timing example")
    g = parser.add_argument_group("one layer of your choice (printed, not saved)")
    # string defaults: argparse passes them through _hw, and --help prints them as typed
    g.add_argument("--input-size", type=_hw, default=None, metavar="HxW",
                   help="input height x width, e.g. 128x500")
    g.add_argument("--in-channels", type=int, default=1, metavar="N", help="input channels")
    g.add_argument("--out-channels", type=int, default=16, metavar="N", help="filters")
    g.add_argument("--kernel", type=_hw, default="3", metavar="K|KHxKW", help="kernel size")
    g.add_argument("--stride", type=_hw, default="1", metavar="S|SHxSW", help="stride")
    g.add_argument("--padding", type=_hw, default="0", metavar="P|PHxPW", help="zero padding")
    g.add_argument("--dilation", type=_hw, default="1", metavar="D|DHxDW", help="dilation")
    g.add_argument("--groups", type=int, default=1, metavar="N", help="channel groups")
    g.add_argument("--pool", type=_hw, default=None, metavar="P|PHxPW",
                   help="max-pool size (stride = size); none given: no pooling")
    add_seed(parser, drives="weights and inputs of the equivalence checks and timings")
    add_out(parser)
    parser.epilog = examples(
        ("mlsplab convdense", "the ESC-10 CNN's layers as conv and as dense"),
        ("mlsplab convdense --input-size 128x500 --out-channels 32 --kernel 5",
         "also one layer of your choice"),
    )


def shape_x(shape: list[int]) -> str:
    return shape_text(shape, "x")


def _cost_table(rows: list[dict[str, Any]]) -> str:
    lines = []
    for r in rows:
        shape = f"{shape_x(r['input_shape'])}->{shape_x(r['conv_output_shape'])}"
        tm = r.get("timing", {})
        for kind in ("conv", "dense"):
            c = r[kind]
            lines.append([r["name"] if kind == "conv" else "", shape if kind == "conv" else "",
                          kind, f"{c['params']:,}", f"{c['macs']:,}", bytes_text(c["weight_bytes"]),
                          bytes_text(c["activation_bytes"]),
                          ms_text(tm.get(f"{kind}_seconds")) if tm else "-"])
    return text_table(lines, ["layer", "shape", "view", "params", "MACs", "weights",
                              "activations", "forward (1 thread)"])


def _print(doc: dict[str, Any]) -> None:
    print(f"ESC-10 CNN (from EscCnnConfig), CPU: {doc['cpu']}")
    print(_cost_table(doc["layers"]))
    print(f"flattened: {shape_x(doc['flattened_shape'])} = {doc['flattened_size']:,} "
          f"(torch: {doc['flattened_size_torch']:,}); formulas match torch numel and FLOP "
          f"counter: {doc['all_formulas_match_torch']}")
    print("\nConv as a sparse, weight-shared dense matrix W (W @ x.flatten() == conv(x).flatten())")
    print(text_table([[r["name"], shape_x(r["sparse_view"]["shape"]),
                       f"{r['sparse_view']['nnz']:,}", f"{r['sparse_view']['density']:.4%}",
                       f"{r['sparse_view'].get('distinct_values', '-')}",
                       f"{r['sparse_view']['kernel_weights']:,}",
                       f"{r['sparse_view']['max_abs_err']:.1e}"
                       if r["sparse_view"]["materialised"] else "formula only"]
                      for r in doc["layers"]],
                     ["layer", "W shape", "nnz", "density", "distinct", "kernel weights",
                      "max |W x - conv x|"]))
    print(text_table([[r["name"], shape_x(r["matrix_shape"]), r["nnz"], f"{r['density']:.3f}",
                       r["distinct_values"], r["exact_integer_match"],
                       f"{r['float64_max_abs_err']:.1e}"] for r in doc["sparse_checks"]],
                     ["random shape", "W shape", "nnz", "density", "distinct", "exact (int)",
                      "float64 err"]))
    fc = doc["fc"]
    print(f"\nDense as conv: FC{fc['n_out']} on {fc['n_in']:,} inputs = Conv2d("
          f"{fc['input_shape'][0]}->{fc['n_out']}, kernel {shape_x(fc['conv_view']['kernel'])}), "
          f"{fc['params']:,} params both ways; max abs error "
          f"{fc['check']['whole_input_conv_max_abs_err']:.1e} (whole-input conv), "
          f"{fc['check']['conv1x1_max_abs_err']:.1e} (1x1 conv on the flattened input); "
          f"forward {ms_text(fc['timing']['linear_seconds'])} (Linear) vs "
          f"{ms_text(fc['timing']['whole_input_conv_seconds'])} (conv)")
    print("\nTiming examples small enough to build the dense layer")
    print(_cost_table(doc["timing_examples"]))


def _print_custom(custom: ConvSpec, seed: int) -> None:
    row = conv_cost(custom)
    row["timing"] = measure_forward(custom, repeats=TIMING_REPEATS, seed=seed)
    counts = torch_counts(custom)
    print("\nYour layer")
    print(_cost_table([row]))
    print(f"torch numel/FLOP counter: conv {counts['conv_params']:,} params "
          f"{counts['conv_macs']:,} MACs, dense {counts['dense_params']:,} params "
          f"{counts['dense_macs']:,} MACs")


def main(args: argparse.Namespace) -> int:
    """Run Q4 (skipped when finished), print its tables, and the calculator for ``--input-size``."""
    custom = None
    if args.input_size is not None:  # validate before the (slower) run
        custom = ConvSpec(args.in_channels, args.out_channels, args.input_size, kernel=args.kernel,
                          stride=args.stride, padding=args.padding, dilation=args.dilation,
                          groups=args.groups, pool=args.pool, name="your layer")
    run(RunOptions(out=Path(args.out), seed=args.seed, quick=args.quick))
    path = Path(args.out) / EXPERIMENT_ID / "metrics.json"
    doc = read_json(path)
    _print(doc)
    if custom is not None:
        _print_custom(custom, args.seed)
    print(f"\nwrote {path}")
    if not (doc["all_formulas_match_torch"] and doc["all_sparse_exact"]):
        raise MlsplabError(f"a formula or an equivalence check failed; see {path}")
    return 0
