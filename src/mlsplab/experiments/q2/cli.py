"""``mlsplab tdnn``: Q2's parameter table and gradient checks for a TDNN of your choice.

``mlsplab tdnn --input-dim 13 --contexts "-2,-1,0,1,2;-1,2;-3,3" --hidden 512 --classes 10``
writes ``<out>/q2-tdnn/metrics.json`` (via the step's runner) and prints the tables.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from mlsplab.analysis.tdnn_arch import DEFAULT_CONTEXTS, contexts_text, parse_contexts
from mlsplab.cli_options import add_out, add_quick, add_seed, examples
from mlsplab.experiments.common import text_table
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q2.config import EXPERIMENT_ID
from mlsplab.experiments.q2.run import run
from mlsplab.io import read_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``mlsplab tdnn``."""
    # Let values like "-2,-1,0,1,2;-1,2;-3,3" follow --contexts: argparse < 3.13 only treats
    # plain negative numbers as values (3.13 uses this same "-<digit>" rule).
    parser._negative_number_matcher = re.compile(r"^-\.?\d")
    parser.add_argument("--input-dim", type=int, default=13, help="input features per frame d_0")
    parser.add_argument("--contexts", default=contexts_text(DEFAULT_CONTEXTS),
                        help="frame offsets of each hidden layer: layers split by ';', offsets "
                             "by ','")
    parser.add_argument("--hidden", type=int, default=512, help="width of every hidden layer")
    parser.add_argument("--classes", type=int, default=10, help="softmax outputs")
    parser.add_argument("--output-context", default="0", help="frame offsets of the output layer")
    parser.add_argument("--no-output-bias", action="store_true",
                        help="no bias on the softmax layer either (hidden layers never have one)")
    parser.add_argument("--frames", type=int, default=None,
                        help="sequence length T for the gradient check; none given: the "
                             "receptive field + 19")
    add_quick(parser, what="fewer finite-difference entries")
    add_seed(parser, drives="weights, inputs and random architectures of the gradient check")
    add_out(parser)
    parser.epilog = examples(
        ("mlsplab tdnn", "the assignment's TDNN: parameter table and gradient check"),
        ('mlsplab tdnn --contexts "-2,-1,0,1,2;-1,2;-3,3" --hidden 256',
         "another architecture"),
        ("mlsplab tdnn --input-dim 40 --classes 3000", "40-d input, 3,000 outputs"),
    )


def _print(doc: dict) -> None:
    print("Parameters per layer (closed form |C_l| * d_in * d_out [+ bias] vs torch numel)")
    print(text_table([[r["layer"], r["kind"], ",".join(map(str, r["context"])), r["in_dim"],
                       r["out_dim"], f"{len(r['context'])}*{r['in_dim']}*{r['out_dim']}"
                       + (f"+{r['bias']}" if r["bias"] else ""), f"{r['params']:,}",
                       f"{r['numel']:,}"] for r in doc["layers"]],
                     ["layer", "kind", "context", "d_in", "d_out", "formula", "params", "numel"]))
    print(f"total: closed form {doc['total_params_closed_form']:,}, numel "
          f"{doc['total_params']:,} ({'equal' if doc['params_match'] else 'MISMATCH'})")
    f, fr = doc["receptive_field"], doc["frames"]
    print(f"receptive field: t{f['first_offset']:+d} .. t{f['last_offset']:+d} = {f['width']} "
          f"frames ({f['n_used']} connected)")
    print(f"valid frames: T_out = T - {fr['frames_lost']}; T={fr['n_frames']} -> "
          f"{fr['n_out_frames']} output frames, the first at input frame "
          f"{fr['first_output_frame']} (0-based)")
    print(f"\nGradient check (float64, T={fr['n_frames']}): relative error of manual backprop")
    print(text_table([[r["name"], "x".join(map(str, r["shape"])), f"{r['rel_err_autograd']:.2e}",
                       f"{r['rel_err_fd']:.2e}", r["fd_entries"]]
                      for r in doc["gradient_check"]["params"]],
                     ["param", "shape", "vs autograd", "vs finite diff", "fd entries"]))
    print(f"\nRandom architectures ({len(doc['random_architectures'])}):")
    print(text_table([[r["contexts_text"] + f" | out {','.join(map(str, r['output_context']))}",
                       r["input_dim"], r["hidden"], r["classes"], r["n_frames"],
                       f"{r['max_rel_err_autograd']:.2e}", f"{r['max_rel_err_fd']:.2e}"]
                      for r in doc["random_architectures"]],
                     ["contexts", "d_0", "hidden", "classes", "T", "vs autograd",
                      "vs finite diff"]))
    tol = doc["tolerances"]
    print(f"\n{'PASS' if doc['gradient_check_passed'] else 'FAIL'}: max relative error "
          f"{doc['max_rel_err_autograd']:.2e} vs autograd (bar {tol['autograd']:g}), "
          f"{doc['max_rel_err_fd']:.2e} vs finite differences "
          f"(bar {tol['finite_difference']:g})")
    upd = doc["update_step"]
    print(f"one gradient-descent step, eta={upd['lr']:g}: loss {upd['loss_before']:.4f} -> "
          f"{upd['loss_after']:.4f}")


def main(args: argparse.Namespace) -> int:
    """Run Q2 for the architecture given by the flags and print its tables."""
    (out_ctx,) = parse_contexts(args.output_context, flag="--output-context")
    options = RunOptions(out=Path(args.out), seed=args.seed, quick=args.quick)
    run(options, input_dim=args.input_dim, contexts=parse_contexts(args.contexts),
        hidden=args.hidden, classes=args.classes, output_context=out_ctx,
        output_bias=not args.no_output_bias, n_frames=args.frames)
    path = Path(args.out) / EXPERIMENT_ID / "metrics.json"
    doc = read_json(path)
    _print(doc)
    print(f"\nwrote {path}")
    return 0 if doc["gradient_check_passed"] and doc["params_match"] else 1
