"""What kind of word each plotted word is, from offline lexicons and the training text.

Every property is a measurement or a lexicon look-up, so a cluster can be described by shares
("62 % function words") rather than by its list of words:

* ``kind`` (one per word, first rule that applies): ``number`` (digits or a number word),
  ``function`` (scikit-learn's English stop words plus :data:`config.EXTRA_STOPWORDS`),
  ``name`` (capitalised in at least half of its mid-sentence uses in the training reviews,
  seen there at least ``name_min_uses`` times),
  ``positive`` / ``negative`` (VADER lexicon mean valence >= +1 / <= -1; Hutto & Gilbert,
  ICWSM 2014), else ``other``;
* ``pos``: the parts of speech that lemminflect's lexicon (from the SPECIALIST lexicon) lists
  for the word form (a word can have several: "love" is a noun and a verb);
* ``count`` and ``rank`` in the training split, ``valence`` (VADER, or None);
* ``first_person_share``: of the scanned training sentences holding the word, the share that
  also hold I/me/my (the reviewer speaking of themself, as in opinions) rather than narrating;
* ``review_log_odds``: ln of how much more often the word occurs in positive than in negative
  training reviews (document rates, +0.5 smoothing): this corpus's own sentiment association.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from mlsplab.experiments.q1a.config import EXTRA_STOPWORDS, NUMBER_WORDS, EmbeddingsConfig
from mlsplab.features.tokenizer import tokenize

STOPWORDS = frozenset(ENGLISH_STOP_WORDS) | frozenset(EXTRA_STOPWORDS)
KINDS = ("number", "function", "name", "positive", "negative", "other")  # rule order
POS_TAGS = ("ADJ", "NOUN", "VERB", "ADV")  # lemminflect's open-class tags we count

_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")  # the tokenizer's token rule, case kept
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?:;\"()])\s+")  # after these a capital means nothing
FIRST_PERSON = frozenset({"i", "me", "my", "mine", "myself", "i'm", "i've", "i'd", "i'll"})


@dataclass
class Corpus:
    """Word counts of the training reviews, and in how many positive / negative reviews each
    word occurs."""

    counts: Counter[str] = field(default_factory=Counter)
    positive_docs: Counter[str] = field(default_factory=Counter)
    negative_docs: Counter[str] = field(default_factory=Counter)
    n_positive: int = 0
    n_negative: int = 0

    @classmethod
    def count(cls, texts: Sequence[str], labels: np.ndarray) -> Corpus:
        """Count ``texts`` (labels: 1 positive, 0 negative; shape (n_texts,))."""
        corpus = cls()
        for text, label in zip(texts, labels):
            tokens = tokenize(text)
            corpus.counts.update(tokens)
            if label == 1:
                corpus.positive_docs.update(set(tokens))
                corpus.n_positive += 1
            else:
                corpus.negative_docs.update(set(tokens))
                corpus.n_negative += 1
        return corpus

    def log_odds(self, word: str) -> float:
        """ln(positive-review rate / negative-review rate) of ``word``, +0.5 smoothed."""
        pos = (self.positive_docs[word] + 0.5) / (self.n_positive + 0.5)
        neg = (self.negative_docs[word] + 0.5) / (self.n_negative + 0.5)
        return math.log(pos / neg)


@lru_cache(maxsize=1)
def vader_valences() -> dict[str, float]:
    """VADER's lexicon: word -> mean valence in [-4, 4] (7,520 entries, MIT licence)."""
    text = (files("vaderSentiment") / "vader_lexicon.txt").read_text(encoding="utf-8")
    valences = {}
    for line in text.splitlines():
        token, mean, *_ = line.split("\t")
        valences[token] = float(mean)
    return valences


def parts_of_speech(word: str) -> list[str]:
    """The open-class parts of speech lemminflect's lexicon lists for ``word`` (may be [])."""
    from lemminflect import getAllLemmas  # loads its lexicon (~1 s) on first use

    return [tag for tag in POS_TAGS if tag in getAllLemmas(word)]


@dataclass
class Usage:
    """How the scanned training reviews use each word: ``mid_uses`` (uses not at a sentence
    start), ``capitalised`` (of those), ``sentences`` (sentences holding it) and
    ``first_person`` (of those, sentences that also hold I, me, my, ...)."""

    mid_uses: Counter[str] = field(default_factory=Counter)
    capitalised: Counter[str] = field(default_factory=Counter)
    sentences: Counter[str] = field(default_factory=Counter)
    first_person: Counter[str] = field(default_factory=Counter)
    n_sentences: int = 0
    n_first_person: int = 0

    @classmethod
    def scan(cls, texts: Iterable[str], words: set[str]) -> Usage:
        """Count the uses of ``words`` in ``texts`` (raw reviews; case matters here)."""
        usage = cls()
        for text in texts:
            text = html.unescape(_TAG.sub(" ", text)).replace("\u2019", "'")
            for sentence in _SENTENCE_SPLIT.split(text):
                tokens = _WORD.findall(sentence)  # case kept
                if not tokens:
                    continue
                lower = [t.lower() for t in tokens]
                first_person = not FIRST_PERSON.isdisjoint(lower)
                usage.n_sentences += 1
                usage.n_first_person += first_person
                for w in set(lower) & words:
                    usage.sentences[w] += 1
                    usage.first_person[w] += first_person
                # the first token of a sentence is capitalised whatever the word is
                for token, low in zip(tokens[1:], lower[1:]):
                    if low in words:
                        usage.mid_uses[low] += 1
                        usage.capitalised[low] += token[0].isupper()
        return usage


def word_kind(word: str, valence: float | None, uses: int, capitalised: int,
              cfg: EmbeddingsConfig) -> str:
    """The first of :data:`KINDS` whose rule applies to ``word`` (``uses`` mid-sentence
    uses in the training text, ``capitalised`` of them capitalised)."""
    if word.isdigit() or word in NUMBER_WORDS:
        return "number"
    if word in STOPWORDS:
        return "function"
    if (len(word) > 1 and uses >= cfg.name_min_uses
            and capitalised >= cfg.name_capitalised_share * uses):
        return "name"
    if valence is not None and valence >= cfg.valence_threshold:
        return "positive"
    if valence is not None and valence <= -cfg.valence_threshold:
        return "negative"
    return "other"


def word_properties(words: Sequence[str], corpus: Corpus, rank: dict[str, int], usage: Usage,
                    cfg: EmbeddingsConfig) -> dict[str, dict[str, Any]]:
    """Properties of each word (see the module docstring), JSON-able."""
    valences = vader_valences()
    props: dict[str, dict[str, Any]] = {}
    for w in words:
        uses, caps = usage.mid_uses[w], usage.capitalised[w]
        valence = valences.get(w)
        sentences = usage.sentences[w]
        props[w] = {"count": corpus.counts[w], "rank": rank.get(w),
                    "review_log_odds": round(corpus.log_odds(w), 4),
                    "kind": word_kind(w, valence, uses, caps, cfg), "valence": valence,
                    "capitalised_share": round(caps / uses, 4) if uses else None,
                    "first_person_share": (round(usage.first_person[w] / sentences, 4)
                                           if sentences >= cfg.min_sentences else None),
                    "pos": parts_of_speech(w)}
    return props
