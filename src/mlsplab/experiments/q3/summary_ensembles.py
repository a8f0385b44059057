"""Report sections of Q3(c) (ensembles) and of the part beyond the assignment (augmentation,
ensembles with it, five-fold cross-validation), generated from ``metrics.json`` at report time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlsplab.experiments.ids import Q3_BEYOND_IDS, Q3A_SGD, Q3B_BATCHNORM, Q3X_AUGMENTED
from mlsplab.experiments.q3 import conclusions as cq
from mlsplab.experiments.q3 import figures
from mlsplab.experiments.q3.config import BEYOND_ENSEMBLE_ID, CV_ID, ENSEMBLE_ID
from mlsplab.experiments.q3.reading import fmt_acc
from mlsplab.experiments.q3.summary_parts import (
    Docs,
    deviations,
    hashes_table,
    label_of,
    per_seed_table,
    present,
    shared_settings,
    status_of,
)
from mlsplab.formatting import count, percent, points
from mlsplab.report.document import Block, Figure, Paragraph, PartReport, Table

METHOD_NAMES = {"average": "posterior averaging", "optimal-weights": "optimal linear weights",
                "least-squares": "least-squares weights"}
# Published five-fold ESC-10 results, as context for q3x-cv (same folds, other models).
PICZAK_CNN = ("Piczak CNN", 0.805, ("Piczak, \u201cEnvironmental sound classification with "
                                     "convolutional neural networks\u201d, IEEE MLSP 2015"))
PICZAK_RF = ("random forest", 0.727, ("Piczak, \u201cESC: Dataset for environmental sound "
                                      "classification\u201d, ACM MM 2015"))
HUMAN = ("human", 0.957, "Piczak, ACM MM 2015")
PUBLISHED = (PICZAK_CNN, PICZAK_RF, HUMAN)


def _pts(entry: dict[str, Any], key: str) -> str:
    """A change in points, ± its std over seeds when there are several; a change smaller than
    its std is said to be no measurable change."""
    std = entry.get(f"{key}_std") if len(entry.get(f"{key}_per_seed", [])) > 1 else None
    if std is None:
        std = entry.get(f"{key}_std")
    text = points(entry[key] / 100)
    if std is None:
        return text
    text = text.replace(" points", f" ± {std:.1f} points")
    return text if abs(entry[key]) > std else f"no measurable change ({text})"


def _members_text(doc: dict[str, Any]) -> str:
    m = doc["methods"]
    return ", ".join(f"{n} {fmt_acc(m[n])}" for n in doc["members"])


def ensemble_answer(doc: dict[str, Any]) -> list[Block]:
    """Q3(c)'s answer: members, the validation-chosen headline, gains, agreement, weights."""
    m, head = doc["methods"], doc["headline_method"]
    other = next(k for k in ("average", "optimal-weights") if k != head)
    h, o, ls = m[head], m[other], m["least-squares"]
    n_test = doc["split_sizes"]["test"]
    a = doc["agreement"]
    weights = ", ".join(f"{n} {w:.2f}" for n, w in zip(doc["members"],
                                                          m["optimal-weights"]["weights_mean"]))
    gain = h["gain_vs_member_chosen_on_val_points"]
    verdict = ("more than" if abs(gain) > 100 / n_test else "at most") + " one test clip"
    blocks: list[Block] = [
        Paragraph(f"Members, each tested at its lowest-validation-loss epoch (mean ± std over "
                  f"{count(len(doc['seeds']), 'seed')}): {_members_text(doc)}. The headline "
                  "ensemble is "
                  f"chosen by out-of-fold validation accuracy between the two combinations the "
                  f"assignment asks for: {METHOD_NAMES[head]}, {fmt_acc(h)} test (out-of-fold "
                  f"validation {fmt_acc(h, 'val_accuracy_oof')}); {METHOD_NAMES[other]} "
                  f"{fmt_acc(o)} test (out-of-fold validation {fmt_acc(o, 'val_accuracy_oof')}); "
                  f"unconstrained least-squares weights, for comparison, {fmt_acc(ls)}."),
        Paragraph(f"Gain of the headline over the member with the best validation accuracy of "
                  f"the same seed: {_pts(h, 'gain_vs_member_chosen_on_val_points')}, "
                  f"{verdict} ({100 / n_test:.2f} points); over the best member on test (picked "
                  f"with the test fold, so an optimistic single model): "
                  f"{_pts(h, 'gain_vs_best_member_on_test_points')}; over the members' mean: "
                  f"{_pts(h, 'gain_vs_mean_member_points')}."),
        Paragraph(f"Why: the members give the same class on {percent(a['all_agree'])} of the "
                  f"test clips (mean over seeds), and that shared answer is right "
                  f"{percent(a.get('accuracy_when_all_agree'))} of the time; on the clips where "
                  f"they disagree the members are right {percent(a.get('accuracy_when_not'))} "
                  f"on average and the headline ensemble "
                  f"{percent(h.get('test_accuracy_where_members_disagree'))}; at least one "
                  f"member is right on {percent(a['oracle_accuracy'])} of all test clips (the "
                  f"most any combination could reach). Optimal weights (mean over seeds): "
                  f"{weights}. Fitted on all validation clips they score "
                  f"{fmt_acc(m['optimal-weights'], 'val_accuracy')} there, against "
                  f"{fmt_acc(m['optimal-weights'], 'val_accuracy_oof')} out of fold: the "
                  "weights minimise the validation cross-entropy, not the accuracy, so the "
                  "in-sample accuracy need not be the higher one. The choice between methods "
                  "reads the out-of-fold figure, which does not reward fitting the validation "
                  "clips."),
        Paragraph(_gain_comment(doc))]
    if "variant" in doc:
        v = doc["variant"]
        vh = v["methods"][v["headline_method"]]
        blocks.append(Paragraph(
            f"With RMSprop/LayerNorm at lr 0.001 instead of torch's default (the variant "
            f"reported beside): members {_members_text(v)}; headline by the same rule "
            f"{METHOD_NAMES[v['headline_method']]}, {fmt_acc(vh)} test, "
            f"{_pts(vh, 'gain_vs_member_chosen_on_val_points')} over the member chosen on "
            "validation."))
    return blocks


def _gain_comment(doc: dict[str, Any]) -> str:
    """The comment on the gains the assignment asks for, from the measured numbers."""
    m, head = doc["methods"], doc["headline_method"]
    h = m[head]
    gain = h["gain_vs_member_chosen_on_val_points"]
    clip = 100 / doc["split_sizes"]["test"]
    w = m["optimal-weights"]["weights_mean"]
    top = max(range(len(w)), key=w.__getitem__)
    text = (f"Comment on the gains: against the single model one would pick without the test "
            f"fold, the headline changes the test accuracy by {points(gain / 100)}, ")
    text += ("less than one test clip" if abs(gain) < clip else
             f"{abs(gain) / clip:.1f} test clips")
    accs = [m[n]["test_accuracy"] for n in doc["members"]]
    text += (f"; over the members' mean it gains {points(h['gain_vs_mean_member_points'] / 100)},"
             f" against members between {percent(min(accs))} and {percent(max(accs))}. The "
             f"optimal weights give {doc['members'][top]} {w[top]:.2f} of the mass (mean over "
             f"seeds); plain averaging (1/3 each) reaches {fmt_acc(m['average'])}.")
    return text


def _ensemble_table(doc: dict[str, Any], caption: str) -> Table:
    m = doc["methods"]
    rows = [[n, fmt_acc(m[n], "val_accuracy"), "\u2014", fmt_acc(m[n]), "\u2014"]
            for n in doc["members"]]
    rows += [[METHOD_NAMES[k] + (" (chosen on validation)" if k == doc["headline_method"]
                                 else ""),
              fmt_acc(m[k], "val_accuracy"), fmt_acc(m[k], "val_accuracy_oof"), fmt_acc(m[k]),
              ", ".join(f"{w:.2f}" for w in m[k]["weights_mean"])]
             for k in METHOD_NAMES]
    return Table(["model", "validation acc", "val acc, out of fold", "test acc",
                  "weights (mean)"], rows, caption=caption)


def ensemble_report(results: Docs, out: Path, fig_dir: Path) -> PartReport:
    """Q3(c): the three members, averaging and optimal weights, and what ensembling changes."""
    doc = results[ENSEMBLE_ID]
    m = doc["methods"]
    rows = [(n, m[n]["test_accuracy"], m[n]["test_accuracy_std"], m[n]["test_accuracy_per_seed"])
            for n in doc["members"]]
    rows += [(f"ensemble: {METHOD_NAMES[k]}", m[k]["test_accuracy"], m[k]["test_accuracy_std"],
              m[k]["test_accuracy_per_seed"]) for k in METHOD_NAMES]
    bars = figures.accuracy_bars(fig_dir / "q3c_accuracy.svg", rows)
    head = doc["headline_method"]
    cm = _summed(m[head]["confusion_matrix_per_seed"])
    conf = figures.confusion(fig_dir / "q3c_confusion.svg", cm, doc["class_names"],
                             label="test clips, summed over seeds")
    evidence: list[Block] = [
        _ensemble_table(doc, "Q3(c): members and ensembles, mean ± std over seeds; weights "
                             "fitted on the validation fold.")]
    bars_figure = Figure(bars, "Q3(c): test accuracy of the three members and of the "
                               "ensembles, mean ± std over seeds (bars) and each seed (dots).")
    confusion = Figure(conf, f"Q3(c): test confusion matrix of the headline ensemble "
                             f"({METHOD_NAMES[head]}), summed over seeds (rows true class, "
                             "columns predicted).", 0.7)
    fits = ("average: 1/3 each; optimal: simplex weights minimising the validation "
            "cross-entropy of the mixture (SLSQP); least squares: unconstrained, fitted to one-hot "
            "labels")
    rule = (f"highest out-of-fold validation accuracy ({doc['config'].get('weight_cv_folds', 5)}"
            "-fold over the validation clips), then lower out-of-fold cross-entropy, between "
            "averaging and optimal weights")
    settings = [*shared_settings(results), ("ensemble members", ", ".join(f"{n} (lr {doc['lr'][n]:g})"
                                               for n in doc["members"])),
                ("ensemble weights", fits), ("headline rule", rule)]
    h = m[head]
    overview = (f"{METHOD_NAMES[head]} (chosen on validation) {fmt_acc(h)} test, "
                f"{_pts(h, 'gain_vs_member_chosen_on_val_points')} over the member chosen on "
                "validation")
    members = present(results, (Q3A_SGD, Q3B_BATCHNORM))
    # the table in the body holds the bars' means; the figure adds each seed: appendix
    appendix: list[Block] = [bars_figure, confusion, _per_seed_ensembles(doc)]
    if members:
        appendix.append(per_seed_table(members, "Q3(c): members trained for Q3(a)/(b)."))
    appendix.append(hashes_table({ENSEMBLE_ID: doc}))
    return PartReport(ensemble_answer(doc), evidence, settings, appendix,
                      cq.overview_c(doc) or overview,
                      status_of({ENSEMBLE_ID: doc}, (ENSEMBLE_ID,)), deviations({ENSEMBLE_ID: doc}),
                      setup=cq.setup_c(doc), conclusion=cq.conclusion_c(doc))


def _summed(matrices: list[list[list[int]]]) -> list[list[int]]:
    total = [[0] * len(matrices[0]) for _ in matrices[0]]
    for cm in matrices:
        for r, row in enumerate(cm):
            for c, v in enumerate(row):
                total[r][c] += v
    return total


def _per_seed_ensembles(doc: dict[str, Any]) -> Table:
    m = doc["methods"]
    rows = []
    for i, seed in enumerate(doc["seeds"]):
        for k, name in METHOD_NAMES.items():
            rows.append([str(seed), name, percent(m[k]["val_accuracy_oof_per_seed"][i]),
                         percent(m[k]["test_accuracy_per_seed"][i]),
                         ", ".join(f"{w:.2f}" for w in m[k]["weights_per_seed"][i])])
    return Table(["seed", "method", "val acc, out of fold", "test acc", "weights"], rows,
                 caption="Q3(c): every seed's ensembles.")


# ------------------------------------------------------------------------------------------
# beyond the assignment

def _augmented_text(aug: dict[str, Any], base: dict[str, Any] | None) -> str:
    text = (f"Augmentation (random time shift and SpecAugment-style masks) of the Adam/BatchNorm "
            f"CNN: {fmt_acc(aug)} test at the lowest-validation-loss epoch, "
            f"{fmt_acc(aug, 'test_accuracy_last')} at the last")
    if base is not None:
        text += (f"; without augmentation {fmt_acc(base)} (validation "
                 f"{points(aug['val_accuracy'] - base['val_accuracy'])}, test "
                 f"{points(aug['test_accuracy'] - base['test_accuracy'])})")
    return text + "."


def _beyond_ensemble_text(doc: dict[str, Any], q3c: dict[str, Any] | None) -> str:
    head = doc["headline"]
    text = (f"Ensembles with the augmented models: {len(doc['candidates'])} candidates "
            f"(3 member families x 3 weightings); the one with the highest out-of-fold "
            f"validation accuracy is {head['name']} ({head['n_models']} models): "
            f"{fmt_acc(doc)} test, out-of-fold validation {fmt_acc(doc, 'val_accuracy_oof')}")
    if q3c is not None:
        text += f"; {points(doc['test_accuracy'] - q3c['test_accuracy'])} against Q3(c)'s headline"
    return text + "."


def cv_text(doc: dict[str, Any]) -> str:
    """Five-fold results of each model beside the published five-fold figures."""
    parts = []
    for key in doc["model_order"]:
        m = doc["models"][key]
        folds = ", ".join(f"{100 * a:.1f}" for a in m["test_accuracy_per_fold"])
        parts.append(f"{m['label']} {fmt_acc(m)} (folds 1\u20135: {folds}; last epoch "
                     f"{fmt_acc(m, 'test_accuracy_last')})")
    published = ", ".join(f"{name} {percent(v)} ({src})" for name, v, src in PUBLISHED)
    return (f"Five-fold cross-validation (each fold tested once, validated on the fold before "
            f"it, trained on the other three; seed {doc['seed']}, {doc['epochs']} epochs, tested "
            f"at the lowest-validation-loss epoch): " + "; ".join(parts) + ". The same protocol's "
            f"published ESC-10 results: {published}. The assignment's single split above stays "
            "the headline of Q3.")


def _cv_evidence(doc: dict[str, Any], fig_dir: Path) -> tuple[list[Block], Figure]:
    """The figure and per-fold table, and the summed confusion matrix (all in the appendix)."""
    rows = [(doc["models"][k]["label"], doc["models"][k]["test_accuracy"],
             doc["models"][k]["test_accuracy_std"], doc["models"][k]["test_accuracy_per_fold"])
            for k in doc["model_order"]]
    bars = figures.accuracy_bars(fig_dir / "q3x_cv.svg", rows,
                                 references=[(f"{n} {100 * v:.1f} %", v) for n, v, _ in PUBLISHED])
    table = Table(["test fold", "validation fold", *[doc["models"][k]["label"]
                                                     for k in doc["model_order"]]],
                  [[str(f["test_fold"]), str(f["val_fold"]),
                    *[percent(doc["models"][k]["folds"][i]["test_accuracy"])
                      for k in doc["model_order"]]]
                   for i, f in enumerate(doc["models"][doc["model_order"][0]]["folds"])],
                  caption="Five-fold cross-validation: test accuracy of each fold.")
    first = doc["models"][doc["model_order"][0]]
    conf = figures.confusion(fig_dir / "q3x_cv_confusion.svg", first["confusion_matrix"],
                             doc["class_names"], label="clips, summed over the five folds")
    caption = ("Five-fold cross-validation: mean ± std over folds (bars), each fold (dots); "
               "vertical lines: the published five-fold results named in the legend (Piczak "
               "2015).")
    return ([Figure(bars, caption), table],
            Figure(conf, f"{first['label']}: confusion matrix summed over the five test folds "
                         "(every ESC-10 clip once).", 0.7))


def beyond_report(results: Docs, out: Path, fig_dir: Path) -> PartReport:
    """Beyond Q3: augmentation, ensembles with it, and five-fold cross-validation."""
    docs = present(results, Q3_BEYOND_IDS)
    answer: list[Block] = []
    evidence: list[Block] = []
    if Q3X_AUGMENTED in docs:
        aug, base = docs[Q3X_AUGMENTED], results.get(Q3B_BATCHNORM)
        answer.append(Paragraph(_augmented_text(aug, base)))
        curves = {label_of(aug): aug, **({label_of(base): base} if base else {})}
        evidence.append(Figure(figures.loss_curves(fig_dir / "q3x_augmented_losses.svg", curves),
                               "Adam/BatchNorm with and without augmentation: training and "
                               "validation loss, mean over seeds."))
    if BEYOND_ENSEMBLE_ID in docs:
        answer.append(Paragraph(_beyond_ensemble_text(docs[BEYOND_ENSEMBLE_ID],
                                                      results.get(ENSEMBLE_ID))))
    appendix: list[Block] = []
    if CV_ID in docs:
        answer.append(Paragraph(cv_text(docs[CV_ID])))
        blocks, confusion = _cv_evidence(docs[CV_ID], fig_dir)
        evidence += blocks
        appendix.append(confusion)
    parts = []
    if CV_ID in docs:
        cv = docs[CV_ID]
        parts.append(f"five-fold CV {fmt_acc(cv)} (Adam/BatchNorm; Piczak CNN 80.5 %)")
    if BEYOND_ENSEMBLE_ID in docs:
        parts.append(f"ensemble with augmentation {fmt_acc(docs[BEYOND_ENSEMBLE_ID])} test")
    spec = docs.get(Q3X_AUGMENTED, {}).get("config", {}).get("augment", {})
    protocol = ("test fold k, validation fold k-1 (cyclic), train on the other three; one "
                "seed; same horizon and selection")
    settings = [*shared_settings(results),
                ("augmentation", ", ".join(f"{k} {v}" for k, v in spec.items()) or "\u2014"),
                ("cross-validation", protocol)]
    appendix.append(hashes_table(docs))
    if Q3X_AUGMENTED in docs:
        appendix.insert(0, per_seed_table({Q3X_AUGMENTED: docs[Q3X_AUGMENTED]},
                                          "Augmented Adam/BatchNorm: every seed."))
    # Beyond the assignment: the body keeps the conclusion; the detailed reading, figures and
    # tables are in the appendix.
    return PartReport(answer, [], settings, evidence + appendix, "; ".join(parts),
                      status_of(docs, Q3_BEYOND_IDS), deviations(docs) if docs else [],
                      setup=cq.setup_x(docs),
                      conclusion=cq.conclusion_x(docs, results.get(Q3B_BATCHNORM),
                                                 PICZAK_CNN[1]))
