"""The IMDB sentiment data: validated loading from the zip, the seeded split, duplicate audit.

The assignment's file is a zip with one member, ``IMDB Dataset.csv``, columns
``review,sentiment`` and labels ``positive``/``negative`` (50,000 rows). It is read straight
from the zip; every row is checked and a bad one is reported with its row number (the header
is row 1, the first review row 2, as a spreadsheet shows it).
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlsplab.data.archive import open_zip, read_member
from mlsplab.errors import MlsplabError

log = logging.getLogger(__name__)

IMDB_MEMBER = "IMDB Dataset.csv"
LABELS = {"negative": 0, "positive": 1}
N_TRAIN = 40_000  # the assignment's split: train 40000, test 5000, the remaining 5000 validation
N_TEST = 5_000
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)


@dataclass
class ImdbReviews:
    """The labelled reviews in file order.

    Attributes
    ----------
    texts : list of str, length n_reviews
    labels : ndarray of int64, shape (n_reviews,)
        1 for positive, 0 for negative.
    source : Path
        The zip they came from.
    """

    texts: list[str]
    labels: np.ndarray
    source: Path

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class ImdbSplit:
    """Row indices into :class:`ImdbReviews` for each split (disjoint, covering all rows)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    seed: int

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}

    def to_dict(self) -> dict[str, object]:
        return {"seed": self.seed, "train": self.train, "val": self.val, "test": self.test}


def load_imdb(path: str | os.PathLike) -> ImdbReviews:
    """Read and validate the IMDB zip.

    Raises
    ------
    MlsplabError
        For a corrupt or unsafe zip, a missing member or column, non-UTF-8 bytes, an unknown
        label or an empty review: the message names the file and the row.
    """
    path = Path(path)
    with open_zip(path) as zf:
        raw = read_member(zf, IMDB_MEMBER, path)
    where = f"{path}:{IMDB_MEMBER}"
    # surrogateescape keeps undecodable bytes so we can report the row they sit in.
    text = raw.decode("utf-8", errors="surrogateescape").lstrip("\ufeff")
    has_bad_bytes = _UNDECODABLE.search(text) is not None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise MlsplabError(f"{where}: empty file; expected a header 'review,sentiment'") from None
    header = [h.strip().lower() for h in header]
    missing = [c for c in ("review", "sentiment") if c not in header]
    if missing:
        raise MlsplabError(
            f"{where}: missing column(s) {missing}; found columns {header}, "
            "expected 'review,sentiment'"
        )
    i_review, i_label = header.index("review"), header.index("sentiment")
    texts: list[str] = []
    labels: list[int] = []
    try:
        for row_no, row in enumerate(reader, start=2):
            if not row:
                continue  # blank line
            if len(row) != len(header):
                raise MlsplabError(
                    f"{where}: row {row_no} has {len(row)} fields, expected {len(header)}"
                )
            review, label = row[i_review], row[i_label].strip().lower()
            if has_bad_bytes and _UNDECODABLE.search(review + label):
                raise MlsplabError(f"{where}: row {row_no} is not valid UTF-8")
            if label not in LABELS:
                raise MlsplabError(
                    f"{where}: row {row_no} has unknown label {row[i_label]!r}; "
                    f"expected one of {sorted(LABELS)}"
                )
            if not review.strip():
                raise MlsplabError(f"{where}: row {row_no} has an empty review")
            texts.append(review)
            labels.append(LABELS[label])
    except csv.Error as e:
        raise MlsplabError(f"{where}: malformed CSV near row {reader.line_num}: {e}") from e
    if not texts:
        raise MlsplabError(f"{where}: no reviews after the header")
    log.info("loaded %d reviews from %s", len(texts), path)
    return ImdbReviews(texts, np.asarray(labels, dtype=np.int64), path)


def default_split_sizes(n_reviews: int) -> tuple[int, int]:
    """``(n_train, n_test)``: the assignment's 40000/5000 for the 50,000-review file; for a
    file of another size, the same 80 % / 10 % proportions (logged as a deviation)."""
    if n_reviews == N_TRAIN + 2 * N_TEST:
        return N_TRAIN, N_TEST
    n_train, n_test = round(0.8 * n_reviews), round(0.1 * n_reviews)
    log.warning("%d reviews, not 50000: splitting 80/10/10 -> %d train, %d test, %d val",
                n_reviews, n_train, n_test, n_reviews - n_train - n_test)
    return n_train, n_test


def split_imdb(
    n_reviews: int, seed: int, *, n_train: int | None = None, n_test: int | None = None
) -> ImdbSplit:
    """Seeded random split: ``n_train`` train, ``n_test`` test, the rest validation.

    By default the assignment's 40000 / 5000 / 5000 (see :func:`default_split_sizes`).
    The same ``(n_reviews, seed, n_train, n_test)`` always gives the same indices.
    """
    if n_train is None or n_test is None:
        n_train, n_test = default_split_sizes(n_reviews)
    if n_train <= 0 or n_test <= 0 or n_train + n_test >= n_reviews:
        raise MlsplabError(
            f"cannot split {n_reviews} reviews into n_train={n_train}, n_test={n_test} "
            "and a non-empty validation set"
        )
    perm = np.random.default_rng(seed).permutation(n_reviews)
    return ImdbSplit(
        train=np.sort(perm[:n_train]),
        test=np.sort(perm[n_train : n_train + n_test]),
        val=np.sort(perm[n_train + n_test :]),
        seed=seed,
    )


def duplicate_audit(texts: list[str], split: ImdbSplit) -> dict[str, int]:
    """Count exact duplicate reviews and how many of them cross split boundaries.

    Returns
    -------
    dict
        ``distinct_texts``, ``duplicate_rows`` (rows whose text appeared earlier),
        ``duplicate_groups`` (texts seen more than once), ``groups_crossing_splits`` (of those,
        groups spread over more than one split), ``eval_rows_with_train_twin`` (validation or
        test rows whose exact text is also in train), and that count per split:
        ``val_rows_with_train_twin``, ``test_rows_with_train_twin``.
    """
    where = np.empty(len(texts), dtype=object)
    for name in ("train", "val", "test"):
        where[getattr(split, name)] = name
    groups: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    for i, t in enumerate(texts):
        groups[t].add(where[i])
        counts[t] += 1
    dup = [t for t, c in counts.items() if c > 1]
    twins = {name: int(train_twin_mask(texts, split.train, getattr(split, name)).sum())
             for name in ("val", "test")}
    return {
        "distinct_texts": len(counts),
        "duplicate_rows": len(texts) - len(counts),
        "duplicate_groups": len(dup),
        "groups_crossing_splits": sum(1 for t in dup if len(groups[t]) > 1),
        "eval_rows_with_train_twin": twins["val"] + twins["test"],
        "val_rows_with_train_twin": twins["val"],
        "test_rows_with_train_twin": twins["test"],
    }


def train_twin_mask(texts: list[str], train_rows: np.ndarray,
                    rows: np.ndarray) -> np.ndarray:
    """Which of ``rows`` have an exact twin (the same text) among ``train_rows``.

    Parameters
    ----------
    texts : list of str
        All reviews; rows index into it.
    train_rows, rows : ndarray of int
        Disjoint row indices (the training rows, and e.g. the test rows).

    Returns
    -------
    ndarray of bool, shape (len(rows),)
    """
    train_texts = {texts[i] for i in train_rows}
    return np.fromiter((texts[i] in train_texts for i in rows), dtype=bool, count=len(rows))
