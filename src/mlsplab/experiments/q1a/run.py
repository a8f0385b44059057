"""Q1(a)'s runner: word vectors, PCA 100 -> 2, the plotted words and every measurement.

1. The IMDB split (40000/5000/5000, seeded) and its exact-duplicate audit.
2. Word vectors from :func:`mlsplab.features.word_vectors.get_word_vectors` (word2vec pretrained
   on the unlabelled reviews + the training split, or ``--pretrained FILE``).
3. PCA 100 -> 2 fitted on the training vocabulary (every word type of a training review that
   has a vector), one point per word type, not frequency-weighted: weighting by count would let
   a few function words ("the", "a") set the axes.
4. Ten seeded validation reviews, one real sentence of 6-30 tokens from each (all words of ten
   reviews, ~2,300 tokens, cannot be labelled in one plot); their words are the first plot.
   The second plot holds the 300 most frequent training content words.
5. Measurements (:mod:`.clusters`, :mod:`.sentiment`, :mod:`.lexicon`), written to
   ``<out>/q1a-embeddings/metrics.json`` with the 2-D coordinates the figures need. No prose:
   the report builds the answer from these numbers (:mod:`.summary`, :mod:`.figures`).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score

from mlsplab.data.files import IMDB_ZIP, locate, provenance
from mlsplab.data.imdb import ImdbSplit, duplicate_audit, load_imdb, split_imdb
from mlsplab.errors import MlsplabError
from mlsplab.executors import where
from mlsplab.experiments.common import experiment_dir, finished_metrics, write_metrics
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1a import clusters, sentiment
from mlsplab.experiments.q1a.config import (
    EXPERIMENT_ID,
    NEGATIVE_SEEDS,
    POSITIVE_SEEDS,
    EmbeddingsConfig,
)
from mlsplab.experiments.q1a.lexicon import STOPWORDS, Corpus, Usage, word_properties
from mlsplab.features.tokenizer import tokenize
from mlsplab.features.word_vectors import get_word_vectors, word2vec_params
from mlsplab.io import atomic_write
from mlsplab.seeding import set_seed

log = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|<br\s*/?>", re.IGNORECASE)


def run(options: RunOptions, **params: Any) -> None:
    """Run Q1(a) with the flags in ``options`` (``params``: config fields to override);
    writes ``<out>/q1a-embeddings/``."""
    compute(EmbeddingsConfig.from_options(options, **params), options.out)


def compute(cfg: EmbeddingsConfig, out: str | Path) -> dict[str, Any]:
    """Run Q1(a) and write ``<out>/q1a-embeddings/`` (metrics.json, split.npz).

    Parameters
    ----------
    cfg : EmbeddingsConfig
        Settings (seed, quick, data_dir, pretrained and the defaults).
    out : str or Path
        Results folder; the word2vec cache goes to ``<out>/cache``.

    Returns
    -------
    dict
        What ``metrics.json`` holds (the existing file when this configuration already
        finished).
    """
    t_start = time.perf_counter()
    exp = experiment_dir(out, EXPERIMENT_ID)
    imdb_path = locate(IMDB_ZIP, cfg.data_dir)
    if cfg.pretrained is not None and not Path(cfg.pretrained).is_file():
        raise MlsplabError(f"--pretrained {cfg.pretrained}: file not found; give a 100-d vector "
                           "file or omit --pretrained to train word2vec")
    config = {
        **cfg.record(),
        "imdb_sha256": provenance(imdb_path)["sha256"],
        "pretrained_file": None if cfg.pretrained is None else provenance(cfg.pretrained),
        "word2vec": (None if cfg.pretrained is not None
                     else asdict(word2vec_params(quick=cfg.quick, dim=cfg.dim))),
        "lexicons": {"vaderSentiment": version("vaderSentiment"),
                     "lemminflect": version("lemminflect")},
    }
    if (done := finished_metrics(exp, config)) is not None:
        return done
    set_seed(cfg.seed)  # the one place; functions that take a seed get cfg.seed

    reviews = load_imdb(imdb_path)
    split = split_imdb(len(reviews), cfg.seed)
    audit = duplicate_audit(reviews.texts, split)
    log.info("split %s; duplicate audit: %s", split.sizes(), audit)
    _save_split(exp / "split.npz", split)
    train_texts = [reviews.texts[i] for i in split.train]
    kv, wv_info = get_word_vectors(train_texts, cache_dir=Path(out) / "cache",
                                   data_dir=cfg.data_dir, seed=cfg.seed,
                                   pretrained=cfg.pretrained, quick=cfg.quick, dim=cfg.dim)
    n_counted = cfg.quick_count_reviews if cfg.quick else len(train_texts)
    corpus = Corpus.count(train_texts[:n_counted], reviews.labels[split.train][:n_counted])
    # ties keep first-occurrence order (Counter is insertion-ordered), as the earlier code did
    vocab = sorted((w for w in corpus.counts if w in kv.key_to_index),
                   key=lambda w: -corpus.counts[w])
    frequent = [w for w in vocab if w not in STOPWORDS][: cfg.n_frequent]
    if len(vocab) < 10 or len(frequent) < 10:
        raise MlsplabError(f"{cfg.pretrained or wv_info.get('cache_path')}: only {len(vocab)} "
                           f"training words of {imdb_path.name} have vectors; the vectors do not "
                           "match this data (wrong --pretrained file?)")
    sentences = choose_sentences(reviews.texts, split.val, kv, cfg)
    measured = measure(cfg, kv, vocab, corpus, frequent, sentences,
                       usage_texts=train_texts[: cfg.usage_reviews])
    metrics: dict[str, Any] = {
        "quick": cfg.quick,
        "host": where(),
        "split_sizes": split.sizes(),
        "split_file": "split.npz",
        "duplicate_audit": audit,
        "data_files": {"imdb": provenance(imdb_path), "unsup": wv_info.get("unsup_file")},
        "word_vectors": wv_info,
        "vocab_size": len(kv),
        "training_vocab_size": len(vocab),
        "training_reviews_counted": corpus.n_positive + corpus.n_negative,
        "usage_reviews_scanned": min(cfg.usage_reviews, len(train_texts)),
        **measured,
        "seconds": time.perf_counter() - t_start,
    }
    write_metrics(exp, EXPERIMENT_ID, config, metrics)
    return metrics


def measure(cfg: EmbeddingsConfig, kv: Any, vocab: list[str], corpus: Corpus,
            frequent: list[str], sentences: list[dict[str, Any]],
            usage_texts: list[str]) -> dict[str, Any]:
    """PCA, the two plots' coordinates and every measurement of Q1(a) (JSON-able)."""
    X_vocab = np.stack([kv[w] for w in vocab])  # (n_vocab, 100)
    ratio = PCA(random_state=cfg.seed).fit(X_vocab).explained_variance_ratio_  # (100,)
    pca = PCA(n_components=2, random_state=cfg.seed).fit(X_vocab)
    P_vocab = pca.transform(X_vocab)  # (n_vocab, 2)
    row = {w: i for i, w in enumerate(vocab)}
    sent_words, sent_of_word = sentence_words(sentences)
    reference = vocab[: cfg.n_reference]
    seeds = [w for w in POSITIVE_SEEDS + NEGATIVE_SEEDS if w in row]
    described = list(dict.fromkeys(sent_words + frequent + reference + seeds))
    rank = {w: i + 1 for i, w in enumerate(vocab)}
    usage = Usage.scan(usage_texts, set(described))
    props = word_properties(described, corpus, rank, usage, cfg)

    def vectors(words: list[str]) -> np.ndarray:  # (n_words, 100); sentence words may be
        return np.stack([kv[w] for w in words])  # outside the counted vocabulary

    X_sent, X_freq = vectors(sent_words), vectors(frequent)
    P_sent, P_freq = pca.transform(X_sent), pca.transform(X_freq)  # (n_words, 2) each
    sent_clusters = clusters.clustering(sent_words, P_sent, X_sent, props, cfg)
    sent_clusters["ari_vs_sentence"] = float(adjusted_rand_score(
        [sent_of_word[w] for w in sent_words], sent_clusters["labels"]))
    P_ref, X_ref = P_vocab[: len(reference)], X_vocab[: len(reference)]
    content = [w for w in sent_words if w not in STOPWORDS]
    listed = list(dict.fromkeys(content + list(POSITIVE_SEEDS[:5]) + list(NEGATIVE_SEEDS[:5])))
    return {
        "pca": {
            "fitted_on_words": len(vocab),
            "frequency_weighted": False,
            "explained_variance_ratio": [float(r) for r in pca.explained_variance_ratio_],
            "explained_variance_2d": float(pca.explained_variance_ratio_.sum()),
            "explained_variance_ratio_first10": [float(r) for r in ratio[:10]],
            "components_for_50pct": int(np.searchsorted(np.cumsum(ratio), 0.5) + 1),
        },
        "validation_sentences": [
            {"review_index": s["row"], "csv_row": s["row"] + 2, "text": s["text"],
             "words_plotted": s["words"]} for s in sentences],
        "sentence_plot": {"words": sent_words, **_xy(P_sent),
                          "sentence": [sent_of_word[w] + 1 for w in sent_words]},
        "frequent_plot": {"words": frequent, **_xy(P_freq)},
        "reference_plot": {"words": reference, **_xy(P_ref)},
        "word_properties": props,
        "first_person_sentence_share": usage.n_first_person / max(usage.n_sentences, 1),
        "clusters_sentence_words": sent_clusters,
        "clusters_frequent_words": clusters.clustering(frequent, P_freq, X_freq, props, cfg),
        "reference_words": {
            "neighbourhood": clusters.neighbourhood_overlap(P_ref, clusters.unit_rows(X_ref),
                                                            cfg.n_neighbours),
            "groupings": clusters.groupings(reference, P_ref, X_ref, props, cfg),
            "axes": clusters.axis_correlates(P_ref, reference, props),
        },
        "sentiment_seeds": sentiment.seed_separation(kv, pca),
        "sentiment_probe": sentiment.lexicon_probe(vocab, X_vocab, P_vocab, cfg),
        "nearest_neighbours": {
            w: [[n, round(float(s), 4)] for n, s in kv.most_similar(w, topn=cfg.n_listed_neighbours)]
            for w in listed if w in kv.key_to_index},
    }


def _xy(P: np.ndarray) -> dict[str, list[float]]:
    return {"x": [round(float(v), 4) for v in P[:, 0]], "y": [round(float(v), 4) for v in P[:, 1]]}


def _save_split(path: Path, split: ImdbSplit) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a handle: np.savez would append ".npz" to a tmp name
            np.savez(f, train=split.train, val=split.val, test=split.test, seed=split.seed)
    atomic_write(path, write)


def choose_sentences(texts: list[str], val_rows: np.ndarray, kv: Any,
                     cfg: EmbeddingsConfig) -> list[dict[str, Any]]:
    """One sentence of 6-30 tokens (>= 4 with vectors) from each of 10 seeded validation
    reviews: ``{"row", "text", "words"}`` with the sentence's distinct words that have vectors."""
    rng = np.random.default_rng(cfg.seed)
    chosen: list[dict[str, Any]] = []
    lo, hi = cfg.sentence_min_tokens, cfg.sentence_max_tokens
    for row in rng.permutation(val_rows):
        candidates = []
        for sent in _SENTENCE_END.split(texts[row]):
            toks = tokenize(sent)
            if (lo <= len(toks) <= hi
                    and sum(t in kv.key_to_index for t in toks) >= cfg.sentence_min_vectors):
                candidates.append(sent.strip())
        if candidates:
            text = candidates[rng.integers(len(candidates))]
            words = list(dict.fromkeys(t for t in tokenize(text) if t in kv.key_to_index))
            chosen.append({"row": int(row), "text": text, "words": words})
        if len(chosen) == cfg.n_sentences:
            return chosen
    raise MlsplabError(f"found only {len(chosen)} validation reviews with a {lo}-{hi} token "
                       f"sentence; need {cfg.n_sentences} (is the data file too small?)")


def sentence_words(sentences: list[dict[str, Any]]) -> tuple[list[str], dict[str, int]]:
    """Distinct words over all sentences, and each word's first sentence (0-based)."""
    sent_of_word: dict[str, int] = {}
    for i, s in enumerate(sentences):
        for w in s["words"]:
            sent_of_word.setdefault(w, i)
    return list(sent_of_word), sent_of_word
