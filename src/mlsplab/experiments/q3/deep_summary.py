"""Report section of the deeper ESC-10 CNN (beyond the assignment), from ``metrics.json``.

Its five-fold test accuracy beside the assignment's CNN under the same protocol (``q3x-cv``),
the published five-fold results, its cost against the assignment's CNN, the confusion matrix
summed over the folds and the pairs of classes it still confuses, each with a sentence on why.
Every number is read from the results at report time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mlsplab.durations import format_duration
from mlsplab.experiments.q3 import figures
from mlsplab.experiments.q3.config import CV_ID
from mlsplab.experiments.q3.deep_config import DEEP_ID
from mlsplab.experiments.q3.reading import fmt_acc
from mlsplab.experiments.q3.summary_ensembles import PUBLISHED
from mlsplab.experiments.q3.summary_parts import Docs, hashes_table, present, status_of
from mlsplab.formatting import percent, points
from mlsplab.report.context import ESC10_PUBLISHED
from mlsplab.report.document import Block, Figure, Paragraph, PartReport, Table

IDS = (DEEP_ID, CV_ID)
# What each ESC-10 class sounds like on a log-mel spectrogram, and the family of sounds it
# belongs to: the basis of the sentence on why two classes are confused.
TEXTURE = {
    "dog": "short harmonic barks",
    "rooster": "a long harmonic call with a gliding pitch",
    "rain": "broadband noise made of many small impacts",
    "sea_waves": "broadband noise that swells and fades over seconds",
    "crackling_fire": "broadband noise with random sharp clicks",
    "crying_baby": "a harmonic cry with a wavering pitch",
    "sneezing": "a short noisy burst",
    "clock_tick": "regular short clicks",
    "helicopter": "a low periodic engine drone",
    "chainsaw": "a harmonic engine drone",
}
FAMILY = {"rain": "noise", "sea_waves": "noise", "crackling_fire": "noise",
          "helicopter": "engine", "chainsaw": "engine", "dog": "voice", "rooster": "voice",
          "crying_baby": "voice", "sneezing": "burst", "clock_tick": "burst"}
FAMILY_WHY = {
    "noise": ("broadband noise without a pitch, told apart mostly by how the energy comes and "
              "goes in time, the detail that pooling over time blurs"),
    "engine": "sustained drones with harmonics, told apart mostly by pitch and modulation",
    "voice": "harmonic calls with a moving pitch, alike in the bands they fill",
    "burst": "short broadband events, alike once the time between them is pooled away",
}
MAX_PAIRS = 3  # confused pairs named in the text


def confused_pairs(matrix: list[list[int]], names: list[str], k: int = MAX_PAIRS
                   ) -> list[tuple[str, str, int, int]]:
    """The ``k`` pairs of classes with the most confusions in either direction.

    Returns
    -------
    list of (class a, class b, clips of a called b, clips of b called a), most confused first;
    pairs with no confusion are left out.

    Examples
    --------
    >>> confused_pairs([[5, 2, 0], [1, 6, 0], [0, 0, 7]], ["a", "b", "c"])
    [('a', 'b', 2, 1)]
    """
    cm = np.asarray(matrix)
    pairs = [(int(cm[i, j] + cm[j, i]), i, j) for i in range(len(cm))
             for j in range(i + 1, len(cm)) if cm[i, j] + cm[j, i] > 0]
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    return [(names[i], names[j], int(cm[i, j]), int(cm[j, i])) for _, i, j in pairs[:k]]


def _name(c: str) -> str:
    return c.replace("_", " ")


def why_confused(a: str, b: str) -> str:
    """One clause on why two ESC-10 classes look alike to a log-mel CNN ("" if unknown)."""
    if a not in FAMILY or b not in FAMILY:
        return ""
    if FAMILY[a] == FAMILY[b]:
        return f"both are {FAMILY_WHY[FAMILY[a]]}"
    return f"{_name(a)} is {TEXTURE[a]} and {_name(b)} {TEXTURE[b]}"


def confusion_text(doc: dict[str, Any]) -> str:
    """The classes the model still confuses most, and why (from the summed confusion matrix)."""
    cm = np.asarray(doc["confusion_matrix"])
    names = doc["class_names"]
    recall = cm.diagonal() / np.maximum(cm.sum(axis=1), 1)
    worst = int(np.argmin(recall))
    pairs = confused_pairs(doc["confusion_matrix"], names)
    if not pairs:
        return "Over the five test folds no clip is misclassified."
    a, b, ab, ba = pairs[0]
    text = (f"Over the five test folds ({int(cm.sum())} clips) it confuses {_name(a)} and "
            f"{_name(b)} most ({ab} clips of {_name(a)} called {_name(b)}, {ba} the other way)")
    why = why_confused(a, b)
    text += f": {why}." if why else "."
    others = [f"{_name(x)} and {_name(y)} ({xy + yx} clips)" for x, y, xy, yx in pairs[1:]]
    if others:
        text += f" Next come {' and '.join(others)}."
    return (text + f" The class it recognises least often is {_name(names[worst])} "
            f"({percent(recall[worst])} of its clips).")


def comparison_text(deep: dict[str, Any], cv: dict[str, Any] | None) -> str:
    """The deeper CNN's five-fold accuracy beside the assignment's CNN and the published ones."""
    text = (f"Trained from scratch, the deeper CNN reaches {fmt_acc(deep)} test accuracy over "
            "the five folds")
    if cv is not None:
        order = cv["model_order"]
        head = cv["models"][order[0]]
        gap = deep["test_accuracy"] - head["test_accuracy"]
        per_fold = np.subtract(deep["test_accuracy_per_fold"], head["test_accuracy_per_fold"])
        text += (f", against {fmt_acc(head)} for the assignment's {head['label']} CNN under "
                 f"the same folds, seed and selection rule")
        if len(order) > 1:
            text += f" ({fmt_acc(cv['models'][order[1]])} with augmentation)"
        text += (f". That is {points(gap)}, higher on {int(np.sum(per_fold > 0))} of "
                 f"{len(per_fold)} folds")
        spread = max(deep.get("test_accuracy_std") or 0, head.get("test_accuracy_std") or 0)
        if abs(gap) <= spread:
            text += ", within the spread over folds"
    (_, cnn, _), (_, forest, _), (_, human, _) = PUBLISHED
    return (text + f". Under the same five folds Piczak's CNN reached {percent(cnn)}, a random "
            f"forest {percent(forest)} and human listeners {percent(human)} (Piczak 2015).")


def design_text(deep: dict[str, Any]) -> str:
    """What the deeper CNN changes, and its cost against the assignment's CNN."""
    d, base = deep["cost"]["deep"], deep["cost"]["assignment"]
    return (f"What changes: {len(deep['model']['channels'])} conv blocks with BatchNorm after a "
            "strided first layer, then pooling over time and frequency, so the classifier sees "
            "whether a pattern occurs in the clip, not where; the training adds mixup, random "
            "gain, time shifts, SpecAugment masks and a warm-up + cosine learning rate. It has "
            f"{d['parameters']:,} parameters against {base['parameters']:,} (no large dense "
            f"layer) and costs {d['multiply_adds'] / 1e6:.0f} M multiply-adds per clip against "
            f"{base['multiply_adds'] / 1e6:.0f} M.")


def _fold_table(deep: dict[str, Any], cv: dict[str, Any] | None) -> Table:
    others = [cv["models"][k] for k in cv["model_order"]] if cv else []
    header = ["test fold", "validation fold", "deeper CNN", "best epoch",
              *[m["label"] for m in others]]
    rows = []
    for i, f in enumerate(deep["folds"]):
        rows.append([str(f["test_fold"]), str(f["val_fold"]), percent(f["test_accuracy"]),
                     str(f["best_epoch"]), *[percent(m["test_accuracy_per_fold"][i])
                                             for m in others]])
    rows.append(["mean ± std", "", fmt_acc(deep), "", *[fmt_acc(m) for m in others]])
    return Table(header, rows, caption="Five-fold cross-validation: test accuracy of each "
                                       "fold at the lowest-validation-loss epoch.")


def _summary_table(deep: dict[str, Any], cv: dict[str, Any] | None) -> Table:
    """Test accuracy by test fold, one row per model (the body's table)."""
    models = [("deeper CNN", deep)] + ([(cv["models"][k]["label"], cv["models"][k])
                                       for k in cv["model_order"]] if cv else [])
    folds = [str(f["test_fold"]) for f in deep["folds"]]
    rows = [[label, *[percent(a) for a in m["test_accuracy_per_fold"]], fmt_acc(m)]
            for label, m in models]
    return Table(["model", *[f"fold {f}" for f in folds], "mean ± std"], rows,
                 caption="Five-fold test accuracy, each fold at its lowest-validation-loss epoch.")


def _published_table() -> Table:
    return Table(["published five-fold result", "accuracy", "source"],
                 [list(row) for row in ESC10_PUBLISHED],
                 caption="Published ESC-10 results under the same five folds.")


def _cost_table(deep: dict[str, Any]) -> Table:
    d, base = deep["cost"]["deep"], deep["cost"]["assignment"]
    walls = deep.get("wall_seconds_per_fold") or []
    rows = [["parameters", f"{d['parameters']:,}", f"{base['parameters']:,}"],
            ["multiply-adds per clip (forward)", f"{d['multiply_adds'] / 1e6:.1f} M",
             f"{base['multiply_adds'] / 1e6:.1f} M"]]
    if walls:
        mean = format_duration(float(np.mean(walls)))
        spread = f"{format_duration(min(walls))} to {format_duration(max(walls))}"
        rows.append(["wall time per fold (training + evaluation)",
                     f"{mean} (mean of {len(walls)}; {spread})", "\u2014"])
    return Table(["", "deeper CNN", "assignment's CNN"], rows,
                 caption=f"Cost ({deep['cost']['counting']}); wall time: one thread per "
                         "training, on the shared machine as each fold ran (the load varied).")


def setup_text(deep: dict[str, Any]) -> str:
    """What was run, in about two lines (the details are in the settings table)."""
    return ("A deeper CNN trained from scratch with mixup, random gain, time shifts, SpecAugment "
            "masks and a warm-up + cosine learning rate, under the same five folds; its recipe "
            "was chosen on validation folds.")


def conclusion_text(deep: dict[str, Any], cv: dict[str, Any] | None) -> str:
    """Mechanism, the measurement that supports it, what it does not show."""
    s = [("Pooling over time and frequency asks whether a pattern occurs rather than where, "
          "and augmentation shows the network new versions of its few hundred clips each "
          "epoch, curbing overfitting.")]
    if cv is not None:
        head = cv["models"][cv["model_order"][0]]
        gap = deep["test_accuracy"] - head["test_accuracy"]
        per_fold = np.subtract(deep["test_accuracy_per_fold"], head["test_accuracy_per_fold"])
        higher = int(np.sum(per_fold > 0))
        spread = max(deep.get("test_accuracy_std") or 0, head.get("test_accuracy_std") or 0)
        verdict = ("within the spread over folds, so the folds do not separate the two"
                   if abs(gap) <= spread else "beyond the spread over folds")
        s.append(f"Over the five folds it reaches {fmt_acc(deep)} against {fmt_acc(head)} for "
                 f"the assignment's CNN ({points(gap)}), higher on {higher} of {len(per_fold)} "
                 f"folds, {verdict}.")
    cnn = PUBLISHED[0][1]
    s.append(f"It is one seed of one recipe, and Piczak's CNN ({percent(cnn)}) used another "
             "front end: context, not a ranking.")
    return " ".join(s)


def part_report(part_key: str, results: Docs, out: Path, fig_dir: Path) -> PartReport:
    """The deeper CNN's section: answer, per-fold table, cost, confusion matrix."""
    fig_dir = Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    docs = present(results, IDS)
    if DEEP_ID not in docs:
        return PartReport(status=status_of(docs, IDS))
    deep, cv = docs[DEEP_ID], docs.get(CV_ID)
    answer: list[Block] = [Paragraph(comparison_text(deep, cv)), Paragraph(design_text(deep)),
                           Paragraph(confusion_text(deep))]
    rows = [("deeper CNN", deep["test_accuracy"], deep["test_accuracy_std"],
             deep["test_accuracy_per_fold"])]
    if cv is not None:
        rows += [(cv["models"][k]["label"], cv["models"][k]["test_accuracy"],
                  cv["models"][k]["test_accuracy_std"], cv["models"][k]["test_accuracy_per_fold"])
                 for k in cv["model_order"]]
    bars = figures.accuracy_bars(fig_dir / "q3x_deep_cv.svg", rows,
                                 references=[(f"{n} {100 * v:.1f} %", v) for n, v, _ in PUBLISHED])
    conf = figures.confusion(fig_dir / "q3x_deep_confusion.svg", deep["confusion_matrix"],
                             deep["class_names"], label="clips, summed over the five folds")
    evidence: list[Block] = [
        Figure(bars, "Five-fold cross-validation: mean ± std over folds (bars), each fold "
                     "(dots); vertical lines: published five-fold results (Piczak 2015)."),
        _fold_table(deep, cv), _published_table(), _cost_table(deep),
        Figure(conf, "Deeper CNN: confusion matrix summed over the five test folds (every "
                     "ESC-10 clip once).", 0.7)]
    m = deep["model"]
    model = (f"stem conv 3x3 stride 2 ({m['stem_channels']} channels), blocks "
             f"{', '.join(map(str, m['channels']))} x {m['convs_per_block']} conv, "
             f"dropout {m['dropout']:g}")
    optimizer = (f"{m['optimizer']}, peak lr {m['lr']:g}, weight decay {m['weight_decay']:g}, "
                 f"{m['schedule']}")
    augment = ", ".join(f"{k} {v:g}" for k, v in deep["config"]["augment"].items())
    protocol = (f"q3x-cv's folds (test k, validation k-1), seed {deep['seed']}, "
                f"{deep['epochs']} epochs, the lowest-validation-loss epoch tested; recipe and "
                "horizon chosen by a pilot on validation folds 4 and 5 (the test folds of two "
                "other splits), never on a test score")
    settings = [("model", model), ("optimizer", optimizer),
                ("augmentation", f"mixup alpha {m['mixup']:g}; {augment}"),
                ("protocol", protocol)]
    overview = f"deeper CNN, five-fold {fmt_acc(deep)}"
    if cv is not None:
        overview += f" (assignment's CNN {fmt_acc(cv['models'][cv['model_order'][0]])})"
    # a model answer: set-up and a conclusion that gives the means; the per-fold table, the
    # detailed reading and the figures open the part's appendix
    appendix = [_summary_table(deep, cv), *evidence, hashes_table(docs)]
    return PartReport(answer, [], settings, appendix, overview, status_of(docs, IDS), [],
                      setup=setup_text(deep), conclusion=conclusion_text(deep, cv))
