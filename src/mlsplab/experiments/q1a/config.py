"""Every constant of Q1(a), in one typed config (imports nothing heavy)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlsplab.experiments.ids import Q1A_EMBEDDINGS
from mlsplab.experiments.options import RunOptions

EXPERIMENT_ID = Q1A_EMBEDDINGS
COMMAND = "mlsplab embed"  # the subcommand that runs Q1(a) alone

# Seed lists for the sentiment checks: common IMDB review vocabulary, chosen before looking at
# any projection; words without a vector are skipped.
POSITIVE_SEEDS = ("good", "great", "excellent", "wonderful", "best", "love", "loved", "amazing",
                  "brilliant", "perfect", "beautiful", "fantastic", "enjoyed", "superb",
                  "favorite")
NEGATIVE_SEEDS = ("bad", "worst", "awful", "terrible", "boring", "waste", "horrible", "poor",
                  "stupid", "worse", "dull", "hated", "lame", "mess", "annoying")
# Added to scikit-learn's English stop words: tokenizer fragments and the corpus's own topic
# words, which occur in nearly every review and so carry no meaning in a review plot.
EXTRA_STOPWORDS = ("br", "s", "t", "don't", "it's", "i'm", "doesn't", "didn't", "can't", "isn't",
                   "i've", "i'd", "i'll", "that's", "he's", "she's", "there's", "you're",
                   "they're", "wasn't", "won't", "aren't", "couldn't", "wouldn't", "haven't",
                   "film", "movie")
# Number words counted as numbers (besides tokens made of digits).
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                "seventeen", "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty",
                "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "million")


@dataclass(frozen=True)
class EmbeddingsConfig:
    """Q1(a)'s settings; flags of ``mlsplab embed`` / ``reproduce`` arrive via
    :meth:`from_options`, everything else is a default here."""

    seed: int = 0  # split, word2vec, sentence choice, k-means, cross-validation folds
    quick: bool = False  # small word2vec and counts: a smoke test, not a result
    data_dir: Path | None = None  # None: the default data search path
    pretrained: Path | None = None  # vectors to load instead of training word2vec
    dim: int = 100  # the assignment's 100-d embeddings
    n_sentences: int = 10  # validation sentences plotted
    sentence_min_tokens: int = 6  # a plotted sentence has 6..30 tokens, inclusive
    sentence_max_tokens: int = 30
    sentence_min_vectors: int = 4  # ... of which at least 4 have a vector
    n_frequent: int = 300  # content words of the second plot
    n_reference: int = 2000  # most frequent words: the grey cloud and the groupings measured
    k_min: int = 2  # k-means cluster counts tried; the best silhouette wins
    k_max: int = 8
    n_neighbours: int = 10  # k of the nearest-neighbour measures
    n_listed_neighbours: int = 5  # cosine neighbours recorded per plotted content word
    n_central: int = 6  # most central words recorded per cluster
    quick_count_reviews: int = 2_000  # quick mode counts word frequencies on these reviews
    usage_reviews: int = 10_000  # training reviews scanned for capitalisation and first person
    name_capitalised_share: float = 0.5  # a name: capitalised in >= half its mid-sentence uses
    name_min_uses: int = 3  # ... and seen mid-sentence at least 3 times
    min_sentences: int = 5  # a word's first-person share needs >= 5 scanned sentences
    valence_threshold: float = 1.0  # |VADER mean valence| >= this: a sentiment word
    lean_log_odds: float = 0.69  # |ln rate ratio| >= ln 2: a word leaning to one polarity
    cv_folds: int = 5  # folds of the sentiment-probe cross-validation

    @classmethod
    def from_options(cls, options: RunOptions, **params: Any) -> EmbeddingsConfig:
        """The config for a run: seed, quick, data_dir and pretrained from ``options``."""
        return cls(seed=options.seed, quick=options.quick, data_dir=options.data_dir,
                   pretrained=options.pretrained, **params)

    def record(self) -> dict[str, Any]:
        """A JSON-able copy for ``metrics.json["config"]`` (paths as strings)."""
        doc = asdict(self)
        for key in ("data_dir", "pretrained"):
            doc[key] = None if doc[key] is None else str(doc[key])
        doc["positive_seeds"] = list(POSITIVE_SEEDS)
        doc["negative_seeds"] = list(NEGATIVE_SEEDS)
        return doc
