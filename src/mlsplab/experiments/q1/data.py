"""Q1 data: reviews -> the seeded split -> word vectors (training text only) -> token ids.

Also measured here, once per seed: the length statistics, the unknown-word rate, and the
duplicate audit of the rows used (exact twins across the split; issue 12 item 5), with a mask
of the validation and test rows that have a twin in training.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlsplab.data.batching import (
    Vocabulary,
    encode,
    length_stats,
    unknown_rate,
    vocabulary_from_keyed_vectors,
)
from mlsplab.data.files import IMDB_ZIP, locate, provenance
from mlsplab.data.imdb import ImdbSplit, duplicate_audit, load_imdb, split_imdb, train_twin_mask
from mlsplab.errors import MlsplabError
from mlsplab.experiments.q1.config import EMBED_DIM

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


@dataclass
class SentimentData:
    """Token ids and labels of each split, and what was measured about them."""

    vocab: Vocabulary
    ids: dict[str, list[np.ndarray]]  # split -> list of (length_i,) int32 arrays
    labels: dict[str, np.ndarray]  # split -> (n,) int64
    full_lengths: dict[str, np.ndarray]  # split -> (n,) token counts before the length cap
    texts_val: list[str]  # for the attention examples (the words as written)
    train_twin: dict[str, np.ndarray]  # "val"/"test" -> (n,) bool: exact twin in training
    duplicate_audit: dict[str, Any]
    train_eval_rows: np.ndarray  # the fixed training subset of the eval-mode training loss
    lengths: dict[str, Any]  # length_stats of the training split
    unknown_rate: float
    provenance: dict[str, Any]
    vectors: dict[str, Any]  # word-vector info from get_word_vectors


def get_word_vectors(train_texts: list[str], **kwargs: Any) -> tuple[Any, dict[str, Any]]:
    """Indirection to :func:`mlsplab.features.word_vectors.get_word_vectors` (tests patch it)."""
    from mlsplab.features.word_vectors import get_word_vectors as _get

    return _get(train_texts, **kwargs)


def split_rows(n_reviews: int, seed: int, subset: dict[str, int] | None) -> dict[str, np.ndarray]:
    """Row indices of each split: the assignment's seeded split, or its first ``subset`` rows
    of each split in quick mode (the split is random, so those are a random subset)."""
    split = split_imdb(n_reviews, seed)
    rows = {"train": split.train, "val": split.val, "test": split.test}
    if subset:
        rows = {k: v[:subset[k]] for k, v in rows.items()}
    return rows


def audit_rows(texts: list[str], rows: dict[str, np.ndarray]) -> dict[str, Any]:
    """:func:`duplicate_audit` of exactly the rows used (all of them, or the quick subset)."""
    used = np.concatenate([rows[k] for k in SPLITS])
    n = {k: len(rows[k]) for k in SPLITS}
    local = ImdbSplit(train=np.arange(n["train"]),
                      val=np.arange(n["train"], n["train"] + n["val"]),
                      test=np.arange(n["train"] + n["val"], len(used)), seed=-1)
    return {**duplicate_audit([texts[i] for i in used], local), "rows": n}


def train_eval_subset(n_train: int, n_reviews: int, seed: int) -> np.ndarray:
    """A fixed, seeded, sorted subset of ``min(n_reviews, n_train)`` training rows."""
    rng = np.random.default_rng([seed, 5000])  # its own stream: independent of the split's
    return np.sort(rng.choice(n_train, size=min(n_reviews, n_train), replace=False))


def load_data(*, out: Path, data_dir: str | Path | None, seed: int,
              subset: dict[str, int] | None, max_tokens: int, train_eval_reviews: int,
              quick: bool, pretrained: str | Path | None = None) -> SentimentData:
    """Load the reviews, split them, get word vectors (train text only) and encode every split.

    Raises
    ------
    MlsplabError
        For a missing/corrupt data file, an empty split, or word vectors that are not 100-d.
    """
    zip_path = locate(IMDB_ZIP, data_dir)
    reviews = load_imdb(zip_path)
    rows = split_rows(len(reviews), seed, subset)
    for name, r in rows.items():
        if len(r) == 0:
            raise MlsplabError(f"{zip_path}: the {name} split is empty ({len(reviews)} reviews); "
                               "use a file with more reviews")
    kv, info = get_word_vectors([reviews.texts[i] for i in rows["train"]],
                                cache_dir=Path(out) / "cache", data_dir=data_dir, seed=seed,
                                quick=quick,
                                pretrained=None if pretrained is None else Path(pretrained))
    vocab = vocabulary_from_keyed_vectors(kv, expected_dim=EMBED_DIM,
                                          source=str(info.get("cache_path", "word vectors")))
    ids, labels, full = {}, {}, {}
    for name, r in rows.items():
        ids[name], full[name] = encode([reviews.texts[i] for i in r], vocab,
                                       max_tokens=max_tokens)
        labels[name] = reviews.labels[r]
    twins = {k: train_twin_mask(reviews.texts, rows["train"], rows[k]) for k in ("val", "test")}
    stats = length_stats(full["train"], max_tokens)
    log.info("train reviews: mean %.0f tokens, %.1f %% cut at %s tokens; %d-word vocabulary; "
             "%d test and %d validation reviews have a twin in training", stats["mean"],
             100 * stats["fraction_reviews_truncated"], max_tokens, len(vocab),
             twins["test"].sum(), twins["val"].sum())
    return SentimentData(
        vocab=vocab, ids=ids, labels=labels, full_lengths=full,
        texts_val=[reviews.texts[i] for i in rows["val"]], train_twin=twins,
        duplicate_audit=audit_rows(reviews.texts, rows),
        train_eval_rows=train_eval_subset(len(rows["train"]), train_eval_reviews, seed),
        lengths=stats, unknown_rate=unknown_rate(ids["train"]),
        provenance=provenance(zip_path), vectors=info)
