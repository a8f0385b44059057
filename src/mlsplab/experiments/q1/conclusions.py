"""Q1(b-d) as a model answer: the set-up line, the conclusion and the one table of each part.

Every sentence is a template filled from ``metrics.json`` with conditions: when a difference
changes sign or falls within the noise of the shared test set (McNemar's exact test on the
same 5,000 reviews, one seed per model), the words change with it. The mechanism comes first,
then the measurement, then what the measurement does not show.
"""

from __future__ import annotations

from typing import Any

from mlsplab.experiments.ids import Q1B_LSTM_AVG, Q1C_LSTM_ATTENTION, Q1D_TRANSFORMER
from mlsplab.experiments.q1 import phrases as ph
from mlsplab.experiments.q1.config import BASELINE_ID, COMPARISON_ID, LEARNING_RATES
from mlsplab.report.document import Table

Docs = dict[str, dict[str, Any]]
SIGNIFICANT = 0.05  # McNemar p below this: the two models differ on this test set
ROSE = 0.01  # validation loss this far above its minimum at the end: it rose
# The transformer's Adam step and dropout were chosen on the validation split over this grid
# (docs/sentiment.md, "Learning rate, dropout, clipping"); the LSTMs' were not searched.
TRANSFORMER_GRID = {"lr": (1e-3, 3e-4), "dropout": (0.1, 0.3)}


def _seeds(m: dict[str, Any]) -> int:
    return len(m.get("test_accuracy_values") or [1])


def _versus(a_id: str, a: dict[str, Any], b_id: str, b: dict[str, Any],
            results: Docs) -> tuple[str, bool]:
    """``'0.6 points above'`` / ``'1.9 points below'`` and whether the test set tells them
    apart (McNemar p < 0.05 with one seed; the gap beyond the seed std with several)."""
    d = a["test_accuracy"] - b["test_accuracy"]
    side = "above" if d > 0 else "below"
    words = f"{abs(100 * d):.1f} points {side}" if abs(d) >= 0.0005 else "level with"
    p = ph.pair_of(results.get(COMPARISON_ID), a_id, b_id)
    if p and p.get("largest_std") is not None:
        return words, abs(d) > p["largest_std"]
    if p and "mcnemar" in p:
        return words, p["mcnemar"]["p_value"] < SIGNIFICANT
    return words, False


def _p_value(results: Docs, a_id: str, b_id: str) -> str:
    p = ph.pair_of(results.get(COMPARISON_ID), a_id, b_id)
    if not p or "mcnemar" not in p:
        return ""
    value = p["mcnemar"]["p_value"]
    return "p < 0.001" if value < 0.001 else f"p = {value:.2g}"


def _course(m: dict[str, Any]) -> tuple[int, int, bool]:
    """Best epoch, epochs run, and whether the validation loss rose after the best epoch
    while the training loss kept falling (overfitting)."""
    h = m.get("history") or []
    b = m.get("best_epoch") or 1
    if not h:
        return b, 0, False
    key = "train_eval_loss" if h[-1].get("train_eval_loss") is not None else "train_loss"
    best, last = h[b - 1], h[-1]
    return b, len(h), (last["val_loss"] > best["val_loss"] + ROSE
                       and last[key] < best[key] - ph.SAME)


def _fit_sentence(m: dict[str, Any]) -> str:
    b, n, overfit = _course(m)
    if overfit:
        return (f"validation loss is lowest at epoch {b} of {n} and rises after it while the "
                "training loss keeps falling, so the tested weights are those of epoch "
                f"{b}, before it overfits")
    if b == n:
        return f"validation loss is still falling at epoch {n}, so longer training might help"
    return f"validation loss is lowest at epoch {b} of {n} and flat after it"


def one_seed_note(results: Docs) -> str:
    """Said once, up front: how many seeds each IMDB model has and what that means."""
    seeds = {_seeds(m) for i, m in results.items() if i in ph.NAMES and i != BASELINE_ID}
    if seeds == {1}:
        return ("One seed per IMDB model (25 epochs take hours on this CPU): models are "
                "compared by McNemar's test on the same 5,000 test reviews, which does not "
                "cover the spread over seeds.")
    return f"{max(seeds)} seeds per IMDB model; differences are compared with their spread."


def setup_b(m: dict[str, Any], results: Docs) -> str:
    cfg, c = m.get("config", {}), m.get("model_config", {})
    return (f"Frozen 100-d word2vec vectors, reviews cut to their first {cfg.get('max_tokens')} "
            f"tokens; {c.get('num_layers')}-layer LSTM of {c.get('hidden_dim')} cells, masked "
            f"mean pooling, one linear output, BCE; Adam (lr {cfg.get('lr'):g}), batch "
            f"{cfg.get('batch_size')}, {cfg.get('epochs')} epochs, dropout {c.get('dropout')}. "
            + one_seed_note(results))


def conclusion_b(exp_id: str, m: dict[str, Any], results: Docs) -> str:
    s = [("The LSTM reads each review in order, and average pooling gives every position the "
          "same weight, so the classifier sees the mean of the hidden states; with "
          f"{m.get('n_parameters', 0):,} parameters it fits the training reviews within a few "
          "epochs."),
         ph.capital(_fit_sentence(m)) + f"; they reach {ph.pct(m['test_accuracy'])} test "
         "accuracy."]
    base = results.get(BASELINE_ID)
    if base and base.get("test_accuracy") is not None:
        words, apart = _versus(BASELINE_ID, base, exp_id, m, results)
        if apart and base["test_accuracy"] > m["test_accuracy"]:
            s.append(f"A TF-IDF bag of words and word pairs with logistic regression lands "
                     f"{words} it ({_p_value(results, exp_id, BASELINE_ID)}): on these "
                     "long reviews, which words occur carries most of the sentiment, and "
                     "reading them in order does not beat a linear model that sees every word "
                     "and word pair.")
        elif apart:
            s.append(f"A TF-IDF bag of words and word pairs with logistic regression lands "
                     f"{words} it: reading the words in order helps here.")
        else:
            s.append("A TF-IDF bag of words and word pairs with logistic regression cannot be "
                     "told apart from it on this test set.")
    s.append("What it does not show is how much of the overfitting a smaller learning rate or "
             "more dropout would remove: the LSTMs' settings were not searched.")
    return " ".join(s)


def epochs_table(m: dict[str, Any]) -> Table:
    """The tested (best-validation) epoch beside the last: losses and accuracies."""
    h = m.get("history") or []
    b = m.get("best_epoch") or 1
    key = "train_eval_loss" if h and h[-1].get("train_eval_loss") is not None else "train_loss"
    rows = []
    for label, epoch, test in (("lowest validation loss (tested)", b, m.get("test_accuracy")),
                               ("last", len(h), m.get("test_accuracy_last"))):
        r = h[epoch - 1]
        rows.append([f"{label}: {epoch}", f"{r[key]:.3f}", f"{r['val_loss']:.3f}",
                     ph.pct(r["val_accuracy"]), ph.pct(test) if test is not None else "\u2014"])
    return Table(["epoch", "training loss (eval mode)", "validation loss", "validation accuracy",
                  "test accuracy"], rows,
                 caption=f"{ph.capital(ph.NAMES[m.get('experiment', Q1B_LSTM_AVG)])}: the "
                         "tested epoch against the last.")


def setup_c(m: dict[str, Any]) -> str:
    c = m.get("model_config", {})
    return (f"As (b), with additive attention pooling (scorer width {c.get('attention_dim')}) "
            "in place of the mean: a learned weight per position, normalised by a softmax "
            "over the review.")


def _concentration(a: dict[str, Any]) -> str:
    ratio = a["top_mass_mean"] / max(a["top_mass_uniform_mean"], 1e-9)
    if ratio < 1.5:
        return ("the weights stay close to uniform, so attention pooling behaves much like "
                "the average")
    words = ", ".join(f"\u201c{w['word']}\u201d" for w in (a.get("top_words") or [])[:3])
    s = (f"the weights concentrate: the top {100 * a['top_fraction']:.0f} % of a review's "
         f"tokens hold {100 * a['top_mass_mean']:.0f} % of the weight")
    if words:
        s += f", most of all on sentiment-laden words such as {words}"
    pos = [x for x in (a.get("position_ratio") or []) if x is not None]
    if pos and pos[-1] == max(pos) and pos[-1] > 1.1:
        s += ", and on the review's last tenth, where reviewers sum up"
    return s


def conclusion_c(exp_id: str, m: dict[str, Any], results: Docs) -> str:
    avg_id = Q1B_LSTM_AVG
    avg = results.get(avg_id)
    s = []
    a = m.get("attention")
    if a:
        s.append("Attention pooling lets the model choose which hidden states to pool; over "
                 f"the test reviews {_concentration(a)}.")
    if avg and avg.get("test_accuracy") is not None:
        words, apart = _versus(exp_id, m, avg_id, avg, results)
        pv = _p_value(results, exp_id, avg_id)
        if apart:
            s.append(f"It ends {words} average pooling ({ph.pct(m['test_accuracy'])} against "
                     f"{ph.pct(avg['test_accuracy'])}; McNemar {pv} on the same test reviews): "
                     f"a small {'gain' if m['test_accuracy'] > avg['test_accuracy'] else 'loss'}"
                     " that this test set resolves.")
        else:
            s.append(f"It ends {words} average pooling ({ph.pct(m['test_accuracy'])} against "
                     f"{ph.pct(avg['test_accuracy'])}), within what this test set can resolve"
                     f"{f' (McNemar {pv})' if pv else ''}.")
        b_c, b_b = m.get("best_epoch"), avg.get("best_epoch")
        if b_c and b_b and b_c != b_b:
            s.append(f"Its validation loss bottoms out {'earlier' if b_c < b_b else 'later'} "
                     f"(epoch {b_c} against {b_b}), and both overfit after that.")
    s.append("The weights show where the model looks, not why it decides: each LSTM state "
             "already mixes its context, so a heavily weighted word stands for its "
             "neighbourhood too.")
    return " ".join(s)


def attention_table(m: dict[str, Any], avg: dict[str, Any] | None) -> Table:
    """Behaviour of the two poolings side by side: accuracy, best epoch, how weight spreads."""
    a = m.get("attention") or {}
    dash = "\u2014"
    pos = [x for x in (a.get("position_ratio") or []) if x is not None]
    rows = [
        ["test accuracy", ph.pct(avg["test_accuracy"]) if avg else dash,
         ph.pct(m["test_accuracy"])],
        ["best-validation epoch", str(avg.get("best_epoch")) if avg else dash,
         str(m.get("best_epoch"))],
        ["weight entropy, share of uniform", "100 %",
         f"{100 * a['entropy_ratio_mean']:.0f} %" if "entropy_ratio_mean" in a else dash],
        [f"weight on the top {100 * a.get('top_fraction', 0.05):.0f} % of tokens",
         f"{100 * a['top_mass_uniform_mean']:.1f} %" if a else dash,
         f"{100 * a['top_mass_mean']:.1f} %" if a else dash],
        ["weight on the last tenth (uniform = 1)", "1.00", f"{pos[-1]:.2f}" if pos else dash],
        ["most weighted words (\u00d7 uniform)", dash,
         ", ".join(f"{w['word']} {w['weight_ratio']:.1f}" for w in a.get("top_words", [])[:4])
         or dash],
    ]
    return Table(["over the test reviews", "average pooling (b)", "attention pooling (c)"],
                 rows, caption="Q1(c) against Q1(b): accuracy and how each pooling spreads its "
                               "weight over a review's positions (average pooling: uniform).")


def setup_d(m: dict[str, Any]) -> str:
    c, cfg = m.get("model_config", {}), m.get("config", {})
    lstm_lr = LEARNING_RATES["lstm-avg"]
    grid_lr = " and ".join(f"{x:g}" for x in TRANSFORMER_GRID["lr"])
    grid_dp = " and ".join(f"{x:g}" for x in TRANSFORMER_GRID["dropout"])
    return (f"\u201c256 hidden dimensions\u201d read as the model width: d_model "
            f"{c.get('d_model')} reached by a {c.get('embed_dim')}\u2192{c.get('d_model')} "
            f"projection, {c.get('n_heads')} heads of "
            f"{c.get('d_model', 0) // max(c.get('n_heads', 1), 1)}, feed-forward "
            f"{c.get('ff_dim')}; one pre-norm layer, masked mean pooling, BCE. Adam lr "
            f"{cfg.get('lr'):g} and dropout {c.get('dropout')} were chosen on validation from "
            f"lr {grid_lr} and dropout {grid_dp}; the LSTMs use Adam's default lr {lstm_lr:g} "
            "and dropout 0.3, not searched.")


def _length_gap(results: Docs) -> str | None:
    """Where the transformer's gap to the better LSTM is largest: short or long reviews."""
    t = (results.get(Q1D_TRANSFORMER) or {}).get("length_buckets")
    lstms = [r["length_buckets"] for i, r in results.items()
             if i in (Q1B_LSTM_AVG, Q1C_LSTM_ATTENTION) and r.get("length_buckets")]
    if not t or not lstms:
        return None
    best = [max(b["accuracy"][k] for b in lstms) for k in range(len(t["accuracy"]))]
    short, long = best[0] - t["accuracy"][0], best[-1] - t["accuracy"][-1]
    e = t["edges"]
    where = ("largest on the shortest reviews" if short > long else
             "largest on the longest reviews")
    return (f"By review length the gap to the better LSTM is {where} ({100 * short:.1f} points "
            f"below {e[1]:.0f} tokens, {100 * long:.1f} above {e[-2]:.0f})")


def conclusion_d(exp_id: str, m: dict[str, Any], results: Docs) -> str:
    s = ["Self-attention compares every pair of positions directly, but a single layer over "
         "frozen word vectors, with no pretraining, must learn from 40,000 reviews which words "
         "and which orders matter, where an LSTM's recurrence builds word order in from the "
         "start; " + _fit_sentence(m) + "."]
    gaps, apart_all = [], True
    for other in (Q1B_LSTM_AVG, Q1C_LSTM_ATTENTION):
        o = results.get(other)
        if o and o.get("test_accuracy") is not None:
            words, apart = _versus(exp_id, m, other, o, results)
            gaps.append(f"{words} {ph.NAMES[other]}")
            apart_all &= apart
    if gaps:
        verdict = ("differences this test set resolves (McNemar p < 0.05 for each)" if apart_all
                   else "not all of which this test set resolves")
        s.append(f"It ends {' and '.join(gaps)} ({ph.pct(m['test_accuracy'])}), {verdict}.")
    if (length := _length_gap(results)) is not None:
        short_larger = "shortest" in length
        s.append(length + (", which suggests that long reviews are not what holds it back."
                           if short_larger else
                           ": long reviews, often cut at the length cap, hurt it most."))
    s.append("The comparison is not like for like: the transformer's learning rate and dropout "
             "were chosen on validation and the LSTMs' were not searched, so the gap may "
             "partly be one of tuning.")
    return " ".join(s)


def comparison_rows(results: Docs) -> Table:
    """The IMDB models and the baseline: test accuracy, best epoch, shortest/longest quarter."""
    rows = []
    edges = None
    for exp_id in (Q1B_LSTM_AVG, Q1C_LSTM_ATTENTION, Q1D_TRANSFORMER, BASELINE_ID):
        r = results.get(exp_id)
        if not r or r.get("test_accuracy") is None:
            continue
        b = r.get("length_buckets") or {}
        edges = edges or b.get("edges")
        acc = b.get("accuracy") or []
        rows.append([ph.NAMES[exp_id], ph.pct(r["test_accuracy"]),
                     f"C = {r['chosen_c']:g}" if exp_id == BASELINE_ID else
                     f"{r.get('best_epoch')} of {r.get('epochs_completed')}",
                     ph.pct(acc[0]) if acc else "\u2014", ph.pct(acc[-1]) if acc else "\u2014",
                     "\u2014" if r.get("n_parameters") is None else f"{r['n_parameters']:,}"])
    short = f"shortest quarter (\u2264 {edges[1]:.0f} tokens)" if edges else "shortest quarter"
    long = f"longest quarter (> {edges[-2]:.0f} tokens)" if edges else "longest quarter"
    return Table(["model", "test accuracy", "tested epoch / chosen C", short, long,
                  "parameters"], rows,
                 caption="The IMDB models on the same 5,000 test reviews (one seed each), with "
                         "the accuracy on the shortest and the longest quarter of the reviews.")


def overview_d(m: dict[str, Any], results: Docs) -> str:
    gaps = []
    for other in (Q1B_LSTM_AVG, Q1C_LSTM_ATTENTION):
        o = results.get(other)
        if o and o.get("test_accuracy") is not None:
            words, _ = _versus(Q1D_TRANSFORMER, m, other, o, results)
            gaps.append(f"{words} {ph.NAMES[other]}")
    return (f"The transformer {ph.pct(m['test_accuracy'])} test, " + " and ".join(gaps)
            + " (one seed; its lr and dropout searched, the LSTMs' not)")
