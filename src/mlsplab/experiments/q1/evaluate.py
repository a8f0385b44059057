"""Evaluation of a Q1 model: losses, per-review predictions and what is measured from them.

Everything here runs in eval mode without gradients. Measured at test time (issue 13 item 4):
accuracy by review-length bucket, and for attention pooling the entropy of the weights against
the uniform entropy, the share of mass on the top 5 % of tokens, weight by relative position
and the words with the highest mean weight. Weights are compared across reviews of different
lengths as ``weight x length``: 1 is what a uniform average would give each token.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from mlsplab.data.batching import N_SPECIAL, UNK_ID, bucket_batches, collate
from mlsplab.experiments.q1.config import EVAL_BATCH_SIZE
from mlsplab.experiments.q1.data import SentimentData
from mlsplab.features.tokenizer import tokenize
from mlsplab.runtime import Precision, autocast


@dataclass
class Predictions:
    """Per-review results on one split, in the split's row order."""

    loss: np.ndarray  # (n,) BCE of each review
    logit: np.ndarray  # (n,)
    correct: np.ndarray  # (n,) bool
    mean_loss: float  # batch sums of float32 losses added in batch order, / n
    attention: list[np.ndarray] | None = None  # n arrays of shape (length_i,), each sums to 1

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean())


def forward_losses(model: nn.Module, batch: Any, device: torch.device,
                   precision: Precision, *, attention: bool = False
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Per-review BCE losses (B,), logits (B,) and, if asked, attention weights (B, T)."""
    b = batch.to(device)
    alpha = None
    with autocast(device, precision):
        if attention:
            logits, alpha = model(b.ids, b.lengths, return_attention=True)  # (B,), (B, T)
        else:
            logits = model(b.ids, b.lengths)  # (B,)
    losses = nn.functional.binary_cross_entropy_with_logits(logits.float(), b.labels,
                                                            reduction="none")
    return losses, logits.float(), alpha


def predict(model: nn.Module, ids: list[np.ndarray], labels: np.ndarray, device: torch.device,
            precision: Precision, *, attention: bool = False) -> Predictions:
    """Per-review loss, logit and correctness of ``model`` on one split (eval mode, no grad).

    Batches are the split sorted by length (little padding); results return in row order.
    ``attention=True`` (attention pooling only) also keeps each review's weights.
    """
    n = len(ids)
    loss, logit, total = np.zeros(n), np.zeros(n), 0.0
    weights: list[np.ndarray] | None = [np.empty(0)] * n if attention else None
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for rows in bucket_batches(np.array([len(r) for r in ids]), EVAL_BATCH_SIZE, seed=0,
                                   epoch=0, shuffle=False):
            batch = collate(ids, labels, rows)
            losses, logits, alpha = forward_losses(model, batch, device, precision,
                                                   attention=attention)
            loss[batch.rows], logit[batch.rows] = losses.cpu().numpy(), logits.cpu().numpy()
            total += float(losses.sum())  # summed as before the package, to the same bits
            if weights is not None and alpha is not None:
                a = alpha.float().cpu().numpy()  # (B, T)
                for j, (r, t) in enumerate(zip(batch.rows, batch.lengths.tolist())):
                    weights[r] = a[j, :t]
    model.train(was_training)
    correct = (logit > 0) == (np.asarray(labels) == 1)
    return Predictions(loss, logit, correct, total / n, weights)


def evaluate(model: nn.Module, ids: list[np.ndarray], labels: np.ndarray,
             device: torch.device, precision: Precision) -> dict[str, float]:
    """Mean BCE loss and accuracy of ``model`` on one split."""
    p = predict(model, ids, labels, device, precision)
    return {"loss": p.mean_loss, "accuracy": p.accuracy}


def epoch_evaluator(data: SentimentData, device: torch.device,
                    precision: Precision) -> Callable[[nn.Module], dict[str, float]]:
    """The trainer's end-of-epoch evaluation: validation loss/accuracy, and the training loss
    measured the same way (eval mode, no dropout) on the fixed training subset, with the
    seconds each pass took (the cost of the extra measurement)."""
    sub_ids = [data.ids["train"][i] for i in data.train_eval_rows]
    sub_labels = data.labels["train"][data.train_eval_rows]

    def run(model: nn.Module) -> dict[str, float]:
        t0 = time.perf_counter()
        val = evaluate(model, data.ids["val"], data.labels["val"], device, precision)
        t1 = time.perf_counter()
        train = evaluate(model, sub_ids, sub_labels, device, precision)
        t2 = time.perf_counter()
        return {"loss": val["loss"], "accuracy": val["accuracy"],
                "train_eval_loss": train["loss"], "train_eval_accuracy": train["accuracy"],
                "val_seconds": t1 - t0, "train_eval_seconds": t2 - t1}

    return run


def accuracy_where(correct: np.ndarray, mask: np.ndarray) -> float | None:
    """Accuracy over the reviews where ``mask`` is True (None if there are none)."""
    return float(correct[mask].mean()) if mask.any() else None


def length_edges(full_lengths: np.ndarray, n_buckets: int) -> list[float]:
    """Bucket edges at the quantiles of ``full_lengths``: [min, q_1, ..., max]."""
    return [float(x) for x in np.quantile(full_lengths, np.linspace(0, 1, n_buckets + 1))]


def length_buckets(full_lengths: np.ndarray, correct: np.ndarray, max_tokens: int,
                   edges: list[float]) -> dict[str, Any]:
    """Accuracy per review-length bucket.

    Bucket ``i`` holds the reviews with ``edges[i] < length <= edges[i+1]`` (the first also
    ``length == edges[0]``); lengths are token counts before the ``max_tokens`` cap, whose
    share per bucket is recorded too.
    """
    full_lengths = np.asarray(full_lengths)
    bucket = np.searchsorted(np.asarray(edges[1:-1]), full_lengths, side="left")  # (n,)
    n, acc, cut = [], [], []
    for i in range(len(edges) - 1):
        m = bucket == i
        n.append(int(m.sum()))
        acc.append(accuracy_where(correct, m))
        cut.append(float((full_lengths[m] > max_tokens).mean()) if m.any() else None)
    return {"edges": edges, "n": n, "accuracy": acc, "truncated_fraction": cut}


def _word_of(vocab_words: list[str], token_id: int) -> str:
    return "<unk>" if token_id == UNK_ID else vocab_words[token_id - N_SPECIAL]


def attention_statistics(weights: list[np.ndarray], ids: list[np.ndarray],
                         vocab_words: list[str], *, min_count: int, top_fraction: float,
                         bins: int, top_k: int) -> dict[str, Any]:
    """How attention pooling spreads its weight over the reviews of a split.

    Parameters
    ----------
    weights, ids : lists of ndarray of shape (length_i,)
        Each review's attention weights (summing to 1) and token ids.
    vocab_words : list of str
        ``vocab.words`` (id ``N_SPECIAL + i`` is ``vocab_words[i]``).
    min_count : int
        Words seen fewer times are left out of the word ranking.

    Returns
    -------
    dict
        ``entropy_mean`` (nats) and ``uniform_entropy_mean`` (log length), ``entropy_ratio_mean``
        (their per-review ratio, reviews of >= 2 tokens), ``top_mass_mean`` (mass on the top
        ``top_fraction`` of tokens) and ``top_mass_uniform_mean`` (what uniform would give),
        ``max_weight_ratio_mean`` (largest weight x length), ``position_ratio`` (mean
        weight x length per relative-position bin, reviews of >= ``bins`` tokens),
        ``top_words`` / ``bottom_words`` (word, mean weight x length, count).
    """
    lens = np.array([len(w) for w in weights])
    a = np.concatenate(weights).astype(np.float64)  # (N,) all tokens of all reviews
    tok = np.concatenate(ids).astype(np.int64)  # (N,)
    T = np.repeat(lens, lens)  # (N,) the length of each token's review
    ratio = a * T  # (N,) 1 = a uniform average's weight
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    entropy = np.add.reduceat(-a * np.log(np.clip(a, 1e-30, None)), starts)  # (n_reviews,)
    long = lens >= 2
    k = np.ceil(top_fraction * lens).astype(int)
    top_mass = np.array([np.sort(w)[::-1][:j].sum() for w, j in zip(weights, k)])
    t = np.arange(len(a)) - np.repeat(starts, lens)  # (N,) position inside its review
    pos_bin = np.minimum(((t + 0.5) / T * bins).astype(int), bins - 1)  # (N,)
    ok = np.repeat(lens >= bins, lens)  # every bin of these reviews holds a token
    review = np.repeat(np.arange(len(lens)), lens)
    per_review_bin = np.zeros((len(lens), bins))  # (n_reviews, bins) mean ratio
    counts = np.zeros((len(lens), bins))
    np.add.at(per_review_bin, (review[ok], pos_bin[ok]), ratio[ok])
    np.add.at(counts, (review[ok], pos_bin[ok]), 1)
    used = lens >= bins
    position = (per_review_bin[used] / np.maximum(counts[used], 1)).mean(axis=0) if used.any() \
        else np.full(bins, np.nan)
    word_sum = np.bincount(tok, weights=ratio)
    word_n = np.bincount(tok)
    frequent = np.flatnonzero(word_n >= min_count)
    frequent = frequent[frequent >= UNK_ID]  # never padding
    order = frequent[np.argsort(-word_sum[frequent] / word_n[frequent], kind="stable")]

    def rows(sel: np.ndarray) -> list[dict[str, Any]]:
        return [{"word": _word_of(vocab_words, int(i)), "weight_ratio": float(word_sum[i] /
                 word_n[i]), "count": int(word_n[i])} for i in sel]

    return {
        "n_reviews": len(lens),
        "entropy_mean": float(entropy.mean()),
        "uniform_entropy_mean": float(np.log(lens).mean()),
        "entropy_ratio_mean": float((entropy[long] / np.log(lens[long])).mean())
        if long.any() else None,
        "top_fraction": top_fraction,
        "top_mass_mean": float(top_mass.mean()),
        "top_mass_uniform_mean": float((k / lens).mean()),
        "max_weight_ratio_mean": float(np.mean([w.max() * len(w) for w in weights])),
        "position_bins": bins,
        "position_ratio": [None if math.isnan(x) else float(x) for x in position],
        "position_reviews": int(used.sum()),
        "min_count": min_count,
        "top_words": rows(order[:top_k]),
        "bottom_words": rows(order[::-1][:top_k]),
    }


def attention_examples(model: nn.Module, data: SentimentData, device: torch.device, *,
                       n_examples: int, word_range: tuple[int, int]) -> list[dict[str, Any]]:
    """Attention weights over the words of a few short validation reviews, of both labels
    alternately where possible: ``row``, ``label``, ``p_positive``, ``words``, ``weights``."""
    lengths = np.array([len(r) for r in data.ids["val"]])
    short = [i for i in range(len(lengths)) if word_range[0] <= lengths[i] <= word_range[1]]
    by_label = {y: [i for i in short if data.labels["val"][i] == y] for y in (1, 0)}
    rows = [r for pair in zip(by_label[1], by_label[0]) for r in pair][:n_examples]
    rows = rows or short[:n_examples] or list(range(min(n_examples, len(lengths))))
    examples = []
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for r in rows:
            ids = torch.from_numpy(data.ids["val"][r].astype(np.int64))[None].to(device)  # (1,T)
            logit, alpha = model(ids, torch.tensor([ids.shape[1]]), return_attention=True)
            words = tokenize(data.texts_val[r])[:ids.shape[1]] or ["<unk>"]
            examples.append({"row": int(r), "label": int(data.labels["val"][r]),
                             "p_positive": float(torch.sigmoid(logit.float())[0]),
                             "words": words, "weights": alpha[0].float().cpu().tolist()})
    model.train(was_training)
    return examples
