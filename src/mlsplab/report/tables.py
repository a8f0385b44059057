"""Experiment-specific tables for the report, formatted from the experiments' metrics.json.

Each builder takes one metrics document and returns blocks; it only selects and formats values
that the experiment measured. Experiments without a builder get the generic rendering of
:mod:`mlsplab.report.sections` (headline numbers, ``tables``, ``summary``, figures).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlsplab.report.document import Block, Bullets, Paragraph, Table


def _pct(x: Any) -> str:
    return f"{100 * x:.1f} %" if isinstance(x, (int, float)) else "\u2014"


def _num(x: Any) -> str:
    if isinstance(x, bool) or x is None:
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


def _bytes(n: Any) -> str:
    if not isinstance(n, (int, float)):
        return "\u2014"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # unreachable


def _history_table(doc: dict[str, Any]) -> Table:
    rows = [[str(h["epoch"]), f"{h['train_loss']:.4f}", f"{h['val_loss']:.4f}",
             _pct(h.get("val_accuracy")), f"{h.get('seconds', 0):.0f}"]
            for h in doc.get("history", [])]
    return Table(["epoch", "train loss", "val loss", "val accuracy", "seconds"], rows,
                 caption="Per-epoch history as measured.")


def sentiment_blocks(doc: dict[str, Any]) -> list[Block]:
    """Q1(b-d), one model: status, history table."""
    blocks: list[Block] = []
    planned, done = doc.get("epochs_planned"), doc.get("epochs_completed")
    if doc.get("complete") is False:
        blocks.append(Paragraph(
            f"Incomplete: training reached {done} of {planned} epochs before its time budget; "
            "the accuracies below are of the best-validation model so far. Running the same "
            "command again resumes from the checkpoint.", "warning"))
    if doc.get("history"):
        blocks.append(_history_table(doc))
    return blocks


def comparison_blocks(doc: dict[str, Any]) -> list[Block]:
    """Q1(b-d) comparison of the three models."""
    rows = [[r["experiment"], _num(r["n_parameters"]), f"{r['seconds_per_epoch']:.0f}",
             f"{r['epochs_completed']}" + ("" if r.get("complete", True) else " (partial)"),
             f"{r['best_val_loss']:.4f} @ {r['best_epoch']}", _pct(r["test_accuracy"]),
             _pct(r["test_accuracy_last"]), f"{r['train_val_gap_at_best']:+.4f}"]
            for r in doc.get("table", [])]
    return [Table(["model", "parameters", "s/epoch", "epochs", "best val loss @ epoch",
                   "test acc (best val)", "test acc (last)", "val\u2212train loss at best"],
                  rows, caption="Comparison of the Q1(b\u2013d) models as run.")]


def tdnn_blocks(doc: dict[str, Any]) -> list[Block]:
    """Q2: per-layer parameters, gradient check, update rules."""
    layers = [[str(r["layer"]), r["kind"], ",".join(str(c) for c in r["context"]),
               _num(r["in_dim"]), _num(r["out_dim"]), r["formula"], _num(r["params"]),
               _num(r["numel"])] for r in doc.get("layers", [])]
    blocks: list[Block] = [Table(
        ["layer", "kind", "context", "d in", "d out", "closed form", "params", "torch numel"],
        layers, caption=f"Learnable parameters: closed form "
                        f"{_num(doc.get('total_params_closed_form'))}, sum of torch tensor "
                        f"sizes {_num(doc.get('total_params'))}.")]
    check = doc.get("gradient_check", {})
    rows = [[p["name"], "\u00d7".join(str(s) for s in p["shape"]),
             f"{p['rel_err_autograd']:.2e}", f"{p['rel_err_fd']:.2e}"]
            for p in check.get("params", [])]
    if rows:
        blocks.append(Table(["parameter", "shape", "rel. error vs autograd",
                             "rel. error vs finite differences"], rows,
                            caption="Manual (chain-rule) gradients of the default architecture, "
                                    "float64."))
    rf = doc.get("receptive_field", {})
    frames = doc.get("frames", {})
    if rf or frames:
        blocks.append(Paragraph(
            f"Receptive field: {rf.get('width', '?')} frames (offsets {rf.get('first_offset')} "
            f"to {rf.get('last_offset')}). Valid output frames: {frames.get('rule', '')}"))
    if doc.get("update_rules"):
        blocks.append(Paragraph("Backpropagation and gradient-descent update, as implemented:"))
        blocks.append(Bullets([str(r) for r in doc["update_rules"]]))
    return blocks


def conv_dense_blocks(doc: dict[str, Any]) -> list[Block]:
    """Q4: conv vs dense cost on the ESC-10 CNN's layers, and the sparse view."""
    rows = []
    for layer in doc.get("layers", []):
        timing = layer.get("timing", {})
        for view in ("conv", "dense"):
            c = layer[view]
            seconds = timing.get(f"{view}_seconds")
            rows.append([layer["name"], view, _num(c["params"]), _num(c["macs"]),
                         _bytes(c["weight_bytes"]), _bytes(c["activation_bytes"]),
                         f"{1000 * seconds:.3f} ms" if seconds else "not built"])
    blocks: list[Block] = [Table(
        ["layer", "view", "parameters", "MACs", "weights", "activations", "forward (1 thread)"],
        rows, caption=f"ESC-10 CNN layers (input 1\u00d7128\u00d7500); flattened size "
                      f"{_num(doc.get('flattened_size'))}. Dense view: a fully connected layer "
                      "mapping the same input to the same output.")]
    sparse = [[layer["name"], "\u00d7".join(str(s) for s in layer["sparse_view"]["shape"]),
               _num(layer["sparse_view"]["nnz"]), f"{100 * layer['sparse_view']['density']:.4f} %",
               _num(layer["sparse_view"]["distinct_values"]),
               f"{layer['sparse_view']['max_abs_err']:.1e}"]
              for layer in doc.get("layers", []) if "sparse_view" in layer]
    if sparse:
        blocks.append(Table(["layer", "matrix W", "non-zeros", "density", "distinct values",
                             "max |Wx \u2212 conv(x)|"], sparse,
                            caption="Each conv layer as an explicit sparse, weight-shared matrix."))
    checks = [[c["name"], "\u00d7".join(str(s) for s in c["matrix_shape"]), _num(c["nnz"]),
               _num(c["distinct_values"]), str(c["exact_integer_match"]),
               f"{c['float64_max_abs_err']:.1e}"] for c in doc.get("sparse_checks", [])]
    if checks:
        blocks.append(Table(["random conv", "W shape", "non-zeros", "distinct values",
                             "exact (integers)", "float64 error"], checks,
                            caption="Conv-as-matrix on random shapes with stride, padding, "
                                    "dilation and groups."))
    fc = doc.get("fc", {})
    if fc.get("check"):
        chk = fc["check"]
        blocks.append(Paragraph(
            f"Dense as conv: the first FC layer ({_num(fc['n_in'])} \u2192 {_num(fc['n_out'])}, "
            f"{_num(fc['params'])} parameters) equals a Conv2d with a "
            f"{chk['whole_input_conv_kernel'][0]}\u00d7{chk['whole_input_conv_kernel'][1]} "
            f"kernel covering the whole input (max abs error "
            f"{chk['whole_input_conv_max_abs_err']:.1e}) and a 1\u00d71 conv on the flattened "
            f"input (max abs error {chk['conv1x1_max_abs_err']:.1e})."))
    return blocks


BUILDERS: dict[str, Callable[[dict[str, Any]], list[Block]]] = {
    "q1b-lstm-avg": sentiment_blocks,
    "q1c-lstm-attention": sentiment_blocks,
    "q1d-transformer": sentiment_blocks,
    "q1-comparison": comparison_blocks,
    "q2-tdnn": tdnn_blocks,
    "q4-conv-dense": conv_dense_blocks,
}


def specific_blocks(exp_id: str, doc: dict[str, Any]) -> list[Block]:
    """The experiment's own tables, or nothing if it has no builder or its keys differ."""
    builder = BUILDERS.get(exp_id)
    if builder is None:
        return []
    try:
        return builder(doc)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        # an older results file: fall back to the generic rendering, say so
        return [Paragraph(f"(Detailed tables unavailable for this results file: missing {e}.)",
                          "note")]
