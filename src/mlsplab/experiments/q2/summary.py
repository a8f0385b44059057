"""Q2's section of the report, built at report time from ``q2-tdnn/metrics.json``.

The answer (parameter count, how every parameter is updated, the check) is prose with the
run's numbers; the derivation is typeset (:mod:`.equations`, generated for the run's contexts);
the per-parameter check and the per-architecture checks go to the appendix.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mlsplab.analysis.tdnn_arch import Contexts
from mlsplab.experiments.q2 import equations as eq
from mlsplab.experiments.q2.config import COMMAND, EXPERIMENT_ID, Q2Config
from mlsplab.experiments.q2.figures import plot_connections
from mlsplab.report.document import Block, Figure, Heading, Math, Paragraph, PartReport, Table

log = logging.getLogger(__name__)

STEP_KEY = "q2"  # registry step that writes q2-tdnn
OUTPUT_BIAS_DEVIATION = (
    "The assignment forbids a bias on the hidden units only; the softmax layer has a bias "
    "here (mlsplab tdnn --no-output-bias removes it).")
NO_PADDING_DEVIATION = ("No padding: the loss sums over the output frames whose whole context "
                        "exists.")


def _n(x: int) -> str:
    return f"{x:,}"


def _minus(c: int) -> str:
    return f"{c}".replace("-", "\u2212")


def offsets_text(ctx: list[int] | tuple[int, ...]) -> str:
    """``{−2, −1, 0, 1, 2}`` with Unicode minus signs."""
    return "{" + ", ".join(_minus(c) for c in ctx) + "}"


def deviations(config: Q2Config) -> list[str]:
    """What this run assumes where the assignment is silent, each stated once."""
    hidden = ", ".join(offsets_text(c) for c in config.contexts)
    assumed = (f"The assignment's TDNN figure is not available, so the architecture is an "
               f"input: this run uses hidden contexts {hidden} (the first three layers of "
               f"Peddinti et al., 2015, by default), {config.input_dim} inputs, {config.hidden} "
               f"units per hidden layer, {config.classes} classes and an output context "
               f"{offsets_text(config.output_context)}.")
    out = [assumed, NO_PADDING_DEVIATION]
    if config.output_bias:
        out.insert(1, OUTPUT_BIAS_DEVIATION)
    return out


def missing_report(out: Path, reason: str, status: str = "missing") -> PartReport:
    """The section when ``q2-tdnn`` is missing or unreadable: what to run."""
    command = f"mlsplab reproduce --only {STEP_KEY} --out {out}"
    return PartReport(
        answer=[Paragraph(f"{reason} Run `{command}` (or `{COMMAND} --out {out}`) to produce "
                          "it.", "warning")],
        overview=f"not available: {command}", status=status)


def _architecture_sentence(config: Q2Config) -> str:
    hidden = ", ".join(offsets_text(c) for c in config.contexts)
    bias = "with" if config.output_bias else "without"
    return (f"hidden contexts {hidden}, a softmax output layer with context "
            f"{offsets_text(config.output_context)} {bias} bias, {config.input_dim} inputs, "
            f"{config.hidden} ReLU units per hidden layer without bias, and {config.classes} "
            "classes")


def answer_text(doc: dict[str, Any], config: Q2Config) -> str:
    """The answer paragraph: count, how the parameters are updated, the measured check."""
    layers = doc["layers"]
    weights = " + ".join(_n(r["weights"]) for r in layers)
    bias = sum(r["bias"] for r in layers)
    bias_text = f" plus {_n(bias)} output biases" if bias else ""
    upd = doc["update_step"]
    verdict = ("equal" if doc["gradient_check_passed"] else "do NOT match")
    return (
        f"For the TDNN assumed here ({_architecture_sentence(config)}) there are "
        f"{_n(doc['total_params_closed_form'])} learnable parameters: one matrix per layer and "
        f"context offset ({weights} weights){bias_text}; PyTorch's module holds "
        f"{_n(doc['total_params'])}. The count does not depend on the sequence length, because "
        "every frame uses the same matrices. Every matrix is updated by gradient descent on the "
        "sum over the frames where it is used of its layer's error signal \u03b4 times the "
        "transposed input frame at its offset; \u03b4 is y \u2212 z at the output and is passed "
        "down through the transposed matrices of every frame of the next layer that reads a "
        "frame, gated by the ReLU derivative. Computed by hand, these gradients "
        f"{verdict} autograd's: largest relative error {doc['max_rel_err_autograd']:.1e} over "
        f"this network and {len(doc['random_architectures'])} random ones (float64); one update "
        f"step with \u03b7 = {upd['lr']:g} moved the loss from {upd['loss_before']:.4f} to "
        f"{upd['loss_after']:.4f}.")


def setup_text(config: Q2Config) -> str:
    """The architecture assumed, in two lines."""
    return (f"The assignment's figure is not available, so the architecture is an input: "
            f"{_architecture_sentence(config)}. No padding: the loss sums over the output "
            "frames whose whole context exists.")


def conclusion_text(doc: dict[str, Any], config: Q2Config) -> str:
    """Why the count and the updates take their form, and the check that supports them."""
    upd = doc["update_step"]
    agree = doc["gradient_check_passed"] and doc["params_match"]
    lowered = upd["loss_after"] < upd["loss_before"]
    return (
        "Every frame of a layer uses the same matrix for a given context offset, so the TDNN "
        f"has {_n(doc['total_params_closed_form'])} learnable parameters whatever the sequence "
        "length: one matrix per layer and offset"
        + (", plus the output bias." if config.output_bias else ".")
        + " Backpropagation is that of a feed-forward network with two changes: a hidden frame "
        "collects the errors of every later frame that reads it, through the transposed "
        "matrix of that offset, and each matrix's gradient is a sum over the frames that use "
        "it. The softmax Jacobian and the cross-entropy cancel to the output error y − z. "
        + (f"Computed by hand, these gradients equal autograd's to a relative error of "
           f"{doc['max_rel_err_autograd']:.0e} (float64) on this network and "
           f"{len(doc['random_architectures'])} random ones"
           if agree else "Computed by hand, these gradients do NOT match autograd's")
        + (", and one update step lowers the loss." if lowered else
           ", but one update step did not lower the loss.")
        + " What this does not check is the figure's own context sets, which are assumed.")


def _parameter_blocks(doc: dict[str, Any], config: Q2Config) -> list[Block]:
    rows = [[str(r["layer"]), r["kind"], offsets_text(r["context"]),
             f"{_n(r['in_dim'])} \u2192 {_n(r['out_dim'])}",
             f"{len(r['context'])} \u00d7 {_n(r['out_dim'])} \u00d7 {_n(r['in_dim'])}",
             _n(r["bias"]), _n(r["params"]), _n(r["numel"])] for r in doc["layers"]]
    return [
        Heading("Number of learnable parameters", 3),
        Math(eq.parameter_count_general(config.output_bias),
             "Each layer l has one matrix of size (units of l) \u00d7 (units of l \u2212 1) per "
             "offset in its context set; only the output layer has a bias."),
        Table(["layer", "kind", "context", "units in \u2192 out", "weights", "bias",
               "parameters", "torch numel"], rows,
              caption="Learnable parameters of this run's TDNN, by layer."),
        Math(eq.parameter_count_run(doc["layers"], doc["total_params_closed_form"]),
             "This run's count."),
    ]


def _forward_blocks(doc: dict[str, Any], config: Q2Config, fig: Path | None) -> list[Block]:
    contexts: Contexts = config.net().layer_contexts
    fr, rf = doc["frames"], doc["receptive_field"]
    blocks: list[Block] = [
        Heading("Forward pass, loss and the frames that exist", 3),
        Math(eq.forward_general(config.output_bias), "A general layer."),
        *[Math(s, "This run's network." if i == 0 else "")
          for i, s in enumerate(eq.forward_run(contexts, config.output_bias))],
        Math(eq.loss(), "The loss of the assignment, summed over the output frames that exist."),
    ]
    if fig is not None:
        blocks.append(Figure(fig, "The frames one output frame depends on (black), layer by "
                                  "layer: the context sets of this run's network.", 0.72))
    blocks += [
        Math(eq.frames_general(), "Without padding a frame exists where its whole context "
                                  "exists."),
        Math(eq.frames_run(contexts), "This run's output frames for T input frames."),
        Paragraph(f"One output frame reads the input frames t{_minus(rf['first_offset'])} to "
                  f"t+{rf['last_offset']}: " + (f"all {rf['width']} of them"
                                               if rf["n_used"] == rf["width"] else
                                               f"{rf['n_used']} of those {rf['width']}")
                  + f" feed it. The gradient check used T = {fr['n_frames']} input frames, "
                  f"which leave {fr['n_out_frames']} output frames."),
    ]
    return blocks


def _backprop_blocks(config: Q2Config) -> list[Block]:
    contexts: Contexts = config.net().layer_contexts
    return [
        Heading("Backpropagation", 3),
        Math(eq.delta_output_derivation(),
             r"The output error derived: with $y = \mathrm{softmax}(a)$, "
             r"$\partial y_k / \partial a_j = y_k([k = j] - y_j)$, and a one-hot target "
             "z, whose entries add up to 1."),
        Math(eq.delta_output(), "Softmax with cross-entropy: the error signal at the output."),
        Math(eq.delta_hidden_general(),
             "A hidden frame \u03c4 receives the error of every frame of the next layer that "
             "reads it (frame \u03c4 \u2212 c for offset c), through the transposed matrix of "
             "that offset, gated by the ReLU derivative (0 at a = 0, as in PyTorch)."),
        *[Math(s, "This run's hidden layers; a term is left out where its frame does not "
                  "exist (near the ends of the sequence)." if i == 0 else "")
          for i, s in enumerate(eq.delta_hidden_run(contexts))],
        Math(eq.gradients_general(config.output_bias),
             "Every matrix is shared by all frames of its layer, so its gradient is a sum over "
             "time."),
        *[Math(s, "The gradient of every weight matrix of this run." if i == 0 else "")
          for i, s in enumerate(eq.gradients_run(contexts))],
        Heading("Update", 3),
        Math(eq.update(config.output_bias),
             "Gradient descent with learning rate \u03b7, for every parameter."),
    ]


def _parameter_name(name: str, shape: list[int]) -> str:
    """``"W2"`` -> ``"layer 2 matrices (2 offsets)"``; ``"b"`` -> ``"output bias"``."""
    if name == "b":
        return "output bias"
    n = shape[0]
    return f"layer {name[1:]} matrices ({n} offset{'s' if n > 1 else ''})"


def _check_blocks(doc: dict[str, Any]) -> list[Block]:
    check = doc["gradient_check"]
    rows = [[_parameter_name(p["name"], p["shape"]), " \u00d7 ".join(str(s) for s in p["shape"]),
             f"{p['rel_err_autograd']:.1e}", f"{p['rel_err_fd']:.1e}", str(p["fd_entries"])]
            for p in check["params"]]
    tol = doc["tolerances"]
    return [
        Heading("Q2: manual gradients against autograd", 2),
        Table(["parameter", "shape (offsets \u00d7 out \u00d7 in)", "vs autograd",
               "vs finite differences", "entries checked"], rows,
              caption=f"Relative error \u2016manual \u2212 reference\u2016 / \u2016reference\u2016 "
                      f"of each gradient, float64, T = {check['n_frames']} "
                      f"({check['n_out_frames']} output frames); finite differences are central "
                      f"with step {tol['finite_difference_eps']:g} on the largest and on random "
                      "entries."),
    ]


def _appendix(doc: dict[str, Any]) -> list[Block]:
    rows = [[r["contexts_text"].replace(";", " | ").replace("-", "\u2212"),
             offsets_text(r["output_context"]), "yes" if r["output_bias"] else "no",
             f"{r['input_dim']} / {r['hidden']} / {r['classes']}", _n(r["n_params"]),
             f"{r['n_frames']} / {r['n_out_frames']}", f"{r['max_rel_err_autograd']:.1e}",
             f"{r['max_rel_err_fd']:.1e}"] for r in doc["random_architectures"]]
    return [Heading("Q2: gradient checks on random TDNNs", 2),
            Table(["hidden contexts", "output context", "bias", "in / hidden / classes",
                   "parameters", "T / output frames", "vs autograd", "vs finite diff."], rows,
                  caption="Largest relative gradient error over the parameters of each random "
                          "architecture (float64).")]


def settings_rows(doc: dict[str, Any], config: Q2Config) -> list[tuple[str, str]]:
    """The settings as run, for the report's settings table."""
    tol = doc["tolerances"]
    output = (f"softmax over {config.classes} classes, context "
              f"{offsets_text(config.output_context)}, "
              f"{'with' if config.output_bias else 'without'} bias")
    check = (f"float64, T = {config.n_frames}, {config.fd_entries} finite-difference entries "
             f"per parameter (step {tol['finite_difference_eps']:g}), "
             f"{config.n_random_architectures} random architectures, seed {config.seed}")
    return [
        ("TDNN hidden contexts", ", ".join(offsets_text(c) for c in config.contexts)),
        ("TDNN output layer", output),
        ("TDNN widths", f"input {config.input_dim}, hidden {config.hidden} (ReLU, no bias)"),
        ("TDNN gradient check", check),
        ("TDNN update step checked", f"\u03b7 = {config.update_lr:g}"),
    ]


def part_report(part_key: str, results: dict[str, dict], out: Path, fig_dir: Path
                ) -> PartReport:
    """Q2's section: answer, typeset derivation, check, settings, appendix.

    Parameters
    ----------
    part_key : str
        ``"q2"``.
    results : dict
        Experiment id -> parsed metrics.json; ``q2-tdnn`` may be missing.
    out : Path
        The results folder (named in the command that produces missing results).
    fig_dir : Path
        Where the connection diagram is drawn (``q2_tdnn_connections.svg``).
    """
    doc = results.get(EXPERIMENT_ID)
    if not doc:
        return missing_report(out, f"No results for {part_key} ({EXPERIMENT_ID}).")
    try:
        config = Q2Config.from_record(doc["config"])
        answer = answer_text(doc, config)
        fig = None
        try:
            fig = plot_connections(config.net().layer_contexts,
                                   Path(fig_dir) / "q2_tdnn_connections.svg")
        except (OSError, ValueError) as e:  # a figure that cannot be drawn does not stop Q2
            log.warning("q2 connections figure: %s", e)
        evidence = (_parameter_blocks(doc, config) + _forward_blocks(doc, config, fig)
                    + _backprop_blocks(config))
        # The per-parameter check table backs the answer's error figure: appendix.
        settings, appendix = settings_rows(doc, config), _check_blocks(doc) + _appendix(doc)
    except (KeyError, TypeError, ValueError) as e:
        return missing_report(out, f"The results in {out}/{EXPERIMENT_ID} are from an older "
                                   f"version or incomplete (missing {e}).", "stale")
    passed = doc["gradient_check_passed"] and doc["params_match"]
    return PartReport(
        setup=setup_text(config), conclusion=conclusion_text(doc, config),
        answer=[Paragraph(answer)], evidence=evidence, settings=settings, appendix=appendix,
        overview=(f"{_n(doc['total_params_closed_form'])} learnable parameters; manual "
                  f"gradients {'equal' if passed else 'differ from'} autograd's (relative "
                  f"error {doc['max_rel_err_autograd']:.1e})"),
        status="quick" if doc.get("quick") else "full",
        deviations=deviations(config))
