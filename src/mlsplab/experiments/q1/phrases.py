"""Sentences about one Q1 result, generated from its ``metrics.json`` at report time.

Every sentence states what a recorded run measured; signs are phrased as words ("rose",
"fell", "above", "below"), never as a signed number after "exceeded".
"""

from __future__ import annotations

import re
from typing import Any

from mlsplab.experiments.ids import (
    Q1_TFIDF_BASELINE,
    Q1B_LSTM_AVG,
    Q1C_LSTM_ATTENTION,
    Q1D_TRANSFORMER,
)
from mlsplab.experiments.q1.config import EPOCHS, MODEL_IDS
from mlsplab.formatting import percent, points

NAMES = {Q1B_LSTM_AVG: "LSTM + average pooling",
         Q1C_LSTM_ATTENTION: "LSTM + attention pooling",
         Q1D_TRANSFORMER: "the transformer", Q1_TFIDF_BASELINE: "the TF-IDF baseline"}
SAME = 0.0005  # losses closer than this are "unchanged" at the 3 decimals printed


def pct(value: Any, std: Any = None) -> str:
    return percent(value, std, digits=2)


def pts(difference: float) -> str:
    return points(difference, digits=2)


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def duration(seconds: float) -> str:
    """``'4.2 s'``, ``'38 s'``, ``'9.5 min'``, ``'2.3 h'``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def moved(before: float, after: float, what: str) -> str:
    """``'<what> fell from 0.312 to 0.201'`` / ``rose`` / ``stayed at``, by the sign."""
    if abs(after - before) < SAME:
        return f"{what} stayed at {after:.3f}"
    verb = "fell" if after < before else "rose"
    return f"{what} {verb} from {before:.3f} to {after:.3f}"


def relation(a: float, b: float) -> str:
    """``'0.042 above'`` / ``'0.013 below'`` / ``'equal to'``: a relative to b."""
    if abs(a - b) < SAME:
        return "equal to"
    return f"{abs(a - b):.3f} {'above' if a > b else 'below'}"


def accuracy_phrase(m: dict[str, Any]) -> str:
    """``'91.58 %'`` or ``'91.20 ± 0.31 % (mean ± std over 3 seeds)'``."""
    n = len(m.get("test_accuracy_values") or [m.get("test_accuracy")])
    if n > 1:
        return (f"{pct(m['test_accuracy'], m.get('test_accuracy_std'))} (mean \u00b1 standard "
                f"deviation over {n} seeds)")
    return pct(m["test_accuracy"])


def status(m: dict[str, Any] | None) -> str:
    """The report's status of one model's result."""
    if not m or m.get("test_accuracy") is None:
        return "missing"
    if m.get("config", {}).get("quick"):
        return "quick"
    done, planned = m.get("epochs_completed", 0), m.get("epochs_planned", EPOCHS)
    if done < EPOCHS or planned != EPOCHS or not m.get("complete", True):
        return f"partial: {done} of {EPOCHS} epochs"
    return "full"


def curve_sentences(m: dict[str, Any]) -> list[str]:
    """What the first seed's loss curves show: best epoch, the course after it, the gap."""
    h = m.get("history") or []
    if not h:
        return ["No epoch finished (the run stopped at its time budget inside epoch 1)."]
    key = "train_eval_loss" if h[-1].get("train_eval_loss") is not None else "train_loss"
    n_sub = m.get("train_eval_reviews") or 0
    how = (f"eval-mode training loss (end of epoch, {n_sub:,}-review subset)" if key ==
           "train_eval_loss" else "training loss (train-mode running mean: this older run has "
           "no eval-mode measurement)")
    b = m.get("best_epoch") or 1
    best, last = h[b - 1], h[-1]
    n = len(h)
    seeds = m.get("seeds") or []
    which = (f"seed {seeds[0]}: ", "; the other seeds are in the appendix") if len(seeds) > 1 \
        else ("", "")
    s = [(f"Validation loss was lowest at epoch {b} of {n} ({which[0]}{best['val_loss']:.3f}, "
          f"validation accuracy {pct(best['val_accuracy'])}{which[1]}).")]
    if b < n:
        s.append(f"From epoch {b} to epoch {n} the {moved(best[key], last[key], how)}, while "
                 f"the {moved(best['val_loss'], last['val_loss'], 'validation loss')}"
                 + ("; the model kept fitting the training reviews while its validation loss "
                    "grew: overfitting after epoch " + str(b) + "."
                    if last[key] < best[key] - SAME and last["val_loss"] > best["val_loss"] + 0.01
                    else "."))
    else:
        s.append(f"It was still at its lowest at the last epoch run, so the {n} epochs show "
                 "no rise of the validation loss.")
    s.append(f"At epoch {n} the validation loss was {relation(last['val_loss'], last[key])} "
             f"the {how.split(' (')[0]} ({last['val_loss']:.3f} vs {last[key]:.3f}).")
    if key == "train_eval_loss":
        s.append(f"The train-mode running mean (dropout on, weights changing during the epoch) "
                 f"was {relation(last['train_loss'], last[key])} the eval-mode value at that "
                 f"epoch ({last['train_loss']:.3f} against {last[key]:.3f}), which is why the "
                 "gap is read from the eval-mode curve.")
    return s


def cost_sentence(m: dict[str, Any]) -> str | None:
    """The measured cost of the eval-mode training loss per epoch."""
    t, epoch = m.get("train_eval_seconds_per_epoch"), m.get("seconds_per_epoch")
    if t is None or not epoch:
        return None
    return (f"Measuring the eval-mode training loss on {m.get('train_eval_reviews', 0):,} "
            f"training reviews took {duration(t)} per epoch, {100 * t / epoch:.1f} % of "
            f"the {duration(epoch)} of an epoch's training steps.")


def twin_sentence(m: dict[str, Any]) -> str | None:
    """The duplicate audit and the accuracy without the test reviews that have a twin."""
    audit = m.get("duplicate_audit")
    if not audit or "test_rows_with_train_twin" not in audit:
        return None
    rows = audit.get("rows", m.get("sizes", {}))
    n_test, n_val = audit["test_rows_with_train_twin"], audit["val_rows_with_train_twin"]
    if not n_test and not n_val:
        return (f"Duplicate audit: none of the {rows.get('test', 0):,} test and "
                f"{rows.get('val', 0):,} validation reviews has an exact twin in the training "
                "split.")
    s = (f"Duplicate audit: {n_test} of the {rows.get('test', 0):,} test reviews and {n_val} of "
         f"the {rows.get('val', 0):,} validation reviews have an exact twin in the training "
         "split (the assignment's random split keeps them).")
    if n_test and m.get("test_accuracy_no_train_twin") is not None:
        s += (f" On the {m.get('n_test_no_train_twin', 0):,} test reviews without one, the "
              f"accuracy is {pct(m['test_accuracy_no_train_twin'])} (all: "
              f"{pct(m['test_accuracy'])}).")
    return s


def pair_of(comparison: dict[str, Any] | None, a: str, b: str) -> dict[str, Any] | None:
    """The recorded comparison of ``a`` with ``b`` (difference = a - b), either order."""
    for p in (comparison or {}).get("pairs", []):
        if (p["a"], p["b"]) == (a, b):
            return p
        if (p["a"], p["b"]) == (b, a):
            flipped = {**p, "a": a, "b": b, "difference": -p["difference"],
                       "paired_differences": [-d for d in p.get("paired_differences", [])]}
            if "mcnemar" in p:
                mc = p["mcnemar"]
                flipped["mcnemar"] = {**mc, "a_only_correct": mc["b_only_correct"],
                                      "b_only_correct": mc["a_only_correct"]}
            return flipped
    return None


def difference_sentence(a_id: str, a: dict[str, Any], b_id: str, b: dict[str, Any],
                        comparison: dict[str, Any] | None) -> str:
    """``a`` against ``b`` on test accuracy, and whether the difference exceeds the spread
    over seeds (several seeds) or what McNemar's test on the shared test set says (one)."""
    d = a["test_accuracy"] - b["test_accuracy"]
    s = f"Against {NAMES[b_id]} ({pct(b['test_accuracy'], b.get('test_accuracy_std'))}): {pts(d)}."
    p = pair_of(comparison, a_id, b_id)
    if p and p.get("largest_std") is not None:
        diffs = p.get("paired_differences") or []
        same_sign = len(diffs) > 1 and (all(x > 0 for x in diffs) or all(x < 0 for x in diffs))
        s += (f" The difference is {'larger' if abs(d) > p['largest_std'] else 'not larger'} "
              f"than the larger standard deviation over seeds ({100 * p['largest_std']:.2f} "
              f"points)" + (f", and has the same sign in all {len(diffs)} paired seeds."
                            if same_sign else "."))
    elif p and "mcnemar" in p:
        mc = p["mcnemar"]
        s += (f" With one seed there is no spread over seeds to compare with; on the same test "
              f"reviews only {NAMES[a_id]} was right on {mc['a_only_correct']} and only "
              f"{NAMES[b_id]} on {mc['b_only_correct']} (McNemar's exact test: p = "
              f"{mc['p_value']:.2g}).")
    return s


def deviations(m: dict[str, Any]) -> list[str]:
    """How a model's run differs from the assignment (identical texts across the models)."""
    cfg, dev = m.get("config", {}), []
    if cfg.get("epochs", EPOCHS) != EPOCHS:
        dev.append(f"IMDB models trained {cfg['epochs']} epochs instead of the assignment's "
                   f"{EPOCHS}")
    if cfg.get("quick"):
        s = m.get("sizes") or cfg.get("subset") or {}
        dev.append(f"quick mode: {s.get('train'):,} / {s.get('val'):,} / {s.get('test'):,} "
                   "training / validation / test reviews instead of 40,000 / 5,000 / 5,000, "
                   "and quick word vectors")
    lengths = m.get("lengths") or {}
    if lengths.get("fraction_reviews_truncated"):
        dev.append(f"reviews cut to their first {cfg.get('max_tokens')} tokens "
                   f"({100 * lengths['fraction_reviews_truncated']:.1f} % of training reviews, "
                   f"{100 * lengths['fraction_tokens_dropped']:.1f} % of training tokens)")
    src = str((m.get("word_vectors") or {}).get("source") or "")
    if src.startswith("word2vec trained"):
        dev.append(word2vec_deviation(src))
    return dev


def word2vec_deviation(source: str) -> str:
    """The one sentence for self-trained word vectors, the same for Q1(a) and Q1(b-d), from the
    recorded ``word_vectors.source`` ("word2vec trained on N unlabelled IMDB reviews (...) + M
    training-split reviews")."""
    numbers = re.findall(r"(\d+) (?:unlabelled|training-split)", source)
    corpus = (f"{int(numbers[0]):,} unlabelled IMDB reviews and the {int(numbers[1]):,} "
              "training-split reviews" if len(numbers) == 2 else source)
    return ("No pre-trained word2vec model can be downloaded offline, so the 100-d word vectors "
            f"are a gensim word2vec trained here on {corpus} (never validation or test text).")


def model_label(exp_id: str) -> str:
    return {v: k for k, v in MODEL_IDS.items()}.get(exp_id, exp_id)
