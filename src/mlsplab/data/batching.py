"""Reviews -> token ids -> length-bucketed, padded batches for the sentiment models.

Vocabulary
    Row 0 of the embedding matrix is padding (``PAD_ID``), row 1 the unknown word (``UNK_ID``),
    rows 2.. the words of the word2vec model in its own order. Both special rows are zero
    vectors and stay frozen, like every other row.

Unknown words
    A token without a word vector (rarer than word2vec's ``min_count`` in the text it was
    trained on, or never seen) becomes ``UNK_ID``: it keeps its time step, so the sequence
    length and word order are the review's own, but it carries no lexical information (a zero
    input vector). A review with no tokens at all becomes one ``UNK`` token, so every sequence
    has length >= 1 and masked means/softmaxes are always defined.

Maximum length
    A review longer than ``max_tokens`` keeps its first ``max_tokens`` tokens; the fraction of
    reviews truncated is measured by :func:`length_stats` and recorded with each run.

Batches
    :func:`bucket_batches` shuffles the rows, cuts the permutation into chunks of
    ``chunk_batches`` batches, sorts each chunk by length and cuts it into batches, then shuffles
    the order of all batches. Each batch therefore holds reviews of similar length (little
    padding) while both the composition of the batches and their order change every epoch. The
    result is a pure function of ``(seed, epoch)``, as the trainer's resume requires.
    :func:`collate` pads a batch on the right with ``PAD_ID``; the models mask every padded
    position (see ``mlsplab.models.pooling``), so padding never changes an output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from mlsplab.errors import MlsplabError
from mlsplab.features.tokenizer import tokenize

PAD_ID = 0
UNK_ID = 1
N_SPECIAL = 2


@dataclass
class Vocabulary:
    """Word -> row of the (frozen) embedding matrix.

    Attributes
    ----------
    words : list of str, length n_words
        Row ``N_SPECIAL + i`` of ``vectors`` is ``words[i]``.
    vectors : ndarray of float32, shape (N_SPECIAL + n_words, embed_dim)
        Rows 0 (padding) and 1 (unknown word) are zeros.
    """

    words: list[str]
    vectors: np.ndarray

    def __post_init__(self) -> None:
        self.index = {w: N_SPECIAL + i for i, w in enumerate(self.words)}

    @property
    def embed_dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.vectors)


def vocabulary_from_keyed_vectors(kv, *, expected_dim: int | None = None,
                                  source: str = "word vectors") -> Vocabulary:
    """Build a :class:`Vocabulary` from a gensim ``KeyedVectors``.

    Parameters
    ----------
    kv : gensim.models.KeyedVectors
        Word vectors of shape (n_words, embed_dim).
    expected_dim : int, optional
        If given, ``embed_dim`` must equal it.
    source : str
        Named in the error message (e.g. the cache file).

    Raises
    ------
    MlsplabError
        If there are no vectors or they have the wrong dimension.
    """
    vectors = np.asarray(kv.vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) == 0:
        raise MlsplabError(f"{source}: no word vectors (shape {vectors.shape}); rebuild them")
    if expected_dim is not None and vectors.shape[1] != expected_dim:
        raise MlsplabError(
            f"{source}: word vectors have dimension {vectors.shape[1]}, expected {expected_dim}; "
            "delete the embeddings cache (or pass vectors of the right size) and run again"
        )
    if not np.isfinite(vectors).all():
        raise MlsplabError(f"{source}: word vectors contain NaN/inf; delete the cache and rebuild")
    table = np.zeros((N_SPECIAL + len(vectors), vectors.shape[1]), dtype=np.float32)
    table[N_SPECIAL:] = vectors
    return Vocabulary(list(kv.index_to_key), table)


def encode(texts: Sequence[str], vocab: Vocabulary, *,
           max_tokens: int | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """Tokenize and map to ids.

    Parameters
    ----------
    texts : sequence of str, length n_reviews
    vocab : Vocabulary
    max_tokens : int, optional
        Keep at most the first ``max_tokens`` tokens of a review; None keeps all.

    Returns
    -------
    ids : list of ndarray of int32, each of shape (length_i,), 1 <= length_i <= max_tokens
    full_lengths : ndarray of int64, shape (n_reviews,)
        Token counts before truncation (0 for a review without tokens).
    """
    if max_tokens is not None and max_tokens < 1:
        raise MlsplabError(f"max_tokens={max_tokens}; expected a positive number of tokens")
    index = vocab.index
    ids, full = [], np.zeros(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        tokens = tokenize(text)
        full[i] = len(tokens)
        row = np.fromiter((index.get(t, UNK_ID) for t in tokens[:max_tokens]), dtype=np.int32)
        ids.append(row if len(row) else np.array([UNK_ID], dtype=np.int32))
    return ids, full


def length_stats(full_lengths: np.ndarray, max_tokens: int | None) -> dict[str, float]:
    """Token-count summary and the fraction of reviews (and tokens) cut by ``max_tokens``."""
    n = np.asarray(full_lengths)
    cut = n > max_tokens if max_tokens else np.zeros(len(n), bool)
    kept = np.minimum(n, max_tokens) if max_tokens else n
    return {
        "mean": float(n.mean()), "median": float(np.median(n)),
        "p90": float(np.percentile(n, 90)), "max": int(n.max()),
        "max_tokens": max_tokens, "fraction_reviews_truncated": float(cut.mean()),
        "fraction_tokens_dropped": float(1 - kept.sum() / max(n.sum(), 1)),
    }


def unknown_rate(ids: Sequence[np.ndarray]) -> float:
    """Fraction of token positions that are ``UNK_ID``."""
    total = sum(len(r) for r in ids)
    return float(sum(int((r == UNK_ID).sum()) for r in ids) / max(total, 1))


def bucket_batches(lengths: np.ndarray, batch_size: int, *, seed: int, epoch: int,
                   chunk_batches: int = 100, shuffle: bool = True) -> list[np.ndarray]:
    """Row indices of each batch, bucketed by length.

    Parameters
    ----------
    lengths : ndarray of int, shape (n_rows,)
    batch_size : int
    seed, epoch : int
        The result is a pure function of these (and the other arguments).
    chunk_batches : int
        Rows are sorted by length within chunks of ``chunk_batches * batch_size`` rows.
    shuffle : bool
        False: no randomness; rows sorted by length over the whole set (for evaluation).

    Returns
    -------
    list of ndarray of int64
        Each of shape (<= batch_size,); together a partition of ``range(n_rows)``.
    """
    if batch_size < 1:
        raise MlsplabError(f"batch_size={batch_size}; expected >= 1")
    lengths = np.asarray(lengths)
    n = len(lengths)
    if not shuffle:
        order = np.argsort(-lengths, kind="stable")
        return [order[i:i + batch_size] for i in range(0, n, batch_size)]
    rng = np.random.default_rng([seed, epoch])
    perm = rng.permutation(n)
    chunk = batch_size * chunk_batches
    batches = []
    for start in range(0, n, chunk):
        part = perm[start:start + chunk]
        part = part[np.argsort(-lengths[part], kind="stable")]  # longest first in the chunk
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


@dataclass
class Batch:
    """A padded batch, rows sorted by decreasing length (what packed sequences want).

    Attributes
    ----------
    ids : LongTensor of shape (B, T)
        ``PAD_ID`` beyond each row's length; T = max length in the batch.
    lengths : LongTensor of shape (B,), on the CPU
    labels : FloatTensor of shape (B,)
        1.0 positive, 0.0 negative.
    rows : ndarray of int64, shape (B,)
        Which rows of the split these are.
    """

    ids: torch.Tensor
    lengths: torch.Tensor
    labels: torch.Tensor
    rows: np.ndarray

    def to(self, device: torch.device) -> Batch:
        return Batch(self.ids.to(device, non_blocking=True), self.lengths,
                     self.labels.to(device, non_blocking=True), self.rows)

    @property
    def n_tokens(self) -> int:
        """Real (unpadded) tokens."""
        return int(self.lengths.sum())


def collate(ids: Sequence[np.ndarray], labels: np.ndarray, rows: np.ndarray, *,
            max_tokens: int | None = None) -> Batch:
    """Pad ``ids[rows]`` to a :class:`Batch` (rows reordered longest first).

    ``max_tokens`` cuts each row (used by the naive benchmark; encoding already cut the data).
    """
    rows = np.asarray(rows)
    lens = np.array([min(len(ids[r]), max_tokens or len(ids[r])) for r in rows], dtype=np.int64)
    order = np.argsort(-lens, kind="stable")
    rows, lens = rows[order], lens[order]
    out = np.full((len(rows), int(lens.max())), PAD_ID, dtype=np.int64)  # (B, T)
    for i, (r, n) in enumerate(zip(rows, lens)):
        out[i, :n] = ids[r][:n]
    return Batch(torch.from_numpy(out), torch.from_numpy(lens),
                 torch.as_tensor(np.asarray(labels)[rows], dtype=torch.float32), rows)
