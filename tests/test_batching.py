"""Vocabulary, encoding and length-bucketed batches."""

from __future__ import annotations

import numpy as np
import pytest
from gensim.models import KeyedVectors

from mlsplab.data.batching import (
    PAD_ID,
    UNK_ID,
    bucket_batches,
    collate,
    encode,
    length_stats,
    vocabulary_from_keyed_vectors,
)
from mlsplab.errors import MlsplabError


def _kv(words, dim=100):
    kv = KeyedVectors(dim)
    kv.add_vectors(words, np.random.default_rng(0).normal(size=(len(words), dim)))
    return kv


def test_vocabulary_rows_and_unknown_words():
    vocab = vocabulary_from_keyed_vectors(_kv(["good", "bad"]), expected_dim=100)
    assert vocab.vectors.shape == (4, 100)
    assert not vocab.vectors[PAD_ID].any() and not vocab.vectors[UNK_ID].any()
    ids, full = encode(["Good <br />zzz bad!", "", "good good good"], vocab, max_tokens=2)
    assert ids[0].tolist() == [vocab.index["good"], UNK_ID]  # unknown word keeps its step
    assert ids[1].tolist() == [UNK_ID]  # an empty review becomes one unknown token
    assert full.tolist() == [3, 0, 3]
    stats = length_stats(full, 2)
    assert stats["fraction_reviews_truncated"] == pytest.approx(2 / 3)


def test_wrong_dimension_is_a_clear_error():
    with pytest.raises(MlsplabError, match="dimension 50, expected 100"):
        vocabulary_from_keyed_vectors(_kv(["a"], dim=50), expected_dim=100, source="cache.kv")


def test_bucket_batches_partition_deterministic_and_bucketed():
    lengths = np.random.default_rng(1).integers(1, 500, size=1000)
    a = bucket_batches(lengths, 32, seed=3, epoch=1, chunk_batches=10)
    b = bucket_batches(lengths, 32, seed=3, epoch=1, chunk_batches=10)
    c = bucket_batches(lengths, 32, seed=3, epoch=2, chunk_batches=10)
    assert all((x == y).all() for x, y in zip(a, b)) and len(a) == len(b)
    assert any(len(x) != len(y) or (x != y).any() for x, y in zip(a, c))  # new epoch, new order
    flat = np.concatenate(a)
    assert sorted(flat.tolist()) == list(range(1000))  # every row exactly once
    # bucketing: padding is a small fraction of the tokens, unlike random batches
    pad = sum(lengths[x].max() * len(x) - lengths[x].sum() for x in a) / lengths.sum()
    rand = np.random.default_rng(0).permutation(1000)
    pad_rand = sum(lengths[x].max() * len(x) - lengths[x].sum()
                   for x in np.array_split(rand, 32)) / lengths.sum()
    assert pad < 0.15 and pad_rand > 0.5


def test_collate_pads_right_and_sorts():
    ids = [np.array([5, 6], np.int32), np.array([7, 8, 9], np.int32), np.array([4], np.int32)]
    batch = collate(ids, np.array([0, 1, 1]), np.array([0, 1, 2]))
    assert batch.ids.tolist() == [[7, 8, 9], [5, 6, PAD_ID], [4, PAD_ID, PAD_ID]]
    assert batch.lengths.tolist() == [3, 2, 1] and batch.rows.tolist() == [1, 0, 2]
    assert batch.labels.tolist() == [1.0, 0.0, 1.0] and batch.n_tokens == 6
    cut = collate(ids, np.array([0, 1, 1]), np.array([0, 1]), max_tokens=2)
    assert cut.ids.shape == (2, 2)
