"""The report's part beyond Q1: NBSVM and ensembles of the IMDB models, from ``metrics.json``.

``part_report(part_key, results, out, fig_dir)`` is named by the registry (part ``q1x``).
Every sentence is a template filled from the recorded measurements of ``q1x-nbsvm``,
``q1x-ensemble`` and ``q1-tfidf-baseline``; its words change with the signs and p-values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlsplab.experiments.ids import Q1B_LSTM_AVG, Q1C_LSTM_ATTENTION, Q1D_TRANSFORMER
from mlsplab.experiments.q1 import phrases as ph
from mlsplab.experiments.q1.config import BASELINE_ID, ENSEMBLE_ID, NBSVM_ID
from mlsplab.experiments.q1.ensemble import NETWORKS
from mlsplab.formatting import count, percent
from mlsplab.report.document import Block, Paragraph, PartReport, Table
from mlsplab.report.results import reproduce_command

Docs = dict[str, dict[str, Any]]
NAMES = {**ph.NAMES, NBSVM_ID: "NBSVM"}
SHORT = {Q1B_LSTM_AVG: "LSTM-avg", Q1C_LSTM_ATTENTION: "LSTM-attention",
         Q1D_TRANSFORMER: "transformer", BASELINE_ID: "TF-IDF", NBSVM_ID: "NBSVM"}
METHOD = {"average": "averaging", "optimal-weights": "optimal weights"}
ALPHA = 0.05  # McNemar p-values below this count as a real difference in the prose
# Published IMDB results (the 25,000 / 25,000 split of Maas et al., not ours): context only
PUBLISHED = "NBSVM with bigrams 91.2 %, Wang & Manning 2012"


def _name(exp_id: str) -> str:
    return NAMES.get(exp_id, exp_id)


def _mc_text(mc: dict[str, Any] | None) -> str:
    if mc is None:
        return "\u2014"
    return f"{mc['a_only_correct']} / {mc['b_only_correct']}, p = {mc['p_value']:.2g}"


def _verdict(difference: float, mc: dict[str, Any]) -> str:
    """``'better than'`` / ``'worse than'`` when McNemar's p < ALPHA, else within noise."""
    if mc["p_value"] >= ALPHA:
        return "not distinguishable from"
    return "better than" if difference > 0 else "worse than"


def nbsvm_text(nb: dict[str, Any], base: dict[str, Any] | None,
               ens: dict[str, Any] | None) -> str:
    """NBSVM against the TF-IDF baseline: accuracy, cost, and McNemar on the same reviews."""
    text = (f"NBSVM (each word 1\u20132-gram present in a review, weighted by its naive-Bayes "
            f"log-count ratio, then logistic regression) reached {ph.pct(nb['test_accuracy'])} "
            f"on the test reviews (validation {ph.pct(nb['val_accuracy'])}, C = "
            f"{nb['chosen_c']:g}) in {ph.duration(nb['wall_seconds'])}")
    if base is None:
        return text + "."
    text += (f", against {ph.pct(base['test_accuracy'])} for the TF-IDF baseline in "
             f"{ph.duration(base['wall_seconds'])}")
    mc = (ens or {}).get("nbsvm_vs_baseline")
    if mc is None:
        return text + "."
    d = nb["test_accuracy"] - base["test_accuracy"]
    return text + (f": {_verdict(d, mc)} it on these reviews (only NBSVM right on "
                   f"{mc['a_only_correct']}, only the baseline on {mc['b_only_correct']}; "
                   f"McNemar p = {mc['p_value']:.2g}).")


def missing_text(ens: dict[str, Any], out: Path) -> str | None:
    """Which members are not in the ensembles, why, and the command that adds them to ``out``."""
    if not ens.get("missing"):
        return None
    items = "; ".join(f"{m['experiment']}: {m['reason']}, add with "
                      f"`{reproduce_command([m['step']], out)}`" for m in ens["missing"])
    retrain = any(m["experiment"] in NETWORKS and "posteriors" in m["reason"]
                  for m in ens["missing"])
    return (f"Not in the ensembles below ({count(len(ens['missing']), 'member')}): {items}."
            + (" A network's result records its posteriors only since they were added; the "
               "command trains it again (hours on a CPU). On the machine that trained it, a "
               "replay up to its tested epoch is faster: `python -m "
               "mlsplab.experiments.q1.replay --help`." if retrain else ""))


def replay_text(results: Docs) -> str | None:
    """Where the networks' posteriors came from when a replay added them (see
    :mod:`mlsplab.experiments.q1.replay`), or None when they were recorded by the run itself."""
    replayed = []
    for exp_id in NETWORKS:
        for entry in (results.get(exp_id) or {}).get("per_seed", []):
            if (r := entry.get("posteriors_replay")) is not None:
                replayed.append(f"{_name(exp_id)} (seed {entry.get('seed')}, "
                                f"{count(r['epochs_replayed'], 'epoch')}, best "
                                f"{entry.get('best_epoch')})")
    if not replayed:
        return None
    return ("The networks' results predate recorded posteriors, so their posteriors come from a "
            "replay of each training with the same seed and settings, up to or past its "
            f"tested epoch: {'; '.join(replayed)}. Every loss and "
            "accuracy of the replayed epochs, the best epoch and the decision on every test "
            "review equal the recorded run's, so the posteriors are those of the tested "
            "weights.")


def ensemble_text(ens: dict[str, Any]) -> str:
    """The headline ensemble against the best single member, in one or two sentences."""
    full, best, d = _full_against_best(ens)
    return (f"Combining the {count(len(full['members']), 'member')} with posteriors, "
            f"{METHOD[full['method']]} (chosen by out-of-fold validation accuracy, weights "
            f"{_weights(full)}) reached {ph.pct(full['test_accuracy'])}: {ph.pts(d)} against "
            f"{_name(best)}, the member with the best validation accuracy; by McNemar's test "
            f"the ensemble is {_verdict(d, full['mcnemar_vs_best_single'])} it "
            f"(p = {full['mcnemar_vs_best_single']['p_value']:.2g}).")


def _full_against_best(ens: dict[str, Any]) -> tuple[dict[str, Any], str, float]:
    """The ensemble of all members, the best single member on validation, and the ensemble's
    test accuracy minus that member's."""
    full, best = ens["ensembles"]["all"], ens["best_single"]
    return full, best, full["test_accuracy"] - ens["single"][best]["test_accuracy"]


def networks_text(ens: dict[str, Any]) -> str:
    """Whether the networks add anything to the linear models, said plainly."""
    present = [m for m in ens["candidates"] if m in NETWORKS]
    if not present:
        return ("Whether the networks add anything to the linear models is not measured here: "
                "none of their results has posteriors.")
    added = ens.get("networks_added")
    if added is None:
        return ("Whether the networks add anything to the linear models is not measured here: "
                "the linear models' own ensemble is missing.")
    d, mc = added["difference"], added["mcnemar"]
    verdict = {"better than": "the networks add to the linear models",
               "worse than": "adding the networks hurts the linear models",
               "not distinguishable from": "the networks add nothing measurable to the linear "
                                           "models"}[_verdict(d, mc)]
    return (f"With the networks the ensemble is {ph.pts(d)} against the linear models' own "
            f"ensemble (McNemar p = {mc['p_value']:.2g}): {verdict} on this test set.")


def conclusion(ens: dict[str, Any]) -> str:
    """Mechanism, measurement, and what it does not show."""
    single = ens["single"]
    nets = [m for m in single if m in NETWORKS]
    best_test = max(single, key=lambda m: single[m]["test_accuracy"])
    if not nets:
        s = ("Without the networks this compares two linear models: NBSVM weights each n-gram "
             "by its class evidence, TF-IDF by its rarity.")
    elif best_test in nets:
        s = f"Here a network, {_name(best_test)}, has the best test accuracy of the single models."
    else:
        s = ("Two differences of set-up may explain why a linear model leads, and this part "
             "does not separate them: the linear models see every word and word pair of a "
             "review, while the networks read at most its first 400 tokens through word vectors "
             "frozen during training; and NBSVM scales each n-gram by its class evidence before "
             "the classifier sees it.")
    loo = [(label, e) for label, e in ens["ensembles"].items() if label.startswith("without")]
    if loo:
        full = ens["ensembles"]["all"]["test_accuracy"]
        label, worst = min(loo, key=lambda t: t[1]["test_accuracy"])
        s += (f" Leaving out {_name(label.removeprefix('without '))} lowers the ensemble's test "
              f"accuracy most ({ph.pts(worst['test_accuracy'] - full)})."
              if worst["test_accuracy"] < full else
              " Leaving out any one member does not lower the ensemble's test accuracy.")
    s += (" These are one split and one seed, so McNemar's test, not the ranking, says which "
          "differences are real.")
    return s


def body_conclusion(ens: dict[str, Any]) -> str:
    """The body's conclusion: why an ensemble can gain, whether this one did, and what the
    networks add (the longer reading is :func:`conclusion`, in the appendix)."""
    full, best, d = _full_against_best(ens)
    mc = full["mcnemar_vs_best_single"]
    resolved = {"better than": "a gain this test set resolves",
                "worse than": "a loss this test set resolves",
                "not distinguishable from": "a difference this test set does not resolve"}
    return (f"Combining models gains when they err on different reviews: the ensemble of all "
            f"{count(len(full['members']), 'member')} ({METHOD[full['method']]}) reaches "
            f"{ph.pct(full['test_accuracy'])}, {ph.pts(d)} against {_name(best)} (McNemar "
            f"p = {mc['p_value']:.2g}), {resolved[_verdict(d, mc)]}. {networks_text(ens)}")


def _weights(e: dict[str, Any]) -> str:
    """An ensemble's weights by member, e.g. "LSTM-attention 0.51, NBSVM 0.49"."""
    return ", ".join(f"{SHORT.get(m, m)} {w:.2f}" for m, w in zip(e["members"], e["weights"]))


def _weights_text(e: dict[str, Any]) -> str:
    """The table's weights cell: "equal" for averaging."""
    return "equal" if e["method"] == "average" else _weights(e)


def ensemble_table(ens: dict[str, Any], docs: Docs, *, full: bool = True) -> Table:
    """Members and ensembles: validation (out of fold for ensembles), test, McNemar, weights;
    ``full=False`` (the body's table): one line a row, with of the ensembles only the one of all
    members and the best pair, McNemar's p alone, and no wall times."""
    def mc_cell(mc: dict[str, Any] | None) -> str:
        return _mc_text(mc) if full or mc is None else f"p = {mc['p_value']:.2g}"

    rows = []
    for m, e in ens["single"].items():
        wall = (docs.get(m) or {}).get("wall_seconds")
        rows.append([_name(m) + (" *" if m == ens["best_single"] else ""),
                     ph.pct(e["val_accuracy"]), ph.pct(e["test_accuracy"]),
                     mc_cell(e["mcnemar_vs_best_single"]), "\u2014",
                     ph.duration(wall) if isinstance(wall, (int, float)) else "\u2014"])
    entries = [(label, e) for label, e in ens.get("ensembles", {}).items()
               if full or label == "all"]
    pair = ens.get("pairs", {}).get(ens.get("best_pair"))
    if pair is not None and pair["members"] != ens["ensembles"]["all"]["members"]:
        entries.append(("best pair" if not full else
                        f"best pair on validation: {ens['best_pair']}", pair))
    for label, e in entries:
        label = label.replace("without ", "all without ")
        for i in ens["single"]:
            label = label.replace(i, SHORT.get(i, i))
        rows.append([f"ensemble: {label}, {METHOD[e['method']]}",
                     ph.pct(e["val_accuracy_oof"]), ph.pct(e["test_accuracy"]),
                     mc_cell(e["mcnemar_vs_best_single"]), _weights_text(e), "\u2014"])
    header = ["model", "val acc", "test acc", "McNemar vs *", "weights", "wall time"]
    if not full:
        header, rows = ["model", "val acc", "test acc", "p vs *", "weights"], [r[:-1] for r in rows]
    return Table(header, rows,
                 caption=f"Beyond Q1 (seed {ens.get('seed')}). *: best single model on "
                         "validation, against which McNemar's exact test is run; ensembles' "
                         "validation accuracy is out of fold.")


def _selection_table(docs: Docs) -> Table:
    """Validation accuracy by C of the linear models and the rule's numbers."""
    rows = []
    for exp_id in (BASELINE_ID, NBSVM_ID):
        d = docs.get(exp_id)
        if not d:
            continue
        sel = d.get("selection") or {}
        grid = ", ".join(f"{float(c):.3g}: {100 * a:.2f}" for c, a in d["val_accuracy_by_c"].items())
        rows.append([_name(exp_id), grid, f"{d['chosen_c']:g}",
                     f"{sel.get('best_c', d['chosen_c']):g}",
                     percent(sel.get("standard_error"), digits=2),
                     f"{sel.get('margin_reviews', float('nan')):.1f}"])
    return Table(["model", "validation accuracy (%) by C", "chosen C", "best C",
                  "standard error", "margin (reviews)"], rows,
                 caption="How C was chosen: the smallest C within one standard error of the best "
                         "validation accuracy; the margin is how far the candidate closest to "
                         "that threshold sits from it.")


def part_report(part_key: str, results: Docs, out: Path, fig_dir: Path) -> PartReport:
    """Beyond Q1: NBSVM, ensembles chosen out of fold, what the networks add."""
    docs = {i: results[i] for i in (ENSEMBLE_ID, NBSVM_ID, BASELINE_ID) if i in results}
    nb, base, ens = docs.get(NBSVM_ID), docs.get(BASELINE_ID), docs.get(ENSEMBLE_ID)
    answer: list[Block] = []
    if nb is not None:
        answer.append(Paragraph(f"{nbsvm_text(nb, base, ens)} Published IMDB results use "
                                f"another split ({PUBLISHED}), so they are context, not a score "
                                "to beat."))
    evidence: list[Block] = []
    appendix_tables: list[Block] = []
    if ens is not None:
        note = missing_text(ens, out)
        if note:
            answer.append(Paragraph(note, "warning"))
        if ens.get("ensembles"):
            answer.append(Paragraph(f"{ensemble_text(ens)} {networks_text(ens)}"))
            evidence.append(ensemble_table(ens, docs, full=False))
            appendix_tables.append(ensemble_table(ens, docs))
            answer.append(Paragraph(conclusion(ens)))
        else:
            answer.append(Paragraph("Fewer than two members have posteriors, so there is no "
                                    "ensemble.", "warning"))
    fits = ("posterior averaging and simplex weights minimising the validation cross-entropy "
            "(as Q3(c)); method by out-of-fold validation accuracy "
            f"({(ens or {}).get('folds', 5)} folds)")
    rule = "smallest C within one standard error of the best validation accuracy (both)"
    settings = [("ensemble", fits), ("choice of C", rule)]
    if nb is not None:
        c = nb.get("config", {})
        features = (f"binary word 1\u20132-grams in \u2265 {c.get('min_df')} training reviews "
                    f"({nb.get('n_features', 0):,}), log-count ratio with \u03b1 = "
                    f"{c.get('alpha')}, L2 logistic regression (liblinear)")
        settings.insert(0, ("NBSVM", features))
    appendix: list[Block] = [*appendix_tables, _selection_table(docs)]
    if (replayed := replay_text(results)) is not None:
        appendix.insert(0, Paragraph(replayed))
    if ens is not None and ens.get("pairs"):
        appendix.append(Table(["pair", "method", "val acc, out of fold", "test acc"],
                              [[k, METHOD[e["method"]], ph.pct(e["val_accuracy_oof"]),
                                ph.pct(e["test_accuracy"])] for k, e in ens["pairs"].items()],
                              caption="Beyond Q1: every pair of members."))
    appendix.append(Table(["result", "config hash"], [[i, d.get("config_hash", "")]
                                                       for i, d in docs.items()],
                          caption="Beyond Q1: configuration hashes."))
    quick = any(d.get("config", {}).get("quick") for d in docs.values())
    status = "quick" if quick else ("partial: " + ", ".join(
        m["experiment"] for m in ens["missing"]) + " not in the ensembles"
        if ens and ens.get("missing") else "full" if ens and nb else "partial")
    overview = "; ".join(x for x in (
        f"NBSVM {ph.pct(nb['test_accuracy'])} test" if nb else "",
        f"ensemble {ph.pct(ens['ensembles']['all']['test_accuracy'])} test"
        if ens and ens.get("ensembles") else "") if x)
    setup, concluded = "", ""
    if ens is not None and ens.get("ensembles"):
        # a model answer: set-up, the table, a conclusion; the detailed reading (and the
        # commands that add missing members) opens the part's appendix
        setup = ("NBSVM (Wang & Manning 2012) beside the TF-IDF baseline, and ensembles of the "
                 "IMDB models chosen out of fold as in Q3(c).")
        concluded = body_conclusion(ens)
    return PartReport(answer, evidence, settings, appendix, overview, status, [],
                      setup=setup, conclusion=concluded)
