"""The report's sections Q1(b), Q1(c) and Q1(d), built at report time from ``metrics.json``.

``part_report(part_key, results, out, fig_dir)`` is named by the registry. Every sentence,
table and figure comes from the recorded measurements (phrases.py words them); nothing here
trains or recomputes a result, so ``mlsplab report`` rebuilds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlsplab.experiments.ids import Q1B_LSTM_AVG, Q1C_LSTM_ATTENTION, Q1D_TRANSFORMER
from mlsplab.experiments.q1 import conclusions as cc
from mlsplab.experiments.q1 import figures
from mlsplab.experiments.q1 import phrases as ph
from mlsplab.experiments.q1.config import BASELINE_ID, COMPARISON_ID, MODEL_IDS
from mlsplab.experiments.q1.tables import (
    appendix,
    comparison_table,
    settings_rows,
    top_words_table,
)
from mlsplab.formatting import count
from mlsplab.report.document import Figure, Heading, Paragraph, PartReport

PART_MODEL = {"q1b": Q1B_LSTM_AVG, "q1c": Q1C_LSTM_ATTENTION, "q1d": Q1D_TRANSFORMER}
STEP_OF = {Q1B_LSTM_AVG: "q1b", Q1C_LSTM_ATTENTION: "q1c", Q1D_TRANSFORMER: "q1d"}


def part_report(part_key: str, results: dict[str, dict[str, Any]], out: Path,
                fig_dir: Path) -> PartReport:
    """The PartReport of ``part_key`` ("q1b", "q1c" or "q1d") from ``results``."""
    exp_id = PART_MODEL[part_key]
    m = results.get(exp_id)
    if not m or m.get("test_accuracy") is None:
        return _missing(part_key, exp_id, m, out)
    fig_dir = Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    build = {"q1b": _part_b, "q1c": _part_c, "q1d": _part_d}[part_key]
    report = build(exp_id, m, results, fig_dir)
    report.settings = settings_rows(m)
    report.appendix = appendix(exp_id, m) + report.appendix  # details moved from the body
    report.status = ph.status(m)
    report.deviations = ph.deviations(m) + _partial_deviation(m)
    return report


def _missing(part_key: str, exp_id: str, m: dict[str, Any] | None, out: Path) -> PartReport:
    why = ("has no finished epoch yet (stopped at its time budget)" if m else "has no result")
    return PartReport(
        answer=[Paragraph(f"{exp_id} {why} in {out}. Run `mlsplab reproduce --only "
                          f"{STEP_OF[exp_id]} --out {out}` (it resumes from a checkpoint).",
                          style="warning")],
        overview=f"{ph.NAMES[exp_id]}: no result", status="missing")


def _partial_deviation(m: dict[str, Any]) -> list[str]:
    done, planned = m.get("epochs_completed", 0), m.get("epochs_planned", 0)
    if m.get("complete", True) or done >= planned:
        return []
    return [(f"{m['experiment']}: stopped at its time budget after {done} of {planned} epochs "
            "(rerun the same command to continue)")]


def _headline(exp_id: str, m: dict[str, Any]) -> str:
    s = (f"{ph.capital(ph.NAMES[exp_id])} ({m.get('n_parameters', 0):,} "
         f"trainable parameters) reached {ph.accuracy_phrase(m)} test accuracy with its "
         f"best-validation weights")
    if m.get("test_accuracy_last") is not None:
        s += f", and {ph.pct(m['test_accuracy_last'])} with the last epoch's."
    else:
        s += " (the run stopped inside an epoch, so there is no last-epoch number)."
    return s


def _overview(exp_id: str, m: dict[str, Any]) -> str:
    return (f"{ph.capital(ph.NAMES[exp_id])}: "
            f"{ph.pct(m['test_accuracy'], m.get('test_accuracy_std'))} "
            f"test accuracy (best-validation epoch {m.get('best_epoch')} of "
            f"{m.get('epochs_completed')})")


def _baseline_sentence(exp_id: str, m: dict[str, Any],
                       results: dict[str, dict[str, Any]]) -> str | None:
    b = results.get(BASELINE_ID)
    if not b or b.get("test_accuracy") is None:
        return None
    same = b.get("sizes", {}).get("test") == m.get("sizes", {}).get("test")
    return (f"Beside it, TF-IDF word 1\u20132-grams with logistic regression (C = "
            f"{b['chosen_c']:g}, chosen on validation by the one-standard-error rule from "
            f"{', '.join(f'{float(c):g}' for c in b['val_accuracy_by_c'])}) reached "
            f"{ph.pct(b['test_accuracy'])} on {'the same' if same else 'its'} test reviews, "
            f"in {ph.duration(b['wall_seconds'])} including tokenization "
            f"({ph.pts(m['test_accuracy'] - b['test_accuracy'])} for "
            f"{ph.NAMES[exp_id]}).")


def _curves_figure(exp_id: str, m: dict[str, Any], fig_dir: Path) -> Figure:
    path = figures.loss_curves(exp_id, m, fig_dir / f"{STEP_OF[exp_id]}_losses.svg")
    seeds = m.get("seeds") or []
    which = f" (seed {seeds[0]})" if len(seeds) > 1 else ""
    return Figure(path, f"{ph.capital(ph.NAMES[exp_id])}: BCE loss per epoch{which}. Solid: "
                        "training loss as the running mean over the epoch in train mode "
                        "(dropout on); dash-dot: training loss in eval mode at the epoch's end "
                        "on a fixed subset of training reviews; dashed: validation loss. The "
                        "dotted line marks the epoch whose weights are tested.")


def _part_b(exp_id: str, m: dict[str, Any], results: dict[str, dict[str, Any]],
            fig_dir: Path) -> PartReport:
    answer = [Paragraph(" ".join([_headline(exp_id, m), *ph.curve_sentences(m)]))]
    extra = [s for s in (ph.cost_sentence(m), ph.twin_sentence(m),
                         _baseline_sentence(exp_id, m, results)) if s]
    if extra:
        answer.append(Paragraph(" ".join(extra)))
    return PartReport(answer=answer, evidence=[_curves_figure(exp_id, m, fig_dir),
                                               cc.epochs_table(m)],
                      overview=_overview(exp_id, m), setup=cc.setup_b(m, results),
                      conclusion=cc.conclusion_b(exp_id, m, results))


def _attention_sentences(a: dict[str, Any]) -> list[str]:
    """How attention spread its weight over the test reviews (recorded statistics)."""
    s = [f"Over the {a['n_reviews']:,} test reviews the attention weights had a mean entropy "
         f"of {a['entropy_mean']:.2f} nats, against {a['uniform_entropy_mean']:.2f} nats for "
         f"uniform weights over the same reviews (the average pooling of (b)); per review, "
         f"{100 * a['entropy_ratio_mean']:.0f} % of the uniform entropy on average."
         if a.get("entropy_ratio_mean") is not None else "",
         (f"The top {100 * a['top_fraction']:.0f} % of a review's tokens held "
         f"{100 * a['top_mass_mean']:.1f} % of its weight on average (uniform: "
         f"{100 * a['top_mass_uniform_mean']:.1f} %), and the largest weight was "
         f"{a['max_weight_ratio_mean']:.1f} times the uniform weight.")]
    pos = [(i, x) for i, x in enumerate(a.get("position_ratio") or []) if x is not None]
    if pos:
        bins = a["position_bins"]
        hi, lo = max(pos, key=lambda t: t[1]), min(pos, key=lambda t: t[1])
        s.append(f"By relative position (tenths of the review, {a['position_reviews']:,} "
                 f"reviews of at least {bins} tokens), the mean weight was highest in "
                 f"{_tenth(hi[0], bins)} ({hi[1]:.2f} times uniform) and lowest in "
                 f"{_tenth(lo[0], bins)} ({lo[1]:.2f}).")
    if a.get("top_words"):
        top = ", ".join(f"\u201c{w['word']}\u201d ({w['weight_ratio']:.1f}\u00d7)"
                        for w in a["top_words"][:8])
        low = ", ".join(f"\u201c{w['word']}\u201d ({w['weight_ratio']:.2f}\u00d7)"
                        for w in a.get("bottom_words", [])[:5])
        s.append(f"Among words seen at least {a['min_count']} times in the test set, the "
                 f"highest mean weight (relative to uniform) went to {top}; the lowest to "
                 f"{low}.")
    return [x for x in s if x]


def _tenth(i: int, bins: int) -> str:
    names = {0: "the first tenth", bins - 1: "the last tenth"}
    return names.get(i, f"positions {i / bins:.1f}\u2013{(i + 1) / bins:.1f}")


def _example_sentence(examples: list[dict[str, Any]]) -> str | None:
    """What the drawn heatmaps show: each example's most-weighted words."""
    parts = []
    for ex in examples:
        T = len(ex["weights"])
        top = sorted(range(T), key=lambda i: -ex["weights"][i])[:3]
        words = ", ".join(f"\u201c{ex['words'][i]}\u201d ({ex['weights'][i] * T:.1f}\u00d7)"
                          for i in top if i < len(ex["words"]))
        parts.append(f"review {ex['row']} ({'positive' if ex['label'] else 'negative'}, "
                     f"p(positive) {ex['p_positive']:.2f}): {words}")
    if not parts:
        return None
    return "In the example reviews drawn below, the most-weighted words were: " + \
        "; ".join(parts) + "."


def _part_c(exp_id: str, m: dict[str, Any], results: dict[str, dict[str, Any]],
            fig_dir: Path) -> PartReport:
    comparison = results.get(COMPARISON_ID)
    perf = [_headline(exp_id, m)]
    avg = results.get(MODEL_IDS["lstm-avg"])
    after = []
    if avg and avg.get("test_accuracy") is not None:
        perf.append(ph.difference_sentence(exp_id, m, Q1B_LSTM_AVG, avg, comparison))
        if avg.get("best_epoch") and avg.get("history"):
            after.append(f"For comparison, (b)'s validation loss was lowest at epoch "
                         f"{avg['best_epoch']} of {len(avg['history'])} "
                         f"({avg['history'][avg['best_epoch'] - 1]['val_loss']:.3f}).")
    answer: list[Any] = [Paragraph(" ".join(perf + ph.curve_sentences(m) + after))]
    evidence: list[Any] = [_curves_figure(exp_id, m, fig_dir)]
    if m.get("attention"):
        evidence.append(cc.attention_table(m, avg))
    details: list[Any] = []
    a = m.get("attention")
    if a:
        answer.append(Paragraph("Behaviour. " + " ".join(_attention_sentences(a))))
        if m.get("attention_examples"):
            if (s := _example_sentence(m["attention_examples"])) is not None:
                answer.append(Paragraph(s))
            path = figures.attention_heatmaps(m["attention_examples"],
                                              fig_dir / "q1c_attention_examples.svg")
            answer.append(Figure(path, "Attention weights of the tested LSTM + attention "
                                         "model over short validation reviews. Colour: the "
                                         "weight times the review length; white = 1, the "
                                         "weight average pooling gives every word; red = "
                                         "more, blue = less."))
        # The position profile and the word table back the behaviour paragraph's numbers;
        # they go to the appendix to keep the body short.
        details.append(Heading("Attention by position and by word", level=3))
        if a.get("position_ratio"):
            path = figures.attention_positions(a, fig_dir / "q1c_attention_position.svg")
            details.append(Figure(path, "Mean attention weight times review length by "
                                        "relative position, over the test reviews (1 = "
                                        "uniform).", width_fraction=0.65))
        details.append(top_words_table(a))
    if (s := ph.twin_sentence(m)) is not None:
        answer.append(Paragraph(s))
    return PartReport(answer=answer, evidence=evidence, appendix=details,
                      overview=_overview(exp_id, m), setup=cc.setup_c(m),
                      conclusion=cc.conclusion_c(exp_id, m, results))


def _config_sentence(m: dict[str, Any]) -> str:
    c, cfg = m.get("model_config", {}), m.get("config", {})
    return (f"The model is one pre-norm transformer encoder layer: the {c.get('embed_dim')}-d "
            f"word vectors are projected to d_model {c.get('d_model')} (Linear "
            f"{c.get('embed_dim')}\u2192{c.get('d_model')}, LayerNorm, sinusoidal positions), "
            f"{c.get('n_heads')} attention heads of "
            f"{c.get('d_model', 0) // max(c.get('n_heads', 1), 1)} dimensions, a feed-forward "
            f"block of width {c.get('ff_dim')} (GELU), dropout "
            f"{c.get('dropout')} on the word + position sum, on each sub-layer's output and "
            f"before the classifier (attention-weight dropout {c.get('attention_dropout')}, "
            f"feed-forward dropout {c.get('ff_dropout')}), masked average pooling and one "
            f"linear output; Adam with learning rate {cfg.get('lr'):g} and gradient-norm "
            f"clipping at {cfg.get('grad_clip')}.")


def _length_sentence(results: dict[str, dict[str, Any]]) -> str | None:
    """Accuracy on the shortest and the longest quarter of test reviews, per result."""
    have = {i: r["length_buckets"] for i, r in results.items()
            if r and r.get("length_buckets") and i in ph.NAMES}
    if Q1D_TRANSFORMER not in have or len(have) < 2:
        return None
    b = have[Q1D_TRANSFORMER]
    e = b["edges"]
    cut = b.get("truncated_fraction") or [None] * len(b["n"])

    def at(k: int) -> str:
        return ", ".join(f"{ph.NAMES[i]} {ph.pct(x['accuracy'][k])}" for i, x in have.items())

    last = len(e) - 2
    s = (f"By review length (test-set quartiles of the token count): on the shortest quarter "
         f"({e[0]:.0f}\u2013{e[1]:.0f} tokens) {at(0)}; on the longest ({e[last]:.0f}\u2013"
         f"{e[-1]:.0f} tokens")
    if cut[last] is not None:
        s += f", {100 * cut[last]:.0f} % of them cut at the length cap"
    return s + f") {at(last)}."


def _speed_sentence(results: dict[str, dict[str, Any]]) -> str | None:
    comparison = results.get(COMPARISON_ID) or {}
    bench = comparison.get("bench")
    if bench and bench.get("rows"):
        ours = {MODEL_IDS.get(r["model"], r["model"]): r for r in bench["rows"]
                if r["mode"] == "ours"}
        return ("Speed under the same conditions (`mlsplab bench sentiment`, "
                f"{bench.get('precision')}, {count(bench.get('threads') or 0, 'thread')}, "
                f"{bench.get('n_batches_timed')} timed batches of 32): "
                + ", ".join(f"{ph.NAMES.get(i, i)} {r['ms_per_batch']:.0f} ms per batch"
                            for i, r in ours.items())
                + ".")
    rows = [(i, r) for i, r in results.items() if i in MODEL_IDS.values() and r and
            r.get("seconds_per_epoch")]
    if not rows:
        return None
    return ("Seconds per epoch of training steps, as recorded by each run (separate runs, "
            "not timed under the same conditions): " + ", ".join(
                f"{ph.NAMES[i]} {ph.duration(r['seconds_per_epoch'])} "
                f"({r.get('precision')}, {count(r.get('threads') or 0, 'thread')})"
                for i, r in rows) + ".")


def _part_d(exp_id: str, m: dict[str, Any], results: dict[str, dict[str, Any]],
            fig_dir: Path) -> PartReport:
    comparison = results.get(COMPARISON_ID)
    perf = [_headline(exp_id, m)]
    for other in (Q1B_LSTM_AVG, Q1C_LSTM_ATTENTION):
        o = results.get(other)
        if o and o.get("test_accuracy") is not None:
            perf.append(ph.difference_sentence(exp_id, m, other, o, comparison))
    answer: list[Any] = [Paragraph(_config_sentence(m)),
                         Paragraph(" ".join(perf + ph.curve_sentences(m)))]
    present = {i: results[i] for i in (*MODEL_IDS.values(), BASELINE_ID)
               if results.get(i) and results[i].get("test_accuracy") is not None}
    extra = [s for s in (_length_sentence(present), _baseline_sentence(exp_id, m, results),
                         _speed_sentence(results)) if s]
    if extra:
        answer.append(Paragraph(" ".join(extra)))
    answer.append(comparison_table(present))
    if any(r.get("length_buckets") for r in present.values()):
        path = figures.length_accuracy(present, fig_dir / "q1d_length_accuracy.svg")
        answer.append(Figure(path, "Test accuracy by review length (quartiles of the test "
                                   "reviews' token counts, before the length cap).", 0.8))
    curves = {i: r for i, r in present.items() if i in MODEL_IDS.values()}
    path = figures.all_losses(curves, fig_dir / "q1d_all_losses.svg")
    evidence: list[Any] = [
        Figure(path, "Eval-mode training loss (solid) and validation loss (dashed) per epoch "
                     "of the three IMDB models; the transformer's own curves with the "
                     "train-mode loss are in the appendix.", 0.8),
        cc.comparison_rows(present)]
    answer.append(_curves_figure(exp_id, m, fig_dir))
    return PartReport(answer=answer, evidence=evidence, overview=cc.overview_d(m, results),
                      setup=cc.setup_d(m), conclusion=cc.conclusion_d(exp_id, m, results))
