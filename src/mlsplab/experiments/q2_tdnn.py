"""Q2: TDNN parameter count, receptive field, and manual backprop checked against autograd.

``mlsplab tdnn --input-dim 13 --contexts "-2,-1,0,1,2;-1,2;-3,3" --hidden 512 --classes 10``
writes ``<out>/q2-tdnn/metrics.json`` and prints the tables. See ``docs/tdnn.md``.
"""

from __future__ import annotations

import argparse
import logging
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mlsplab.analysis.tdnn import (DEFAULT_CONTEXTS, UPDATE_RULES, Contexts, TDNNConfig,
                                   closed_form_total, count_parameters, gradient_check,
                                   gradient_descent_step, manual_backward, manual_forward,
                                   manual_loss, output_frames, parse_contexts, random_config,
                                   receptive_field, TDNN)
from mlsplab.errors import MlsplabError
from mlsplab.io import atomic_write, read_json
from mlsplab.experiments.common import (
    add_common_args, experiment_dir, finished_metrics, text_table,
                                        write_metrics)
from mlsplab.seeding import set_seed

log = logging.getLogger(__name__)

EXPERIMENT_ID = "q2-tdnn"
AUTOGRAD_TOL = 1e-8  # the bar: manual vs autograd relative error in float64
FD_TOL = 1e-5  # central differences with eps=1e-6 carry ~1e-9..1e-7 truncation/rounding error
N_RANDOM = 5  # random architectures checked besides the requested one
GD_LR = 1e-3


def _contexts_text(contexts: Contexts) -> str:
    return ";".join(",".join(str(c) for c in layer) for layer in contexts)


def _max_errors(check: dict[str, Any]) -> tuple[float, float]:
    rows = check["params"]
    return (max(r["rel_err_autograd"] for r in rows), max(r["rel_err_fd"] for r in rows))


def _gd_step_check(config: TDNNConfig, n_frames: int, seed: int) -> dict[str, Any]:
    """One gradient-descent step with the manual gradients; the loss must go down."""
    gen = torch.Generator().manual_seed(seed + 1)
    model = TDNN(config, dtype=torch.float64)
    weights = [W.detach().clone() for W in model.weights]
    bias = model.bias.detach().clone() if model.bias is not None else None
    x = torch.randn(n_frames, config.input_dim, generator=gen, dtype=torch.float64)
    n_out = output_frames(n_frames, config.layer_contexts)[1]
    targets = torch.randint(config.classes, (n_out,), generator=gen)
    cache = manual_forward(weights, bias, x, config.layer_contexts)
    before = manual_loss(cache, targets)
    gw, gb = manual_backward(weights, bias, cache, targets, config.layer_contexts)
    new_w, new_b = gradient_descent_step(weights, bias, gw, gb, GD_LR)
    after = manual_loss(manual_forward(new_w, new_b, x, config.layer_contexts), targets)
    return {"lr": GD_LR, "loss_before": before, "loss_after": after, "decreased": after < before}


def plot_connections(contexts: Contexts, path: Path) -> Path:
    """Draw which frames of each layer one output frame depends on (the missing figure).

    Rows are layers (input at the bottom), columns frame offsets relative to the output frame;
    lines are the connections with their offset, as in Peddinti et al. (2015), Fig. 1.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    L = len(contexts)
    field = receptive_field(contexts)
    lo, hi = int(field["first_offset"]), int(field["last_offset"])
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * (hi - lo + 1) + 2), 1.2 * L + 1.5))
    used = {L: {0}}  # layer -> offsets (relative to the output frame) that are connected
    for l in range(L, 0, -1):
        used[l - 1] = set()
        for u in sorted(used[l]):
            for c in contexts[l - 1]:
                ax.plot([u, u + c], [l, l - 1], color="tab:blue", lw=0.8, alpha=0.6)
                used[l - 1].add(u + c)
    for l in range(L + 1):
        ax.scatter(range(lo, hi + 1), [l] * (hi - lo + 1), s=18, color="lightgray", zorder=2)
        ax.scatter(sorted(used[l]), [l] * len(used[l]), s=30, color="black", zorder=3)
    labels = ["input x"] + [f"{'output' if l == L else f'layer {l}'}: "
                            f"{{{','.join(map(str, contexts[l - 1]))}}}" for l in range(1, L + 1)]
    ax.set_yticks(range(L + 1), labels)
    ax.set_xticks(range(lo, hi + 1))
    ax.set_xlabel("frame offset relative to the output frame t")
    ax.set_title(f"TDNN connections of one output frame: receptive field t{lo:+d}..t{hi:+d}")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)
    return path


def run(out: str | Path, *, seed: int = 0, quick: bool = False, input_dim: int = 13,
        contexts: Contexts = DEFAULT_CONTEXTS, hidden: int = 512, classes: int = 10,
        output_context: tuple[int, ...] = (0,), output_bias: bool = True,
        n_frames: int | None = None) -> dict[str, Any]:
    """Count the TDNN's parameters, find its receptive field and verify its manual gradients.

    Parameters
    ----------
    out : path
        Results folder; writes ``<out>/q2-tdnn/metrics.json``.
    seed : int, default=0
        Seeds the weights, inputs, targets and random architectures.
    quick : bool, default=False
        Fewer finite-difference entries per parameter (4 instead of 12).
    input_dim, hidden, classes : int
        ``d_0``, the width of every hidden layer, and the number of softmax outputs.
    contexts : tuple of tuple of int, default=((-2,-1,0,1,2), (-1,2), (-3,3))
        Frame offsets of each hidden layer.
    output_context : tuple of int, default=(0,)
        Offsets of the output layer.
    output_bias : bool, default=True
        Whether the softmax layer has a bias (hidden layers never do).
    n_frames : int or None
        Sequence length for the gradient check; default receptive field + 19 (20 output frames).

    Returns
    -------
    dict
        The metrics document (see ``docs/tdnn.md`` for the keys).
    """
    net = TDNNConfig(input_dim=input_dim, contexts=contexts, hidden=hidden, classes=classes,
                     output_context=output_context, output_bias=output_bias)
    field = receptive_field(net.layer_contexts)
    if n_frames is None:
        n_frames = int(field["width"]) + 19
    if n_frames < field["width"]:
        raise MlsplabError(f"--frames={n_frames} is shorter than the receptive field "
                           f"({field['width']} frames); give at least {field['width']}")
    fd_entries = 4 if quick else 12
    config = {"input_dim": input_dim, "contexts": [list(c) for c in net.contexts],
              "hidden": hidden, "classes": classes, "output_context": list(net.output_context),
              "output_bias": output_bias, "n_frames": n_frames, "seed": seed, "quick": quick,
              "fd_entries": fd_entries, "n_random_architectures": N_RANDOM}
    exp_dir = experiment_dir(out, EXPERIMENT_ID)
    if (done := finished_metrics(exp_dir, config)) is not None:
        return done
    set_seed(seed)
    t0 = time.perf_counter()

    layers = count_parameters(net)
    weights = TDNN(net, dtype=torch.float64).weights
    numel = {f"W{l}": int(W.numel()) for l, W in enumerate(weights, 1)}
    for row in layers:
        row["numel"] = numel[f"W{row['layer']}"] + row["bias"]
    total_numel = sum(p.numel() for p in TDNN(net).parameters())
    first, n_out = output_frames(n_frames, net.layer_contexts)
    lost = sum(max(c) - min(c) for c in net.layer_contexts)

    log.info("gradient check on the requested architecture (T=%d)", n_frames)
    check = gradient_check(net, n_frames=n_frames, seed=seed, fd_entries=fd_entries)
    rng = np.random.default_rng(seed)
    random_checks = []
    for i in range(N_RANDOM):
        cfg, T = random_config(rng)
        res = gradient_check(cfg, n_frames=T, seed=seed + 100 + i, fd_entries=fd_entries)
        err_auto, err_fd = _max_errors(res)
        random_checks.append({"input_dim": cfg.input_dim, "contexts": _contexts_text(cfg.contexts),
                              "hidden": cfg.hidden, "classes": cfg.classes,
                              "output_context": list(cfg.output_context),
                              "output_bias": cfg.output_bias, "n_frames": T,
                              "n_out_frames": res["n_out_frames"],
                              "max_rel_err_autograd": err_auto, "max_rel_err_fd": err_fd})
    err_auto, err_fd = _max_errors(check)
    all_auto = max([err_auto] + [r["max_rel_err_autograd"] for r in random_checks])
    all_fd = max([err_fd] + [r["max_rel_err_fd"] for r in random_checks])
    passed = all_auto <= AUTOGRAD_TOL and all_fd <= FD_TOL
    gd = _gd_step_check(net, n_frames, seed)
    figure = plot_connections(net.layer_contexts, exp_dir / "tdnn_connections.png")
    total = closed_form_total(net)

    summary = [
        f"The TDNN with contexts {_contexts_text(net.contexts)} "
        f"(output {list(net.output_context)}),"
        f" input {input_dim}, hidden {hidden}, {classes} classes has {total:,} learnable "
        f"parameters by the closed form sum_l |C_l| d_(l-1) d_l"
        + (f" + {classes} output biases" if output_bias else "")
        + f"; the torch module holds {total_numel:,} "
        + ("(equal)." if total == total_numel else "(MISMATCH)."),
        f"Each output frame sees input frames t{field['first_offset']:+d} .. "
        f"t{field['last_offset']:+d} ({field['width']} frames, {field['n_used']} of them "
        f"connected); without padding a sequence of T frames gives T - {lost} output frames.",
        f"Manual backprop matches autograd to a relative error of at most {all_auto:.1e} and "
        f"central finite differences to {all_fd:.1e} over the requested and {N_RANDOM} random "
        f"architectures ({'pass' if passed else 'FAIL'}: bars {AUTOGRAD_TOL:g} and {FD_TOL:g}).",
        f"One gradient-descent step with eta={GD_LR:g} using the manual gradients moved the loss "
        f"from {gd['loss_before']:.4f} to {gd['loss_after']:.4f}.",
    ]
    metrics = {
        "quick": quick,
        "deviations": [
            "The assignment's TDNN figure is missing, so the architecture is an input; the default "
            "uses the first three layer contexts of Peddinti et al. (2015): {-2..2}, {-1,2}, "
            "{-3,3}, hidden width 512, input 13, 10 classes, and a frame-wise ({0}) softmax layer.",
            "The assignment says hidden units have no bias and says nothing about the output "
            "units; the softmax layer here has a bias by default (--no-output-bias removes it).",
            "No padding: the loss sums over the output frames that have their full context only.",
        ],
        "layers": layers,
        "total_params": total_numel,
        "total_params_closed_form": total,
        "params_match": total == total_numel,
        "closed_form": "sum_l |C_l| * d_(l-1) * d_l" + (" + d_L" if output_bias else ""),
        "receptive_field": field,
        "frames": {"n_frames": n_frames, "first_output_frame": first, "n_out_frames": n_out,
                   "frames_lost": lost, "left_context": -field["first_offset"],
                   "right_context": field["last_offset"],
                   "rule": f"T_out = T - sum_l (max C_l - min C_l) = T - {lost}; output frame j "
                           f"(0-based) is at input time j + {first} and sees input frames "
                           f"j .. j + {lost}"},
        "gradient_check": check,
        "random_architectures": random_checks,
        "max_rel_err_autograd": all_auto,
        "max_rel_err_fd": all_fd,
        "tolerances": {"autograd": AUTOGRAD_TOL, "finite_difference": FD_TOL},
        "gradient_check_passed": passed,
        "update_rules": UPDATE_RULES,
        "gd_step": gd,
        "figures": {"connections": figure.name},
        "seconds": time.perf_counter() - t0,
        "summary": summary,
    }
    write_metrics(exp_dir, EXPERIMENT_ID, config, metrics)
    return read_json(exp_dir / "metrics.json")


# --------------------------------------------------------------------------- CLI

def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Let values like "-2,-1,0,1,2;-1,2;-3,3" follow --contexts: argparse < 3.13 only treats
    # plain negative numbers as values (3.13 uses this same "-<digit>" rule).
    parser._negative_number_matcher = re.compile(r"^-\.?\d")
    parser.add_argument("--input-dim", type=int, default=13, help="input features per frame d_0")
    parser.add_argument("--contexts", default=_contexts_text(DEFAULT_CONTEXTS),
                        help="frame offsets of each hidden layer: layers split by ';', offsets "
                             "by ','")
    parser.add_argument("--hidden", type=int, default=512, help="width of every hidden layer")
    parser.add_argument("--classes", type=int, default=10, help="softmax outputs")
    parser.add_argument("--output-context", default="0", help="frame offsets of the output layer")
    parser.add_argument("--no-output-bias", action="store_true",
                        help="no bias on the softmax layer either (hidden layers never have one)")
    parser.add_argument("--frames", type=int, default=None,
                        help="sequence length T for the gradient check (default: receptive "
                             "field + 19)")
    parser.add_argument("--quick", action="store_true", help="fewer finite-difference entries")
    add_common_args(parser, data=False)


def main(args: argparse.Namespace) -> int:
    contexts = parse_contexts(args.contexts)
    (out_ctx,) = parse_contexts(args.output_context, flag="--output-context")
    doc = run(args.out, seed=args.seed, quick=args.quick, input_dim=args.input_dim,
              contexts=contexts, hidden=args.hidden, classes=args.classes,
              output_context=out_ctx, output_bias=not args.no_output_bias, n_frames=args.frames)
    print("Parameters per layer (closed form |C_l| * d_in * d_out [+ bias] vs torch numel)")
    print(text_table([[r["layer"], r["kind"], ",".join(map(str, r["context"])), r["in_dim"],
                   r["out_dim"], r["formula"], f"{r['params']:,}", f"{r['numel']:,}"]
                  for r in doc["layers"]],
                 ["layer", "kind", "context", "d_in", "d_out", "formula", "params", "numel"]))
    print(f"total: closed form {doc['total_params_closed_form']:,}, numel "
          f"{doc['total_params']:,} ({'equal' if doc['params_match'] else 'MISMATCH'})")
    f, fr = doc["receptive_field"], doc["frames"]
    print(f"receptive field: t{f['first_offset']:+d} .. t{f['last_offset']:+d} = {f['width']} "
          f"frames ({f['n_used']} connected)")
    print(f"valid frames: {fr['rule']}; T={fr['n_frames']} -> {fr['n_out_frames']} output frames")
    print(f"\nGradient check (float64, T={fr['n_frames']}): relative error of manual backprop")
    print(text_table([[r["name"], "x".join(map(str, r["shape"])), f"{r['rel_err_autograd']:.2e}",
                   f"{r['rel_err_fd']:.2e}", r["fd_entries"]]
                  for r in doc["gradient_check"]["params"]],
                 ["param", "shape", "vs autograd", "vs finite diff", "fd entries"]))
    print(f"\nRandom architectures ({len(doc['random_architectures'])}):")
    print(text_table([[r["contexts"] + f" | out {','.join(map(str, r['output_context']))}",
                   r["input_dim"], r["hidden"], r["classes"], r["n_frames"],
                   f"{r['max_rel_err_autograd']:.2e}", f"{r['max_rel_err_fd']:.2e}"]
                  for r in doc["random_architectures"]],
                 ["contexts", "d_0", "hidden", "classes", "T", "vs autograd", "vs finite diff"]))
    print(f"\n{'PASS' if doc['gradient_check_passed'] else 'FAIL'}: max relative error "
          f"{doc['max_rel_err_autograd']:.2e} vs autograd (bar {doc['tolerances']['autograd']:g}),"
          f" {doc['max_rel_err_fd']:.2e} vs finite differences "
          f"(bar {doc['tolerances']['finite_difference']:g})")
    print("\nGradient-descent update (manual gradients):")
    for rule in doc["update_rules"]:
        print("  " + rule)
    gd = doc["gd_step"]
    print(f"  one step, eta={gd['lr']:g}: loss {gd['loss_before']:.4f} -> {gd['loss_after']:.4f}")
    print(f"\nwrote {Path(args.out) / EXPERIMENT_ID / 'metrics.json'}")
    return 0 if doc["gradient_check_passed"] and doc["params_match"] else 1
