"""Q3 as a model answer: each part's set-up line and conclusion, from the recorded curves.

Sentences are templates with conditions: a ranking that falls within the seed spread says the
configurations cannot be told apart; a gain smaller than one test clip is "about the same"; the
verdict on a curve (diverged, learned) comes from :func:`reading.curve_reading`. The mechanism
comes first, then the measurement, then what it does not show.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from mlsplab.experiments.ids import (
    Q3A_ADAM,
    Q3A_RMSPROP,
    Q3B_BATCHNORM,
    Q3B_LAYERNORM,
    Q3B_NONE,
    Q3X_AUGMENTED,
    Q3X_CV,
    Q3X_ENSEMBLE,
)
from mlsplab.experiments.q3.reading import (
    beyond_spread,
    common_level,
    curve_reading,
    epochs_to_reach,
    fmt_acc,
    fmt_loss,
    last_gap,
)
from mlsplab.experiments.q3.summary_parts import EXTRA, Docs, label_of
from mlsplab.formatting import count, percent, points


def _names(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def val_noise(doc: dict[str, Any]) -> float:
    """Mean absolute epoch-to-epoch change of each seed's validation loss over the second half
    of training, averaged over seeds: how noisy the validation curve is."""
    changes = [np.mean(np.abs(np.diff([r["val_loss"] for r in h][len(h) // 2:])))
               for h in doc["histories"] if len(h) > 3]
    return float(np.mean(changes)) if changes else math.nan


def setup_a(docs: Docs) -> str:
    d = next(iter(docs.values()))
    s = d.get("split_sizes", {})
    return (f"The assignment's CNN on 128 \u00d7 500 log-mel inputs; folds 1\u20133/4/5 give "
            f"{s.get('train')}/{s.get('val')}/{s.get('test')} clips; batch "
            f"{d.get('batch_size')}, {d.get('epochs')} epochs, {len(d.get('seeds', []))} seeds, "
            "each tested at its lowest-validation-loss epoch. The assignment fixes no learning "
            "rate: SGD and SGD+momentum at 0.01, RMSprop and Adam at torch's defaults (0.01, "
            "0.001); RMSprop at 0.001 is shown beside as an extra.")


def _indistinct(docs: Docs) -> list[list[str]]:
    """Runs of neighbours in the test ranking whose gap is within the larger seed std."""
    order = sorted(docs, key=lambda i: -docs[i]["test_accuracy"])
    groups: list[list[str]] = [[order[0]]] if order else []
    for a, b in itertools.pairwise(order):
        if beyond_spread(docs[a], docs[b]):
            groups.append([b])
        else:
            groups[-1].append(b)
    return groups


def conclusion_a(docs: Docs) -> str:
    asked = {i: d for i, d in docs.items() if i != EXTRA}
    s = []
    rms = docs.get(Q3A_RMSPROP)
    if rms is not None:
        r = curve_reading(rms)
        if r["verdict"].startswith("diverged") or r["verdict"] == "did not learn":
            s.append(
                "RMSprop divides each step by a running root-mean-square of recent gradients, "
                f"so at lr {rms.get('lr', 0.01):g} every weight moves by about that much per "
                "step whatever its gradient; in the 11,232-input fully connected layer these "
                f"steps add up, the training loss jumps to {fmt_loss(r['max_train_loss'])} and "
                f"the network ends at chance ({fmt_loss(r['last_train_loss'])}, ln "
                f"{r['n_classes']} = {r['chance_loss']:.2f}), predicting one class.")
            if EXTRA in docs:
                s.append(f"At lr 0.001 the same optimizer learns ({fmt_acc(docs[EXTRA])} "
                         "test), so the default step size, not the method, is what fails.")
        else:
            s.append(f"RMSprop at its default lr {r['verdict']} ({fmt_acc(rms)} test).")
    level = common_level(docs)
    if math.isfinite(level):
        reach = {i: epochs_to_reach(d, level) for i, d in docs.items()}
        done = sorted((e, i) for i, e in reach.items() if e is not None)
        if done:
            first = docs[done[0][1]]
            rest = ", ".join(f"{label_of(docs[i])} {e}" for e, i in done[1:])
            why = (" Adam scales each weight's step as RMSprop does, but at a tenth of the step "
                   "size and with momentum, so it makes fast, stable progress"
                   if done[0][1] == Q3A_ADAM else "")
            s.append(f"{label_of(first)} is fastest: its mean validation loss reaches "
                     f"{fmt_loss(level)} at epoch {done[0][0]} (then {rest}).{why}"
                     + ("." if why else ""))
    learned = {i: d for i, d in asked.items() if curve_reading(d)["verdict"].startswith(
        "learned")}
    if learned:
        groups = [g for g in _indistinct(learned) if len(g) > 1]
        if groups:
            tied = _names([label_of(learned[i]) for i in groups[0]])
            s.append(f"At the tested epoch {tied} are within one seed standard deviation of "
                     f"each other ({', '.join(fmt_acc(learned[i]) for i in groups[0])}), so "
                     f"{len(learned[groups[0][0]].get('seeds', []))} seeds and "
                     f"{learned[groups[0][0]]['split_sizes']['test']} test clips cannot rank "
                     "them.")
        else:
            order = sorted(learned, key=lambda i: -learned[i]["test_accuracy"])
            s.append("At the tested epoch the optimizers that learned rank "
                     f"{', '.join(label_of(learned[i]) for i in order)}, each gap beyond the seed "
                     "spread.")
        gaps = [last_gap(d) for d in learned.values()]
        s.append(f"All of them overfit the {next(iter(learned.values()))['split_sizes']['train']}"
                 f" training clips: at the last epoch the validation loss is {min(gaps):.1f} to "
                 f"{max(gaps):.1f} above the training loss.")
    return " ".join(s)


def overview_a(docs: Docs) -> str:
    asked = {i: d for i, d in docs.items() if i != EXTRA}
    learned = {i: d for i, d in asked.items()
               if curve_reading(d)["verdict"].startswith("learned")}
    failed = [label_of(d) for i, d in asked.items() if i not in learned]
    groups = _indistinct(learned) if learned else []
    text = ""
    if groups and len(groups[0]) > 1:
        text = (f"{_names([label_of(learned[i]) for i in groups[0]])} cannot be told apart "
                f"({', '.join(fmt_acc(learned[i]) for i in groups[0])} test)")
    elif groups:
        top = learned[groups[0][0]]
        text = f"{label_of(top)} first, {fmt_acc(top)} test"
    if failed:
        text += ("; " if text else "") + f"{_names(failed)} at its default lr fails"
        if Q3A_RMSPROP in asked:
            text += f" ({fmt_acc(asked[Q3A_RMSPROP])})"
    return text


THIRD_NORM = ("the assignment asks for the norms \u201cat the flattened output and at the input "
              "of 2 fully connected layers\u201d; since the flattened output is already the "
              "first FC-128 layer's input, this run reads the two as the second FC-128 layer "
              "and the output layer, so a third norm sits before the classifier (the results "
              "were trained that way and are reported as run)")


def setup_b(docs: Docs) -> str:
    return ("Adam at lr 0.001 for all three, otherwise as Q3(a). LayerNorm or BatchNorm1d at "
            "the flattened conv output, at the second FC-128 layer's input and at the output "
            "layer's input: the third one is a deviation (the flattened output already is the "
            "first FC layer's input, so \u201cthe input of 2 fully connected layers\u201d was "
            "read as the next two); it is reported as trained.")


def conclusion_b(docs: Docs) -> str:
    base, bn, ln = (docs.get(k) for k in (Q3B_NONE, Q3B_BATCHNORM, Q3B_LAYERNORM))
    if base is None or bn is None:
        return ""
    clip = 100 / base["split_sizes"]["test"]
    s = [("Normalising the inputs of the fully connected layers keeps their scale fixed while "
         "the weights change, and BatchNorm adds noise from the statistics of each batch of "
         f"{bn.get('batch_size', 16)}, which acts as a regulariser.")]
    gb, gb_last = (bn["test_accuracy"] - base["test_accuracy"],
                   bn["test_accuracy_last"] - base["test_accuracy_last"])
    beyond_best = beyond_spread(bn, base)
    beyond_last = beyond_spread(bn, base, "test_accuracy_last")
    best_words = ("beyond the seed spread" if beyond_best else "within the seed spread")
    last_words = ("beyond the seed spread" if beyond_last else "within it")
    s.append(f"At each seed's best-validation epoch BatchNorm scores {points(gb, digits=1)} over "
             f"no norm ({fmt_acc(bn)} against {fmt_acc(base)}), {best_words}; at the last "
             f"epoch the gain is {points(gb_last, digits=1)}, {last_words}.")
    nb, nn = val_noise(bn), val_noise(base)
    if beyond_best and not beyond_last:
        s.append(f"The two differ because BatchNorm's validation loss jumps from epoch to epoch "
                 f"({nb:.2f} on average, against {nn:.2f} without a norm), so choosing the "
                 "epoch on validation finds a better model than the last one; what holds at "
                 "both epochs is less overfitting.")
    r_b, r_n = curve_reading(bn), curve_reading(base)
    floor_b, floor_n = min(bn["mean_curves"]["train_loss"]), min(base["mean_curves"]["train_loss"])
    s.append(f"Without a norm the training loss falls to {fmt_loss(floor_n)} and the validation "
             f"loss ends {last_gap(base):.2f} above it; BatchNorm's training loss stays at "
             f"{fmt_loss(floor_b)} or more (train-mode batch statistics never fit exactly), its "
             f"gap ends at {last_gap(bn):.2f} and its lowest validation loss is "
             f"{fmt_loss(r_b['min_val_loss'])} against {fmt_loss(r_n['min_val_loss'])}.")
    if ln is not None:
        s.append(f"LayerNorm lies between ({fmt_acc(ln)}). With "
                 f"{base['split_sizes']['train']} training clips and {clip:.2f} points per test "
                 "clip, what can be concluded is that normalisation reduces overfitting; "
                 "that BatchNorm gives the best model holds at the chosen epoch only.")
    return " ".join(s)


def overview_b(docs: Docs) -> str:
    base, bn = docs.get(Q3B_NONE), docs.get(Q3B_BATCHNORM)
    if base is None or bn is None:
        return ""
    return (f"BatchNorm {points(bn['test_accuracy'] - base['test_accuracy'], digits=1)} over no "
            f"norm at the chosen epoch ({fmt_acc(bn)}), "
            f"{points(bn['test_accuracy_last'] - base['test_accuracy_last'], digits=1)} at the "
            f"last ({'beyond' if beyond_spread(bn, base, 'test_accuracy_last') else 'within'} "
            "the seed spread); both norms reduce overfitting")


def setup_c(doc: dict[str, Any]) -> str:
    return (f"Members as trained in (a) and (b): {_names(doc['members'])}, each at its "
            "lowest-validation-loss epoch; combined by averaging their posteriors and by "
            "weights on the simplex that minimise the validation cross-entropy of the mixture.")


def conclusion_c(doc: dict[str, Any]) -> str:
    m, members = doc["methods"], doc["members"]
    w = m["optimal-weights"]["weights_mean"]
    top = max(range(len(w)), key=w.__getitem__)
    accs = [m[n]["test_accuracy"] for n in members]
    opt, avg = m["optimal-weights"], m["average"]
    clip = 100 / doc["split_sizes"]["test"]
    gain = opt["gain_vs_member_chosen_on_val_points"]
    s = ["An ensemble gains when its members are about as good and err on different clips."]
    spread = max(accs) - sorted(accs)[-2]
    if spread > 0.05:
        s.append(f"Here {members[top]} is far better than the others ({percent(max(accs))} "
                 f"against {percent(sorted(accs)[-2])} and below), so the optimal weights give "
                 f"it {w[top]:.2f} of the mass and the weighted ensemble is about the best "
                 f"single model: {fmt_acc(opt)} test, "
                 + ("less than one test clip from the member one would pick on validation."
                    if abs(gain) < clip else f"{points(gain / 100)} against the member one "
                    "would pick on validation."))
    else:
        s.append(f"The members are close ({', '.join(percent(a) for a in accs)}), and the "
                 f"weighted ensemble reaches {fmt_acc(opt)}, {points(gain / 100)} against the "
                 "member one would pick on validation.")
    below = avg["test_accuracy"] < max(accs)
    s.append(f"Plain averaging gives each member a third and reaches {fmt_acc(avg)}, "
             f"{'below' if below else 'above'} the best member"
             + (", because the weak members pull it down." if below else "."))
    s.append("The weights minimise cross-entropy, not accuracy, so their validation accuracy "
             f"fitted in sample ({fmt_acc(opt, 'val_accuracy')}) need not exceed the "
             f"out-of-fold figure ({fmt_acc(opt, 'val_accuracy_oof')}); the large gain over the "
             f"members' mean ({points(opt['gain_vs_mean_member_points'] / 100)}) only reflects "
             "the weak members.")
    return " ".join(s)


def overview_c(doc: dict[str, Any]) -> str:
    m = doc["methods"]
    w = m["optimal-weights"]["weights_mean"]
    top = max(range(len(w)), key=w.__getitem__)
    best = max(m[n]["test_accuracy"] for n in doc["members"])
    return (f"optimal weights {fmt_acc(m['optimal-weights'])} and averaging "
            f"{fmt_acc(m['average'])} test, against {percent(best)} for the best member "
            f"({doc['members'][top]} gets {w[top]:.2f} of the optimal weight)")


def setup_x(docs: Docs) -> str:
    parts = []
    if Q3X_AUGMENTED in docs:
        n = len(docs[Q3X_AUGMENTED].get("seeds", []))
        parts.append("Adam/BatchNorm with random time shifts and SpecAugment-style masks "
                     f"({count(n, 'seed')})")
    if Q3X_ENSEMBLE in docs:
        parts.append("ensembles including them")
    if Q3X_CV in docs:
        parts.append("the five-fold cross-validation of published ESC-10 results (test fold "
                     "k, validation fold k\u22121)")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "." if parts else ""


def conclusion_x(docs: Docs, base: dict[str, Any] | None, published: float | None) -> str:
    s = []
    aug = docs.get(Q3X_AUGMENTED)
    if aug is not None and base is not None:
        dv, dt = aug["val_accuracy"] - base["val_accuracy"], aug["test_accuracy"] - base[
            "test_accuracy"]
        within = not beyond_spread(aug, base)
        s.append("Augmentation shows the network new versions of the 240 clips, which should "
                 f"curb overfitting; it changes validation accuracy by {points(dv)} and test "
                 f"accuracy by {points(dt)}"
                 + (", within the seed spread, so the single test fold cannot confirm the "
                    "gain that validation shows." if within else "."))
    cv = docs.get(Q3X_CV)
    if cv is not None:
        first = cv["models"][cv["model_order"][0]]
        text = (f"Over five folds {first['label']} reaches {fmt_acc(first)}, a fold spread that "
                "covers the single split's result")
        if published is not None:
            text += (f", and {'below' if first['test_accuracy'] < published else 'above'} the "
                     f"{percent(published)} of Piczak's CNN under the same protocol")
        s.append(text + ": one split of 80 test clips is a noisy measure of any of these "
                 "models.")
    return " ".join(s)
