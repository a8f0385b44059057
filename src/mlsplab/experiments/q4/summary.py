"""Q4's two sections of the report, built at report time from ``q4-conv-dense/metrics.json``.

Q4(i): the general cost and memory formulas of a conv layer against a dense layer with the same
input and output sizes, then the ESC-10 CNN's numbers. Q4(ii): the sparse, weight-shared matrix
of a conv layer (with a drawing of a small one) and the conv layer that is a dense layer, each
with its numerical check. The cost and timing figure, timings and random-shape checks go to
the appendix.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mlsplab.experiments.q4 import equations as eq
from mlsplab.experiments.q4.config import COMMAND, EXPERIMENT_ID, Q4Config
from mlsplab.experiments.q4.figures import plot_costs, plot_weight_pattern
from mlsplab.experiments.q4.units import bytes_text, ms_text, shape_text
from mlsplab.report.document import Block, Figure, Heading, Math, Paragraph, PartReport, Table

log = logging.getLogger(__name__)

STEP_KEY = "q4"  # registry step that writes q4-conv-dense
X = "\u00d7"
QUICK_DEVIATION = ("Quick run: the ESC-10 layers' matrices W were counted by formula, not built, "
                   "so their distinct values and their check against the conv are not measured.")


def _n(x: int) -> str:
    return f"{x:,}"


def missing_report(part_key: str, out: Path, reason: str, status: str = "missing"
                   ) -> PartReport:
    """The section when ``q4-conv-dense`` is missing or unreadable: what to run."""
    command = f"mlsplab reproduce --only {STEP_KEY} --out {out}"
    return PartReport(
        answer=[Paragraph(f"{reason} Run `{command}` (or `{COMMAND} --out {out}`) to produce "
                          f"it; it answers {part_key}.", "warning")],
        overview=f"not available: {command}", status=status)


def _dims(shape: list[int]) -> str:
    """A matrix size with thousands separators: ``1,003,968 × 64,000``."""
    return " \u00d7 ".join(_n(n) for n in shape)


def _filter_shape(fc: dict[str, Any]) -> str:
    """The filter of the conv that is the FC layer: ``16 × 13 × 54``."""
    return " \u00d7 ".join(str(n) for n in [fc["conv_view"]["in_channels"],
                                             *fc["conv_view"]["kernel"]])


def _layer_phrase(layer: dict[str, Any]) -> str:
    return f"{shape_text(layer['input_shape'])} \u2192 {shape_text(layer['conv_output_shape'])}"


# --------------------------------------------------------------------------- Q4(i)

def answer_i(doc: dict[str, Any]) -> str:
    """Q4(i)'s answer: how the costs scale, then the ESC-10 numbers."""
    first, *rest = doc["layers"]
    c, d = first["conv"], first["dense"]
    text = (
        "A conv layer's parameters depend only on its channels and kernel size, not on the size "
        "of its input, and its multiply-accumulates (MACs) grow with the number of output "
        "positions times the kernel size, because every output reads only a small patch. The "
        "dense layer that maps the same input to the same output connects every input to every "
        "output: its parameters and MACs are the product of the input and output sizes, which "
        "for images and spectrograms grows with the square of their area (formulas below). "
        "Both produce the same number of output values, so their activation memory is the "
        "same; the dense layer's weight memory is what explodes. "
        f"In the ESC-10 CNN's first layer ({_layer_phrase(first)}) the conv has "
        f"{_n(c['params'])} parameters ({bytes_text(c['weight_bytes'])}) and {_n(c['macs'])} MACs; "
        f"the dense layer with the same sizes would have {_n(d['params'])} parameters "
        f"({bytes_text(d['weight_bytes'])} in fp32, {first['ratio_params']:,.0f} times more) and "
        f"{_n(d['macs'])} MACs ({first['ratio_macs']:,.0f} times more), while both write "
        f"{_n(first['n_out'])} activations ({bytes_text(c['activation_bytes'])} with the pooled "
        "output).")
    for layer in rest:
        text += (f" For {layer['name']} ({_layer_phrase(layer)}) the ratios are "
                 f"{layer['ratio_params']:,.0f} for parameters and {layer['ratio_macs']:,.0f} "
                 "for MACs.")
    return text


def _cost_table(layers: list[dict[str, Any]], caption: str) -> Table:
    rows = []
    for layer in layers:
        for view in ("conv", "dense"):
            c = layer[view]
            rows.append([layer["name"] if view == "conv" else "", view, _n(c["params"]),
                         _n(c["macs"]), bytes_text(c["weight_bytes"]),
                         bytes_text(c["activation_bytes"])])
    return Table(["layer", "view", "parameters", "MACs", "weight memory (fp32)",
                  "activation memory (fp32)"], rows, caption=caption)


def _evidence_i(doc: dict[str, Any], fig_dir: Path) -> list[Block]:
    first = doc["layers"][0]
    blocks: list[Block] = [
        Heading("General formulas", 3),
        Math(eq.output_size(), "Output size of a conv layer with stride s and zero padding p; "
                               "the dense layer compared with it maps the same input to the same "
                               "output size."),
        Math(eq.parameters(), "Parameters (weights and biases)."),
        Math(eq.macs(), "Multiply-accumulates per example."),
        Math(eq.ratios(), "How much larger the dense layer is."),
        Math(eq.memory(), "Memory in bytes, with b bytes per number (4 in fp32); training also "
                          "keeps the activations for the backward pass."),
        Math(eq.pooling(), "A q \u00d7 q max-pool, after either layer, has no weights."),
        Heading("The ESC-10 CNN's layers", 3),
        Math(eq.esc_parameters(first), f"{first['name']}: parameters."),
        Math(eq.esc_macs(first), f"{first['name']}: MACs."),
        _cost_table(doc["layers"], f"The conv layers of the ESC-10 CNN (input "
                                   f"{shape_text(doc['layers'][0]['input_shape'])}) and the dense "
                                   "layers with the same input and output sizes; activation "
                                   "memory includes the pooled output."),
    ]
    return blocks


def _costs_figure(doc: dict[str, Any], fig_dir: Path) -> list[Block]:
    """The cost and timing bars (appendix: the body's table holds the counts)."""
    blocks: list[Block] = []
    try:
        fig = plot_costs(doc["layers"] + doc["timing_examples"], fig_dir / "q4_costs.svg")
        blocks.append(Figure(fig, "Parameters, MACs and single-thread forward time of each conv "
                                  "layer and of its dense equivalent (log scales); dense layers "
                                  "over the memory limit were counted, not built."))
    except (OSError, ValueError) as e:  # a figure that cannot be drawn does not stop Q4
        log.warning("q4 costs figure: %s", e)
    return blocks


def _appendix_i(doc: dict[str, Any], config: Q4Config) -> list[Block]:
    rows = [[r["name"], _layer_phrase(r), ms_text(r["timing"]["conv_seconds"]),
             ms_text(r["timing"]["dense_seconds"])] for r in doc["layers"] + doc["timing_examples"]]
    fc = doc["fc"]
    rows.append([fc["name"], f"{_n(fc['n_in'])} \u2192 {_n(fc['n_out'])}",
                 ms_text(fc["timing"]["whole_input_conv_seconds"]),
                 ms_text(fc["timing"]["linear_seconds"])])
    counts = [[r["name"], _n(r["torch"]["conv_params"]), _n(r["torch"]["conv_macs"]),
               _n(r["torch"]["dense_params"]), _n(r["torch"]["dense_macs"]),
               "yes" if r["formula_matches_torch"] else "NO"] for r in doc["layers"]]
    return [
        Heading("Q4(i): timings and counts checked against PyTorch", 2),
        Table(["layer", "shape", "conv forward", "dense forward"], rows,
              caption=f"Forward time on {doc['cpu']}: one thread, batch 1, best of "
                      f"{config.timing_repeats}, conv and dense timed one after the other in "
                      "the same process on a machine shared with other jobs. For the FC row the "
                      "conv column is its whole-input conv and the dense column the Linear "
                      "layer. Dense layers over "
                      f"{config.max_dense_mib} MiB of weights were not built."),
        Table(["layer", "conv params", "conv MACs", "dense params", "dense MACs",
               "formulas match"], counts,
              caption="The same counts from PyTorch: numel() of the modules and its FLOP counter "
                      "(2 FLOPs per MAC), on the meta device (no memory allocated)."),
    ]


def _settings(doc: dict[str, Any], config: Q4Config) -> list[tuple[str, str]]:
    convs = ", ".join(f"{r['name']} {r['spec']['out_channels']} filters "
                      f"{shape_text(r['spec']['kernel'])} stride {shape_text(r['spec']['stride'])} "
                      f"padding {shape_text(r['spec']['padding'])}, max-pool "
                      f"{shape_text(r['spec']['pool'] or [1, 1])}" for r in doc["layers"])
    layers = (f"the ESC-10 CNN (input {shape_text(doc['layers'][0]['input_shape'])}): {convs}; "
              f"FC {doc['fc']['n_out']}")
    timings = (f"one thread, batch 1, best of {config.timing_repeats}; dense layers over "
               f"{config.max_dense_mib} MiB counted, not built")
    return [
        ("Conv vs dense: layers compared", layers),
        ("Conv vs dense: the dense equivalent",
         "a fully connected layer from the conv's input to its output before pooling"),
        ("Conv vs dense: timings", timings),
    ]


# --------------------------------------------------------------------------- Q4(ii)

def answer_ii(doc: dict[str, Any]) -> str:
    """Q4(ii)'s answer: both constructions with their measured checks."""
    first = doc["layers"][0]
    sv, fc = first["sparse_view"], doc["fc"]
    checks = doc["sparse_checks"]
    n_exact = sum(r["exact_integer_match"] for r in checks)
    built = (f"Built explicitly, W x matched the conv's output to {sv['max_abs_err']:.1e} "
             f"(float64) and W holds {_n(sv['distinct_values'])} distinct values. "
             if sv.get("materialised") else
             "This quick run counted W by formula instead of building it. ")
    return (
        "Flatten the input and the output into vectors: a conv layer is then a dense layer "
        "y = W x + b whose row for output (o, i, j) holds filter o's kernel weights in the "
        "columns of the input patch under position (i, j) and zeros everywhere else. W is "
        "sparse (each row has at most input channels \u00d7 kernel height \u00d7 kernel width "
        "non-zeros) and weight-shared (all entries with the same filter, input channel and "
        "kernel position hold the same weight, so W has as many distinct values as the kernel "
        f"has weights). For the ESC-10 CNN's {first['name']}, W is "
        f"{_dims(sv['shape'])} with {_n(sv['nnz'])} non-zeros "
        f"({100 * sv['density']:.4f} % of its entries). {built}On {n_exact} of {len(checks)} "
        "random layer shapes (stride, padding, dilation, groups) W x equalled the conv's output "
        "exactly with integer data. Conversely, a conv layer whose kernel covers its whole "
        "input has a single output position and is a dense layer: the ESC-10 CNN's first fully "
        "connected layer "
        f"({_n(fc['n_in'])} \u2192 {_n(fc['n_out'])}, {_n(fc['params'])} parameters) is a "
        f"conv with {fc['conv_view']['out_channels']} filters of "
        f"{_filter_shape(fc)}, "
        "whose outputs equal the dense layer's up to "
        f"{fc['check']['whole_input_conv_max_abs_err']:.1e} (outputs of size about "
        f"{fc['check']['output_scale']:.0f}, float64).")


def _sparse_table(doc: dict[str, Any]) -> Table:
    rows = []
    for layer in doc["layers"]:
        sv = layer["sparse_view"]
        built = sv.get("materialised", False)
        rows.append([layer["name"], _dims(sv["shape"]),
                     _n(sv["nnz"]), f"{100 * sv['density']:.4f} %", _n(sv["kernel_weights"]),
                     _n(sv["distinct_values"]) if built else "not built (quick run)",
                     f"{sv['max_abs_err']:.1e}" if built else "not built (quick run)"])
    return Table(["layer", "matrix W", "non-zeros", "density", "kernel weights",
                  "distinct values in W", "max |W x \u2212 conv(x)|"], rows,
                 caption="The ESC-10 CNN's conv layers as explicit sparse matrices (float64, "
                         "random weights and input).")


def _evidence_ii(doc: dict[str, Any], fig_dir: Path) -> list[Block]:
    ex, fc = doc["example"], doc["fc"]
    spec = ex["spec"]
    blocks: list[Block] = [
        Heading("A conv layer as a sparse, weight-shared dense layer", 3),
        Math(eq.flatten(), "Input and output flattened in C order (as PyTorch's flatten)."),
        Math(eq.convolution(), "The conv layer (cross-correlation, as in PyTorch); taps that "
                               "fall in the zero padding are left out."),
        Math(eq.sparse_matrix(), "The same map as a dense layer: one entry per output (o, i, j), "
                                 "input channel c and kernel position (u, v) whose input lies "
                                 "inside the image; every other entry of W is 0, and all "
                                 "entries with the same (o, c, u, v) share one weight."),
        Math(eq.sparsity(), "Sparse connections and weight sharing."),
    ]
    try:
        fig = plot_weight_pattern(ex, fig_dir / "q4_weight_pattern.svg")
        blocks.append(Figure(fig, (
            f"W of a small conv layer ({spec['in_channels']} input channel(s) of "
            f"{shape_text(spec['input_size'])}, {spec['out_channels']} filters of "
            f"{shape_text(spec['kernel'])}, stride {spec['stride'][0]}, padding "
            f"{spec['padding'][0]}): {_n(ex['nnz'])} non-zeros out of "
            f"{_n(ex['shape'][0] * ex['shape'][1])}, coloured by the kernel weight they hold "
            f"({ex['distinct_values']} distinct)."), 0.62))
    except (OSError, ValueError) as e:  # a figure that cannot be drawn does not stop Q4
        log.warning("q4 weight-pattern figure: %s", e)
    blocks += [
        Paragraph(f"For this example W x + b equals the conv's output "
                  f"{'exactly' if ex['exact_integer_match'] else 'NOT exactly'} with integer "
                  "weights and inputs in float64."),
        _sparse_table(doc),
        Heading("A dense layer as a conv layer", 3),
        Math(eq.dense_as_conv(), "A dense layer y = A x + b with M outputs on a C \u00d7 H "
                                 "\u00d7 W input: a conv with M filters whose kernel covers the "
                                 "whole input; filter m is row m of A reshaped."),
        Math(eq.dense_as_1x1_conv(), "Equivalently, a 1 \u00d7 1 conv on the input reshaped to "
                                     "one channel per value."),
        Paragraph(f"The ESC-10 CNN's first fully connected layer ({_n(fc['n_in'])} \u2192 "
                  f"{_n(fc['n_out'])}) as a conv with {fc['conv_view']['out_channels']} "
                  f"filters of {_filter_shape(fc)} has "
                  f"{_n(fc['conv_view']['params'])} parameters, as the dense layer; on random "
                  "float64 weights and inputs their outputs differ by at most "
                  f"{fc['check']['whole_input_conv_max_abs_err']:.1e}, and the 1 \u00d7 1 "
                  f"view by {fc['check']['conv1x1_max_abs_err']:.1e}."),
    ]
    return blocks


def _appendix_ii(doc: dict[str, Any]) -> list[Block]:
    rows = []
    for r in doc["sparse_checks"]:
        geometry = " ".join(f"{k} {shape_text(r['spec'][k])}"
                            for k in ("kernel", "stride", "padding", "dilation"))
        rows.append([r["name"], f"{geometry} groups {r['spec']['groups']}",
                     _dims(r["matrix_shape"]), _n(r["nnz"]),
                     _n(r["distinct_values"]), "yes" if r["exact_integer_match"] else "NO",
                     f"{r['float64_max_abs_err']:.1e}"])
    return [Heading("Q4(ii): conv layers as matrices, random shapes", 2),
            Table(["shape", "geometry", "W", "non-zeros", "distinct values",
                   "exact (integers)", "float64 error"], rows,
                  caption="W x + b against the conv's output on random layer shapes: exactly "
                          "equal with integer weights and inputs, and the largest difference "
                          "with random float64 ones.")]


# --------------------------------------------------------------------------- model answer

def setup_i(doc: dict[str, Any]) -> str:
    first = doc["layers"][0]
    return (f"The ESC-10 CNN's conv layers (input {shape_text(first['input_shape'])}) against "
            "dense layers with the same input and output sizes, counted in closed form; dense "
            "layers too large to build are counted, not built.")


def conclusion_i(doc: dict[str, Any]) -> str:
    first = doc["layers"][0]
    c, d = first["conv"], first["dense"]
    same_act = c["activation_bytes"] == d["activation_bytes"]
    return (
        "A conv layer's weights are one small kernel per filter, shared by every position, so "
        "its parameters depend on channels and kernel size only, and its multiply-accumulates "
        "(MACs) on the output positions times the kernel size; a dense layer connects every "
        "input to every output, so both grow with the product of input and output sizes. "
        f"For {first['name']} that is {_n(c['params'])} parameters against {_n(d['params'])} "
        f"({bytes_text(d['weight_bytes'])} in fp32), and {first['ratio_macs']:,.0f} times "
        "fewer MACs. "
        + ("Both write the same outputs, so their activation memory is the same; the "
           "difference is all in weights and arithmetic. " if same_act else "")
        + _timing_sentence(doc))


def _timing_sentence(doc: dict[str, Any]) -> str:
    """What the single-thread timings of the layers small enough to build show."""
    timed = [t for t in doc.get("timing_examples", []) + doc["layers"]
             if (t.get("timing") or {}).get("dense_seconds") and t["timing"].get("conv_seconds")]
    if not timed:
        return "The counts are arithmetic, not measured speed."
    pairs = [(t["timing"]["dense_seconds"] / t["timing"]["conv_seconds"], t["ratio_macs"], t)
             for t in timed[:2]]
    said = " and ".join(f"{r:,.0f} times the conv's time for {m:,.0f} times the MACs "
                        f"({shape_text(t['input_shape'])} input)" for r, m, t in pairs)
    memory = any(r > m for r, m, _ in pairs)
    return (f"Timed on one thread, the dense layers small enough to build took {said}: time "
            "follows the arithmetic only roughly"
            + (", because a large dense layer is limited by reading its weights from memory."
               if memory else "."))


def setup_ii(doc: dict[str, Any]) -> str:
    return ("Both constructions built explicitly in float64: the ESC-10 CNN's conv layers as "
            "matrices, its first fully connected layer as a conv, and "
            f"{len(doc['sparse_checks'])} random layer shapes.")


def conclusion_ii(doc: dict[str, Any]) -> str:
    first = doc["layers"][0]
    sv, fc = first["sparse_view"], doc["fc"]
    checked = (f", and W x matched the conv to {sv['max_abs_err']:.0e}"
               if sv.get("materialised") else "")
    distinct = (f" and only {_n(sv['distinct_values'])} distinct values"
                if sv.get("materialised") else "")
    return (
        "Flattening input and output turns a conv layer into y = W x + b whose W is sparse "
        "(a row holds only the weights under its patch) and weight-shared (each kernel weight "
        f"repeats at every position): for {first['name']}, W is {_dims(sv['shape'])} with "
        f"{100 * sv['density']:.3f} % non-zeros{distinct}{checked}. Conversely a conv whose "
        "kernel covers its whole input has a single output position and is a dense layer: "
        f"FC{fc['n_out']} is a conv with {fc['conv_view']['out_channels']} filters of "
        f"{_filter_shape(fc)}, equal up to {fc['check']['whole_input_conv_max_abs_err']:.0e}. "
        "A conv layer is therefore a dense layer under a constraint, and that constraint is "
        "what makes it cheap (Q4(i)) and lets it detect a pattern wherever it occurs.")


# --------------------------------------------------------------------------- entry point

def part_report(part_key: str, results: dict[str, dict], out: Path, fig_dir: Path
                ) -> PartReport:
    """Q4(i) (``part_key="q4i"``) or Q4(ii) (``"q4ii"``) from ``q4-conv-dense``.

    Parameters
    ----------
    part_key : str
        ``"q4i"`` or ``"q4ii"``.
    results : dict
        Experiment id -> parsed metrics.json; ``q4-conv-dense`` may be missing.
    out : Path
        The results folder (named in the command that produces missing results).
    fig_dir : Path
        Where the figures are drawn (``q4_costs.svg``, ``q4_weight_pattern.svg``).
    """
    doc = results.get(EXPERIMENT_ID)
    if not doc:
        return missing_report(part_key, out, f"No results for {part_key} ({EXPERIMENT_ID}).")
    fig_dir = Path(fig_dir)
    try:
        config = Q4Config.from_record(doc["config"])
        if part_key == "q4i":
            first = doc["layers"][0]
            report = PartReport(
                answer=[Paragraph(answer_i(doc))], evidence=_evidence_i(doc, fig_dir),
                settings=_settings(doc, config),
                appendix=_costs_figure(doc, fig_dir) + _appendix_i(doc, config),
                setup=setup_i(doc), conclusion=conclusion_i(doc),
                overview=(f"{first['name']}: {_n(first['conv']['params'])} parameters against "
                          f"{_n(first['dense']['params'])} for the dense layer with the same "
                          f"sizes; {first['ratio_macs']:,.0f} times fewer MACs"))
        else:
            sv, fc = doc["layers"][0]["sparse_view"], doc["fc"]
            report = PartReport(
                answer=[Paragraph(answer_ii(doc))], evidence=_evidence_ii(doc, fig_dir),
                appendix=_appendix_ii(doc), setup=setup_ii(doc), conclusion=conclusion_ii(doc),
                overview=(f"{doc['layers'][0]['name']} = a {_dims(sv['shape'])} matrix with "
                          f"{_n(sv['nnz'])} non-zeros; FC{fc['n_out']} = a conv with a "
                          f"{shape_text(fc['conv_view']['kernel'])} kernel (difference "
                          f"{fc['check']['whole_input_conv_max_abs_err']:.1e})"),
                deviations=[QUICK_DEVIATION] if doc.get("quick") else [])
    except (KeyError, TypeError, ValueError, IndexError) as e:
        return missing_report(part_key, out, f"The results in {out}/{EXPERIMENT_ID} are from an "
                                             f"older version or incomplete (missing {e}).",
                              "stale")
    report.status = "quick" if doc.get("quick") else "full"
    return report
