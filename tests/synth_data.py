"""Tiny synthetic stand-ins for the IMDB files, written by tests (never committed data).

Reviews mix sentiment words with neutral filler so that a model can learn the labels, with
HTML line breaks like the real file.  Import in tests as ``from synth_data import ...``.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
import zipfile
from pathlib import Path

POSITIVE = ["great", "wonderful", "excellent", "loved", "brilliant", "superb", "enjoyable"]
NEGATIVE = ["awful", "terrible", "boring", "hated", "waste", "worst", "dull"]
NEUTRAL = ["the", "movie", "film", "plot", "actor", "scene", "story", "was", "and", "it",
           "director", "music", "a", "of", "this", "character", "ending", "script"]


def make_review(rng: random.Random, positive: bool, n_words: int | None = None) -> str:
    """One review: neutral filler with a few words of the given sentiment."""
    n_words = n_words or rng.randint(8, 40)
    pool = POSITIVE if positive else NEGATIVE
    words = [rng.choice(pool) if rng.random() < 0.2 else rng.choice(NEUTRAL)
             for _ in range(n_words)]
    words[rng.randrange(n_words)] = rng.choice(pool)  # at least one sentiment word
    half = n_words // 2
    return " ".join(words[:half]).capitalize() + ".<br /><br />" + " ".join(words[half:]) + "!"


def imdb_csv_text(n_reviews: int = 300, seed: int = 0) -> str:
    """The CSV text of a synthetic 'IMDB Dataset.csv' with balanced labels."""
    rng = random.Random(seed)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["review", "sentiment"])
    for i in range(n_reviews):
        positive = i % 2 == 0
        writer.writerow([make_review(rng, positive), "positive" if positive else "negative"])
    return buf.getvalue()


def write_imdb_zip(path: str | Path, n_reviews: int = 300, seed: int = 0,
                   csv_text: str | bytes | None = None,
                   member: str = "IMDB Dataset.csv") -> Path:
    """Write a zip shaped like the assignment's IMDB file (or holding ``csv_text`` verbatim)."""
    path = Path(path)
    data = imdb_csv_text(n_reviews, seed) if csv_text is None else csv_text
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, data.encode() if isinstance(data, str) else data)
    return path


def write_unsup_gz(path: str | Path, n_reviews: int = 200, seed: int = 1) -> Path:
    """Write a gzipped one-review-per-line file like aclImdb_unsup.txt.gz."""
    rng = random.Random(seed)
    path = Path(path)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for i in range(n_reviews):
            f.write(make_review(rng, i % 2 == 0) + "\n")
    return path
