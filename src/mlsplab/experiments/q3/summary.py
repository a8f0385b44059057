"""Q3's report sections, generated at report time from ``metrics.json`` (no retraining).

``part_report(part_key, results, out, fig_dir)`` builds parts q3a, q3b, q3c and q3x: the answer
(prose with the numbers, read from the recorded curves and scores), the evidence (figures drawn
now, tables), the settings as run, an appendix (per-seed tables, hashes, hosts), the overview
line, the status and the deviations. Ensembles and the part beyond the assignment are in
:mod:`mlsplab.experiments.q3.summary_ensembles`.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

from mlsplab.experiments.ids import (
    Q3A_RMSPROP,
    Q3B_BATCHNORM,
    Q3B_LAYERNORM,
    Q3B_NONE,
)
from mlsplab.experiments.q3 import conclusions as cq
from mlsplab.experiments.q3 import figures, summary_ensembles
from mlsplab.experiments.q3.config import (
    GROUPS,
    NORM_NAMES,
    PILOT_DIR,
)
from mlsplab.experiments.q3.reading import (
    beyond_spread,
    common_level,
    curve_reading,
    epochs_to_reach,
    fmt_acc,
    fmt_loss,
    last_gap,
    predicted_classes,
)
from mlsplab.experiments.q3.summary_parts import (
    EXTRA,
    Docs,
    deviations,
    hashes_table,
    label_of,
    optimizer_text,
    per_seed_table,
    present,
    settings_rows,
    shared_settings,
    status_of,
)
from mlsplab.formatting import count, percent, points
from mlsplab.io import read_json
from mlsplab.report.document import Block, Figure, Paragraph, PartReport, Table


def part_report(part_key: str, results: Docs, out: Path, fig_dir: Path) -> PartReport:
    """The report section of one Q3 part (``q3a``, ``q3b``, ``q3c`` or ``q3x``)."""
    builders = {"q3a": optimizers_report, "q3b": norms_report,
                "q3c": summary_ensembles.ensemble_report, "q3x": summary_ensembles.beyond_report}
    if part_key not in builders:
        raise KeyError(f"no Q3 part {part_key!r}; expected one of {list(builders)}")
    fig_dir.mkdir(parents=True, exist_ok=True)
    return builders[part_key](results, Path(out), Path(fig_dir))


def scores_table(docs: Docs, caption: str) -> Table:
    """Mean ± std over seeds at the best-validation epoch and at the last epoch."""
    rows = [[label_of(d), fmt_acc(d, "val_accuracy"), fmt_acc(d), fmt_acc(d, "test_accuracy_last"),
             ", ".join(map(str, d["best_epochs"]))] for d in docs.values()]
    return Table(["configuration", "validation acc", "test acc (best-val epoch)",
                  "test acc (last epoch)", "best epochs"], rows, caption=caption)


# ------------------------------------------------------------------------------------------
# Q3(a) and Q3(b)

def _ranking(docs: Docs, what: str) -> str:
    """Configurations by mean test accuracy, with whether neighbours differ beyond the spread."""
    order = sorted(docs, key=lambda i: -docs[i]["test_accuracy"])
    parts = [f"{label_of(docs[i])} {fmt_acc(docs[i])}" for i in order]
    close = [f"{label_of(docs[a])} and {label_of(docs[b])}" for a, b in itertools.pairwise(order)
             if not beyond_spread(docs[a], docs[b])]
    n_seeds = len(docs[order[0]].get("seeds", []))
    text = (f"Ranked by test accuracy at each seed's lowest-validation-loss epoch (mean ± std "
            f"over {count(n_seeds, 'seed')}, "
            f"{docs[order[0]]['epochs']} epochs each): "
            + ", ".join(parts) + ".")
    if close:
        pairs = "; ".join(f"{pair} is within the larger seed std" for pair in close)
        text += (f" The gap between {pairs}, so those {what} are not told apart by this test "
                 "fold.")
    last = sorted(docs, key=lambda i: -docs[i]["test_accuracy_last"])
    text += " At the last epoch: " + ", ".join(
        f"{label_of(docs[i])} {fmt_acc(docs[i], 'test_accuracy_last')}" for i in last) + "."
    return text


def _speed(docs: Docs) -> str:
    """Epochs each configuration needs to reach a validation loss all that learned reach."""
    level = common_level(docs)
    text = ""
    if math.isfinite(level):
        reach = {i: epochs_to_reach(d, level) for i, d in docs.items()}
        parts = [f"{label_of(docs[i])} {'never' if e is None else f'epoch {e}'}"
                 for i, e in sorted(reach.items(), key=lambda kv: (kv[1] is None, kv[1] or 0))]
        text = (f"Speed: the mean validation loss first reaches {fmt_loss(level)} (the highest "
                f"of the lowest values of the configurations that learned) at: "
                f"{', '.join(parts)}. ")
    lows = ", ".join(f"{label_of(d)} {fmt_loss(min(d['mean_curves']['val_loss']))} (epoch "
                     f"{curve_reading(d)['min_val_epoch']})" for d in docs.values())
    gaps = ", ".join(f"{label_of(d)} {fmt_gap(last_gap(d))}" for d in docs.values())
    n_train = next(iter(docs.values())).get("split_sizes", {}).get("train", "the")
    return (text + f"Lowest mean validation loss: {lows}. At the last epoch, validation minus "
            f"training loss: {gaps}; a large positive gap is overfitting of the {n_train} "
            "training clips.")


def _rmsprop_text(docs: Docs) -> str:
    """What torch's default RMSprop did, read from its curves, and the lr-0.001 extra."""
    d = docs[Q3A_RMSPROP]
    r = curve_reading(d)
    peak = (f", highest {fmt_loss(r['max_train_loss'])} at epoch {r['max_epoch']}"
            if r["max_epoch"] not in (1, r["epochs"]) else "")
    per_seed = d.get("confusion_matrix_last_per_seed", [d["confusion_matrix_last"]])
    n_pred = ", ".join(str(predicted_classes(cm)) for cm in per_seed)
    text = (f"RMSprop with torch's default parameters ({optimizer_text(d)}) {r['verdict']}: "
            f"mean training loss {fmt_loss(r['first_train_loss'])} after epoch 1{peak}, then "
            f"{fmt_loss(r['last_train_loss'])} at epoch {r['epochs']} (the chance level, "
            f"ln {r['n_classes']}, is {r['chance_loss']:.2f}); validation accuracy "
            f"{percent(r['last_val_accuracy'])} at the last epoch (its std over the last "
            f"epochs {100 * r['late_val_accuracy_std']:.1f} points per seed); at the last "
            f"epoch the model of each seed predicts {n_pred} distinct class(es) over the "
            f"{d['split_sizes']['test']} test clips.")
    if EXTRA in docs:
        e = docs[EXTRA]
        x = curve_reading(e)
        text += (f" The extra run with lr 0.001 {x['verdict']}: training loss "
                 f"{fmt_loss(x['first_train_loss'])} after epoch 1 and "
                 f"{fmt_loss(x['last_train_loss'])} at the last, test accuracy {fmt_acc(e)} "
                 f"against {fmt_acc(d)} at the default lr.")
    return text


def fmt_gap(x: float) -> str:
    """A signed loss difference: ``+1.33``, or in powers of ten when large."""
    return f"{x:+.2f}" if abs(x) < 100 else fmt_loss(x)


def _norm_effects(docs: Docs) -> str:
    """What each norm changes against no norm, in measured terms."""
    base = docs.get(Q3B_NONE)
    if base is None:
        return ""
    b = curve_reading(base)
    parts = []
    for exp_id in (Q3B_LAYERNORM, Q3B_BATCHNORM):
        if exp_id not in docs:
            continue
        d, r = docs[exp_id], curve_reading(docs[exp_id])
        parts.append(
            f"{NORM_NAMES[d['norm']]} changes the test accuracy by "
            f"{points(d['test_accuracy'] - base['test_accuracy'])} (last epoch "
            f"{points(d['test_accuracy_last'] - base['test_accuracy_last'])}), the lowest mean "
            f"validation loss by {fmt_gap(r['min_val_loss'] - b['min_val_loss'])} (reached at "
            f"epoch {r['min_val_epoch']} instead of {b['min_val_epoch']}), the last epoch's "
            f"validation-minus-training gap by {fmt_gap(last_gap(d) - last_gap(base))}, and the "
            f"seed std of the test accuracy from {100 * base['test_accuracy_std']:.1f} to "
            f"{100 * d['test_accuracy_std']:.1f} points")
    return "Against no norm: " + "; ".join(parts) + "." if parts else ""


def optimizers_report(results: Docs, out: Path, fig_dir: Path) -> PartReport:
    """Q3(a): SGD, SGD with momentum, RMSprop (defaults, and lr 0.001 as an extra), Adam."""
    docs = present(results, GROUPS["q3a"])
    asked = {i: d for i, d in docs.items() if i != EXTRA}
    answer: list[Block] = [Paragraph(_ranking(asked, "optimizers"))]
    if Q3A_RMSPROP in docs:
        answer.append(Paragraph(_rmsprop_text(docs)))
    answer.append(Paragraph(_speed(docs)))
    fig = figures.loss_curves(fig_dir / "q3a_losses.svg", {label_of(d): d for d in docs.values()})
    evidence: list[Block] = [
        Figure(fig, "Q3(a): training (left) and validation (right) cross-entropy per epoch of "
                    "each optimizer, mean over seeds, the range over seeds shaded; no norm."),
        scores_table(docs, "Q3(a): accuracy per optimizer, mean ± std over seeds.")]
    settings = [*shared_settings(results), *settings_rows(next(iter(docs.values())))[4:],
                *[(f"optimizer: {label_of(d)}", optimizer_text(d)) for d in docs.values()]]
    return PartReport(answer, evidence, settings, _appendix(docs, out, "Q3(a)"),
                      cq.overview_a(docs), status_of(docs, GROUPS["q3a"]), deviations(docs),
                      setup=cq.setup_a(docs), conclusion=cq.conclusion_a(docs))


def norms_report(results: Docs, out: Path, fig_dir: Path) -> PartReport:
    """Q3(b): no norm, LayerNorm and BatchNorm, all with Adam."""
    docs = present(results, GROUPS["q3b"])
    answer: list[Block] = [Paragraph(_ranking(docs, "normalizations"))]
    if effects := _norm_effects(docs):
        answer.append(Paragraph(effects))
    answer.append(Paragraph(_speed(docs)))
    spread = ", ".join(f"{label_of(d)} {100 * d['test_accuracy_std']:.1f}" for d in docs.values())
    clip = 100 / next(iter(docs.values()))["split_sizes"]["test"]
    answer.append(Paragraph(f"Spread over seeds (std of the test accuracy, points): {spread}; "
                            f"one test clip is {clip:.2f} points."))
    fig = figures.loss_curves(fig_dir / "q3b_losses.svg", {label_of(d): d for d in docs.values()})
    evidence: list[Block] = [
        Figure(fig, "Q3(b): training (left) and validation (right) cross-entropy per epoch with "
                    "no norm, LayerNorm and BatchNorm (Adam), mean over seeds, range shaded."),
        scores_table(docs, "Q3(b): accuracy per normalization, mean ± std over seeds.")]
    appendix = _appendix(docs, out, "Q3(b)")
    if Q3B_BATCHNORM in docs:
        d = docs[Q3B_BATCHNORM]
        path = figures.confusion(fig_dir / "q3b_confusion.svg", d["confusion_matrix"],
                                 d["class_names"], label="test clips, summed over seeds")
        appendix.insert(0, Figure(path, "Adam/BatchNorm: test confusion matrix at the lowest-"
                                        "validation-loss epoch, summed over the seeds (rows "
                                        "true class, columns predicted).", 0.7))
    placement = ("LayerNorm or BatchNorm1d at the flattened conv output and at the inputs of "
                 "the second FC-128 layer and the output layer (three norms; see the "
                 "deviations)")
    settings = [*shared_settings(results), ("normalization (Q3 b)", placement),
                ("optimizer (Q3 b)", "Adam, " + optimizer_text(next(iter(docs.values()))))]
    top = max(docs, key=lambda i: docs[i]["test_accuracy"])
    others = ", ".join(f"{label_of(docs[i])} {fmt_acc(docs[i])}" for i in docs if i != top)
    overview = cq.overview_b(docs) or f"{label_of(docs[top])} {fmt_acc(docs[top])} test; {others}"
    return PartReport(answer, evidence, settings, appendix, overview,
                      status_of(docs, GROUPS["q3b"]), deviations(docs) + [cq.THIRD_NORM],
                      setup=cq.setup_b(docs), conclusion=cq.conclusion_b(docs))


def _appendix(docs: Docs, out: Path, part: str) -> list[Block]:
    blocks: list[Block] = [per_seed_table(docs, f"{part}: every training (best = lowest "
                                                "validation loss)."), hashes_table(docs)]
    pilot = out / PILOT_DIR / "metrics.json"
    if part == "Q3(a)" and pilot.exists():
        blocks.append(Paragraph(pilot_text(read_json(pilot))))
    return blocks


def pilot_text(doc: dict[str, Any]) -> str:
    """How the horizon was chosen, from the pilot's recorded curves."""
    parts = []
    for key, choice in doc["choices"].items():
        text = f"{key}: smoothed validation loss lowest at epoch {choice['smoothed_min_epoch']}"
        if "accuracy_gain_after_horizon" in choice:
            gain = points(choice["accuracy_gain_after_horizon"])
            text += f", smoothed validation accuracy {gain} at most after epoch {doc['horizon']}"
        parts.append(text)
    return (f"Horizon pilot (seed {doc['seed']}, {doc['epochs']} epochs each, no early "
            f"stopping): {'; '.join(parts)}. Rule: the epoch of the lowest "
            f"{doc['choices'][doc['slowest']]['window']}-epoch moving average of the slowest "
            f"learner's validation loss, rounded up to a multiple of "
            f"{doc['choices'][doc['slowest']]['round_to']}, at least "
            f"{doc['choices'][doc['slowest']]['min_epochs']}: {doc['horizon']} epochs.")
