"""Q1(a): 100-d word vectors, PCA to 2-D, scatter plots, and measured semantic clustering.

Pipeline (``mlsplab embed``):

1. Load the IMDB zip, split it 40000/5000/5000 with the seed, audit exact duplicates.
2. Word vectors from :func:`mlsplab.features.word_vectors.get_word_vectors` (Word2Vec
   pretrained on the unlabelled reviews + the training split, or ``--pretrained FILE``).
3. PCA 100 -> 2 (scikit-learn) fitted on the vectors of the *training vocabulary*: every word
   type that occurs in a training review and has a vector, **one point per word type, not
   frequency-weighted** (weighting by count would let a few function words -- "the", "a" --
   dominate the axes).
4. Ten validation reviews are drawn with the seed; from each, one real sentence of 6-30 tokens
   is taken (the assignment's "words from 10 validation sentences"; all words of ten whole
   reviews are ~2,300 tokens, which no scatter plot can label). Their words are plotted in the
   PCA plane, coloured by sentence (``pca_validation_sentences.png``); a second plot shows the
   300 most frequent training content words, coloured by 2-D cluster (``pca_frequent_words.png``).
5. Clustering is measured, not asserted: k-means on the plotted 2-D points (k chosen by
   silhouette), compared with k-means in the 100-d cosine space (adjusted Rand index); cosine
   nearest neighbours in 100-d; the explained-variance ratio; and whether positive and negative
   seed words separate along PC1/PC2 compared with 100-d (leave-one-out nearest centroid).
   ``metrics.json["summary"]`` states what these numbers show.
"""

from __future__ import annotations

import argparse
import logging
import re
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.metrics import adjusted_rand_score, silhouette_score
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from mlsplab.data.files import IMDB_ZIP, locate, provenance
from mlsplab.data.imdb import ImdbSplit, duplicate_audit, load_imdb, split_imdb
from mlsplab.errors import MlsplabError
from mlsplab.experiments.common import (add_common_args, experiment_dir, finished_metrics,
                                        write_metrics)
from mlsplab.features.tokenizer import tokenize
from mlsplab.features.word_vectors import get_word_vectors, word2vec_params
from mlsplab.io import atomic_write

log = logging.getLogger(__name__)

EXPERIMENT_ID = "q1a-embeddings"
DIM = 100  # the assignment's 100-d embeddings
N_SENTENCES = 10  # validation sentences plotted
SENTENCE_TOKENS = (6, 30)  # accepted sentence length in tokens (min, max), inclusive
N_FREQUENT = 300  # content words in the second plot
K_RANGE = range(2, 9)  # k-means cluster counts tried; the best silhouette wins
N_NEIGHBOURS = 5  # cosine nearest neighbours listed per plotted word
QUICK_COUNT_REVIEWS = 2_000  # quick mode counts word frequencies on this many train reviews
PLOT_FILES = ("pca_validation_sentences.png", "pca_frequent_words.png")

# Seed lists for the sentiment-direction check (common IMDB review vocabulary, chosen before
# looking at any projection; words without a vector are skipped).
POSITIVE_SEEDS = ("good", "great", "excellent", "wonderful", "best", "love", "loved", "amazing",
                  "brilliant", "perfect", "beautiful", "fantastic", "enjoyed", "superb",
                  "favorite")
NEGATIVE_SEEDS = ("bad", "worst", "awful", "terrible", "boring", "waste", "horrible", "poor",
                  "stupid", "worse", "dull", "hated", "lame", "mess", "annoying")
STOPWORDS = frozenset(ENGLISH_STOP_WORDS) | {"br", "s", "t", "don't", "it's", "i'm", "doesn't",
                                             "didn't", "can't", "isn't", "film", "movie"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|<br\s*/?>", re.IGNORECASE)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``mlsplab embed``: --out, --seed, --data-dir, --pretrained, --quick."""
    add_common_args(parser)
    parser.add_argument("--pretrained", type=Path, default=None, metavar="FILE",
                        help="100-d vectors to use instead of training word2vec: word2vec "
                             "binary/text, GloVe text, fastText .bin/.vec or gensim .kv")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test in < 30 s: word2vec on 2,000 + 2,000 reviews, 3 epochs")


def main(args: argparse.Namespace) -> int:
    """Run Q1(a) from parsed CLI arguments and print the generated summary."""
    metrics = run(args.out, data_dir=args.data_dir, seed=args.seed, quick=args.quick,
                  pretrained=args.pretrained)
    print(f"wrote {Path(args.out) / EXPERIMENT_ID}/metrics.json")
    for line in metrics["summary"]:
        print(" -", line)
    return 0


def run(out: str | Path, *, data_dir: Path | None = None, seed: int = 0, quick: bool = False,
        pretrained: Path | None = None) -> dict[str, Any]:
    """Run Q1(a) and write ``<out>/q1a-embeddings/`` (metrics.json, split.npz, two PNGs).

    Parameters
    ----------
    out : str or Path
        Results folder.
    data_dir : Path, optional
        Where the data files are (see :mod:`mlsplab.data.files`).
    seed : int, default=0
        Drives the split, the word2vec training, the sentence choice and k-means.
    quick : bool, default=False
        Smoke test: small word2vec, frequencies counted on 2,000 training reviews.
    pretrained : Path, optional
        Use these 100-d vectors instead of training word2vec.

    Returns
    -------
    dict
        The metrics written to ``metrics.json`` (or the existing ones when this exact
        configuration already finished).
    """
    t_start = time.perf_counter()
    exp = experiment_dir(out, EXPERIMENT_ID)
    imdb_path = locate(IMDB_ZIP, data_dir)
    if pretrained is not None and not Path(pretrained).is_file():
        raise MlsplabError(f"--pretrained {pretrained}: file not found; give a 100-d vector file "
                           "or omit --pretrained to train word2vec")
    config = {
        "seed": seed, "quick": quick, "dim": DIM, "n_sentences": N_SENTENCES,
        "sentence_tokens": list(SENTENCE_TOKENS), "n_frequent": N_FREQUENT,
        "k_range": [K_RANGE.start, K_RANGE.stop - 1], "pca_weighting": "none",
        "imdb_sha256": provenance(imdb_path)["sha256"],
        "pretrained": None if pretrained is None else provenance(pretrained),
        "word2vec": None if pretrained is not None else asdict(word2vec_params(quick=quick,
                                                                               dim=DIM)),
    }
    plots_exist = all((exp / f).is_file() for f in PLOT_FILES)
    if plots_exist and (done := finished_metrics(exp, config)) is not None:
        return done

    reviews = load_imdb(imdb_path)
    split = split_imdb(len(reviews), seed)
    audit = duplicate_audit(reviews.texts, split)
    log.info("split %s; duplicate audit: %s", split.sizes(), audit)
    _save_split(exp / "split.npz", split)

    train_texts = [reviews.texts[i] for i in split.train]
    kv, wv_info = get_word_vectors(train_texts, cache_dir=Path(out) / "cache",
                                   data_dir=data_dir, seed=seed, pretrained=pretrained,
                                   quick=quick, dim=DIM)

    # ---- the training vocabulary and its frequencies (training split only)
    count_texts = train_texts[:QUICK_COUNT_REVIEWS] if quick else train_texts
    counts: dict[str, int] = {}
    for text in tqdm(count_texts, desc="counting training words", unit=" reviews"):
        for tok in tokenize(text):
            counts[tok] = counts.get(tok, 0) + 1
    vocab = sorted((w for w in counts if w in kv.key_to_index), key=lambda w: -counts[w])
    if len(vocab) < 10:
        raise MlsplabError(f"{pretrained or wv_info.get('cache_path')}: only {len(vocab)} "
                           f"training words of {imdb_path.name} have vectors; the vectors do not "
                           "match this data (wrong --pretrained file?)")
    X_vocab = np.stack([kv[w] for w in vocab])  # (n_vocab, 100)

    # ---- PCA 100 -> 2 on the training vocabulary, one point per word type
    pca_full = PCA(random_state=seed).fit(X_vocab)
    ratio = pca_full.explained_variance_ratio_  # (100,)
    pca = PCA(n_components=2, random_state=seed).fit(X_vocab)
    n_for_half = int(np.searchsorted(np.cumsum(ratio), 0.5) + 1)

    # ---- ten validation sentences (seeded), their words, and the frequent words
    sentences = _choose_sentences(reviews.texts, split.val, kv, seed)
    sent_words, sent_of_word = _sentence_words(sentences, kv)
    frequent = [w for w in vocab if w not in STOPWORDS][:N_FREQUENT]
    if len(frequent) < 10:
        raise MlsplabError(f"{pretrained or wv_info.get('cache_path')}: only {len(frequent)} "
                           "training content words have vectors; the vectors do not match this "
                           "data (wrong --pretrained file?)")
    P_sent = pca.transform(np.stack([kv[w] for w in sent_words]))  # (n_words, 2)
    P_freq = pca.transform(np.stack([kv[w] for w in frequent]))  # (N_FREQUENT, 2)
    P_vocab = pca.transform(X_vocab[:5000])  # (<=5000, 2) grey background

    sent_clusters = _clusters(sent_words, P_sent, kv, seed, counts)
    freq_clusters = _clusters(frequent, P_freq, kv, seed, counts)
    sent_clusters["ari_vs_sentence"] = float(adjusted_rand_score(
        [sent_of_word[w] for w in sent_words], sent_clusters["labels"]))
    sentiment = _sentiment_check(kv, pca)
    content_words = [w for w in sent_words if w not in STOPWORDS]
    neighbours = {w: [[n, round(float(s), 4)] for n, s in kv.most_similar(w, topn=N_NEIGHBOURS)]
                  for w in dict.fromkeys(content_words + list(POSITIVE_SEEDS[:5])
                                         + list(NEGATIVE_SEEDS[:5])) if w in kv.key_to_index}

    labelled_sent = _plot_sentences(exp / PLOT_FILES[0], sentences, sent_words, sent_of_word,
                                    P_sent, P_vocab, ratio, counts)
    labelled_freq = _plot_frequent(exp / PLOT_FILES[1], frequent, P_freq, freq_clusters,
                                   P_vocab, ratio)

    metrics: dict[str, Any] = {
        "quick": quick,
        "split_sizes": split.sizes(),
        "split_file": "split.npz",
        "duplicate_audit": audit,
        "data_files": {"imdb": provenance(imdb_path), "unsup": wv_info.get("unsup_file")},
        "word_vectors": wv_info,
        "vocab_size": len(kv),
        "training_vocab_size": len(vocab),
        "training_reviews_counted": len(count_texts),
        "corpus_reviews": wv_info.get("corpus_reviews"),
        "corpus_tokens": wv_info.get("corpus_tokens"),
        "pca": {
            "fitted_on": f"{len(vocab)} word types of the training vocabulary",
            "frequency_weighted": False,
            "explained_variance_ratio": [float(r) for r in pca.explained_variance_ratio_],
            "explained_variance_2d": float(pca.explained_variance_ratio_.sum()),
            "explained_variance_ratio_first10": [float(r) for r in ratio[:10]],
            "components_for_50pct": n_for_half,
        },
        "validation_sentences": [
            {"review_index": s["row"], "csv_row": s["row"] + 2, "text": s["text"],
             "words_plotted": s["words"]}
            for s in sentences
        ],
        "sentence_plot": {"file": PLOT_FILES[0], "words": len(sent_words),
                          "labelled": labelled_sent,
                          "points": {w: [round(float(x), 4), round(float(y), 4)]
                                     for w, (x, y) in zip(sent_words, P_sent)}},
        "frequent_plot": {"file": PLOT_FILES[1], "words": len(frequent),
                          "labelled": labelled_freq},
        "clusters_sentence_words": _public(sent_clusters),
        "clusters_frequent_words": _public(freq_clusters),
        "nearest_neighbours": neighbours,
        "sentiment_axis": sentiment,
        "deviations": _deviations(wv_info, pretrained, quick),
        "seconds": time.perf_counter() - t_start,
    }
    metrics["summary"] = _summary(metrics)
    for line in metrics["summary"]:
        log.info("summary: %s", line)
    write_metrics(exp, EXPERIMENT_ID, config, metrics)
    return metrics


# ---------------------------------------------------------------- data choices


def _save_split(path: Path, split: ImdbSplit) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a handle: np.savez would append ".npz" to a tmp name
            np.savez(f, train=split.train, val=split.val, test=split.test, seed=split.seed)
    atomic_write(path, write)


def _choose_sentences(texts: list[str], val_rows: np.ndarray, kv, seed: int) -> list[dict]:
    """One sentence of 6-30 tokens (>= 4 with vectors) from each of 10 seeded validation reviews."""
    rng = np.random.default_rng(seed)
    chosen: list[dict] = []
    lo, hi = SENTENCE_TOKENS
    for row in rng.permutation(val_rows):
        candidates = []
        for sent in _SENTENCE_END.split(texts[row]):
            toks = tokenize(sent)
            if lo <= len(toks) <= hi and sum(t in kv.key_to_index for t in toks) >= 4:
                candidates.append(sent.strip())
        if candidates:
            text = candidates[rng.integers(len(candidates))]
            words = list(dict.fromkeys(t for t in tokenize(text) if t in kv.key_to_index))
            chosen.append({"row": int(row), "text": text, "words": words})
        if len(chosen) == N_SENTENCES:
            return chosen
    raise MlsplabError(f"found only {len(chosen)} validation reviews with a {lo}-{hi} token "
                       f"sentence; need {N_SENTENCES} (is the data file too small?)")


def _sentence_words(sentences: list[dict], kv) -> tuple[list[str], dict[str, int]]:
    """Distinct words with vectors over all sentences; each word -> the first sentence using it."""
    sent_of_word: dict[str, int] = {}
    for i, s in enumerate(sentences):
        for w in s["words"]:
            sent_of_word.setdefault(w, i)
    return list(sent_of_word), sent_of_word


# ---------------------------------------------------------------- measurements


def _clusters(words: list[str], P: np.ndarray, kv, seed: int,
              counts: dict[str, int]) -> dict[str, Any]:
    """k-means on the 2-D points (k by silhouette), and agreement with 100-d cosine k-means.

    ``P`` has shape (n_words, 2). The 100-d clustering runs on L2-normalised vectors, where
    Euclidean k-means ranks points like cosine similarity does.
    """
    best: tuple[float, int, np.ndarray] | None = None
    scores = {}
    # A few hundred points: one thread is faster than OpenMP start-up on a shared machine.
    with threadpool_limits(limits=1):
        for k in K_RANGE:
            if k >= len(words):
                break
            labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(P)
            scores[k] = float(silhouette_score(P, labels))
            if best is None or scores[k] > best[0]:
                best = (scores[k], k, labels)
        assert best is not None, "need at least 3 words to cluster"
        silhouette, k, labels = best
        X = np.stack([kv[w] for w in words])  # (n_words, 100)
        X /= np.linalg.norm(X, axis=1, keepdims=True)  # unit rows: Euclidean ~ cosine
        labels_100d = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(X)
    clusters = []
    for c in range(k):
        # content words first (most frequent first), then stopwords: the list is read as text
        members = sorted((w for w, lab in zip(words, labels) if lab == c),
                         key=lambda w: (w in STOPWORDS, -counts.get(w, 0)))
        centre = P[labels == c].mean(axis=0)
        clusters.append({"cluster": c, "size": len(members),
                         "centre_pc": [round(float(v), 4) for v in centre],
                         "positive_seeds": [w for w in members if w in POSITIVE_SEEDS],
                         "negative_seeds": [w for w in members if w in NEGATIVE_SEEDS],
                         "words": members})
    clusters.sort(key=lambda c: c["centre_pc"][0])  # left to right along PC1
    return {"method": "k-means on the 2-D PCA points, k by best silhouette",
            "k": k, "silhouette": silhouette, "silhouette_by_k": scores,
            "ari_2d_vs_100d_cosine": float(adjusted_rand_score(labels, labels_100d)),
            "clusters": clusters, "labels": labels}


def _public(c: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in c.items() if k != "labels"}


def _sentiment_check(kv, pca: PCA) -> dict[str, Any]:
    """Do positive and negative seed words separate along PC1/PC2, and in 100-d?

    Separation is measured by leave-one-out nearest-centroid accuracy (a seed word is assigned
    to the polarity whose other seeds' mean is nearer; 0.5 = chance) in 2-D and in 100-d
    cosine space, and by the standardised gap between the polarity means on each PC.
    """
    pos = [w for w in POSITIVE_SEEDS if w in kv.key_to_index]
    neg = [w for w in NEGATIVE_SEEDS if w in kv.key_to_index]
    if len(pos) < 3 or len(neg) < 3:
        return {"positive": pos, "negative": neg, "note": "too few seed words have vectors"}
    X = np.stack([kv[w] for w in pos + neg])  # (n_pos + n_neg, 100)
    y = np.array([1] * len(pos) + [0] * len(neg))
    P = pca.transform(X)  # (n, 2)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    gaps = {}
    for j in range(2):
        a, b = P[y == 1, j], P[y == 0, j]
        pooled = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
        gaps[f"pc{j + 1}"] = {"mean_positive": float(a.mean()), "mean_negative": float(b.mean()),
                              "gap_in_pooled_sd": float((a.mean() - b.mean()) / pooled)}
    # Among each seed's 10 nearest neighbours that are themselves seeds, how many share its
    # polarity? word2vec often puts antonyms close ("good" ~ "bad"): 0.5 would mean no signal.
    polarity = {w: 1 for w in pos} | {w: 0 for w in neg}
    same = total = 0
    for w in pos + neg:
        for n, _ in kv.most_similar(w, topn=10):
            if n in polarity:
                total += 1
                same += polarity[n] == polarity[w]
    return {"positive": pos, "negative": neg, **gaps,
            "loo_nearest_centroid_accuracy_2d": _loo_centroid(P, y),
            "loo_nearest_centroid_accuracy_100d": _loo_centroid(Xn, y),
            "seed_neighbours_same_polarity": same / total if total else None,
            "seed_neighbours_that_are_seeds": total}


def _loo_centroid(X: np.ndarray, y: np.ndarray) -> float:
    correct = 0
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        c1 = X[keep & (y == 1)].mean(axis=0)
        c0 = X[keep & (y == 0)].mean(axis=0)
        pred = int(np.linalg.norm(X[i] - c1) < np.linalg.norm(X[i] - c0))
        correct += pred == y[i]
    return correct / len(y)


# ---------------------------------------------------------------- plots


def _new_figure(size: tuple[float, float] = (11, 8.5)) -> tuple[Figure, Any]:
    fig = Figure(figsize=size, dpi=110)
    FigureCanvasAgg(fig)  # attaches itself as fig.canvas
    return fig, fig.add_subplot()


def _axis_labels(ax, ratio: np.ndarray) -> None:
    ax.set_xlabel(f"PC1 ({100 * ratio[0]:.1f}% of variance)")
    ax.set_ylabel(f"PC2 ({100 * ratio[1]:.1f}% of variance)")
    ax.grid(alpha=0.2)


def _save(fig: Figure, path: Path) -> None:
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", bbox_inches="tight"))


def _place_labels(ax, words: list[str], P: np.ndarray, colours: list, *,
                  fontsize: float = 7.5, bold: frozenset[str] = frozenset()) -> int:
    """Label points greedily, in the given priority order, where a label overlaps nothing.

    Each label tries 8 positions around its point at two distances; a label that fits
    nowhere is left out (its point stays). Returns the number of labels drawn.
    """
    renderer = ax.figure.canvas.get_renderer()
    ax_box = ax.get_window_extent(renderer)
    px_per_pt = ax.figure.dpi / 72
    font = FontProperties(size=fontsize)
    xy_px = ax.transData.transform(P)  # (n_words, 2) display pixels
    # (n_points + n_labels, [x0, y0, x1, y1]) display pixels: the markers are obstacles too
    r = 2.5 * px_per_pt
    placed = np.empty((2 * len(words), 4))
    placed[: len(words)] = np.hstack([xy_px - r, xy_px + r])
    offsets = [(d * dx, d * dy) for d in (4, 12)
               for dx, dy in ((1, 1), (1, -1), (-1, 1), (-1, -1), (0, 1.2), (0, -1.2), (1.4, 0),
                              (-1.4, 0))]
    n_used, n = len(words), 0
    for word, (x, y), (px, py), colour in zip(words, P, xy_px, colours):
        # measure once; candidate boxes are then arithmetic (creating Text objects is slow)
        f = FontProperties(size=fontsize, weight="bold") if word in bold else font
        w, h, _ = renderer.get_text_width_height_descent(word, f, ismath=False)
        w, h = w * 1.05 + 2, h * 1.1 + 2  # a little air between labels
        for dx, dy in offsets:
            ox, oy = px + dx * px_per_pt, py + dy * px_per_pt
            x0 = ox if dx > 0 else ox - w if dx < 0 else ox - w / 2
            y0 = oy if dy > 0 else oy - h if dy < 0 else oy - h / 2
            x1, y1 = x0 + w, y0 + h
            if x0 < ax_box.x0 or x1 > ax_box.x1 or y0 < ax_box.y0 or y1 > ax_box.y1:
                continue
            q = placed[:n_used]
            if np.any((q[:, 0] < x1) & (q[:, 2] > x0) & (q[:, 1] < y1) & (q[:, 3] > y0)):
                continue
            ha = "left" if dx > 0 else "right" if dx < 0 else "center"
            va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
            ax.annotate(word, (x, y), xytext=(dx, dy), textcoords="offset points",
                        ha=ha, va=va, fontproperties=f, color=colour)
            placed[n_used] = (x0, y0, x1, y1)
            n_used += 1
            n += 1
            break
    return n


def _plot_sentences(path: Path, sentences: list[dict], words: list[str],
                    sent_of_word: dict[str, int], P: np.ndarray, P_vocab: np.ndarray,
                    ratio: np.ndarray, counts: dict[str, int]) -> int:
    """Words of the 10 sentences in the PCA plane, coloured by (first) sentence."""
    fig, ax = _new_figure()
    ax.scatter(P_vocab[:, 0], P_vocab[:, 1], s=2, c="0.88", zorder=0,
               label="5,000 most frequent training words")
    cmap = matplotlib.colormaps["tab10"]
    for i, s in enumerate(sentences):
        idx = [j for j, w in enumerate(words) if sent_of_word[w] == i]
        short = s["text"] if len(s["text"]) <= 60 else s["text"][:57] + "..."
        ax.scatter(P[idx, 0], P[idx, 1], s=14, color=cmap(i), zorder=2,
                   label=f"S{i + 1} (review {s['row']}): {short}")
    _fit_limits(ax, P)
    # label content words first (rarer ones carry more meaning), stopwords only where space
    order = sorted(range(len(words)),
                   key=lambda j: (words[j] in STOPWORDS, counts.get(words[j], 0)))
    n = _place_labels(ax, [words[j] for j in order], P[order],
                      [cmap(sent_of_word[words[j]]) for j in order])
    _axis_labels(ax, ratio)
    ax.set_title(f"Q1(a): words of {len(sentences)} validation sentences in the 2-D PCA of "
                 f"the training vocabulary\n({len(words)} distinct words, {n} labelled; a word in "
                 "several sentences takes its first sentence's colour)", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False,
              title="sentence", title_fontsize=8)
    _save(fig, path)
    return n


def _plot_frequent(path: Path, words: list[str], P: np.ndarray, clusters: dict[str, Any],
                   P_vocab: np.ndarray, ratio: np.ndarray) -> int:
    """The most frequent training content words, coloured by their 2-D k-means cluster."""
    fig, ax = _new_figure((13, 10))
    tab10 = matplotlib.colormaps["tab10"]
    # cluster colours without tab10's green and red, which mark the sentiment seed words
    palette = [tab10(i) for i in (0, 1, 4, 5, 6, 7, 8, 9)]
    ax.scatter(P_vocab[:, 0], P_vocab[:, 1], s=2, c="0.9", zorder=0)
    labels = clusters["labels"]
    # clusters were renumbered left-to-right in the metrics; colour by that order
    rank_of_label = {labels[words.index(c["words"][0])]: r
                     for r, c in enumerate(clusters["clusters"])}
    colours = [palette[rank_of_label[lab] % len(palette)] for lab in labels]
    for r, c in enumerate(clusters["clusters"]):
        idx = [j for j, lab in enumerate(labels) if rank_of_label[lab] == r]
        ax.scatter(P[idx, 0], P[idx, 1], s=12, color=palette[r % len(palette)], zorder=2,
                   label=f"cluster {r + 1} ({c['size']} words): " + ", ".join(c["words"][:4]))
    pos, neg = set(POSITIVE_SEEDS), set(NEGATIVE_SEEDS)
    # sentiment seeds labelled first, bold green/red, so the reader can judge the direction
    order = sorted(range(len(words)), key=lambda j: words[j] not in pos | neg)
    text_colours = ["green" if w in pos else "red" if w in neg else colours[j]
                    for j, w in enumerate(words)]
    _fit_limits(ax, P)
    n = _place_labels(ax, [words[j] for j in order], P[order], [text_colours[j] for j in order],
                      fontsize=7, bold=frozenset(pos | neg))
    _axis_labels(ax, ratio)
    ax.set_title(f"Q1(a): the {len(words)} most frequent training content words in the same "
                 f"PCA plane, k-means k={clusters['k']} (silhouette {clusters['silhouette']:.2f})"
                 f"\n{n} labelled; bold green/red labels: positive/negative sentiment seed words",
                 fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    _save(fig, path)
    return n


def _fit_limits(ax, P: np.ndarray) -> None:
    lo, hi = P.min(axis=0), P.max(axis=0)
    pad = 0.08 * (hi - lo) + 1e-6
    ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
    ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])


# ---------------------------------------------------------------- text


def _deviations(wv_info: dict[str, Any], pretrained: Path | None, quick: bool) -> list[str]:
    dev = []
    if pretrained is None:
        dev.append(
            "The assignment asks for a pre-trained word2vec model; none can be downloaded "
            "offline, so the vectors are a 100-d gensim Word2Vec (CBOW) pretrained here on "
            f"{wv_info.get('corpus_unsup_reviews')} unlabelled IMDB reviews plus the "
            f"{wv_info.get('corpus_train_reviews')} training-split reviews (never validation or "
            "test text).")
        if not wv_info.get("deterministic", True):
            dev.append("Word2Vec trained with 2 threads is not bit-for-bit reproducible; the "
                       "cached vectors (see word_vectors.cache_path) are reused by later runs.")
    dev.append(f"'10 validation sentences': one real sentence of {SENTENCE_TOKENS[0]}-"
               f"{SENTENCE_TOKENS[1]} tokens from each of 10 seeded-random validation reviews "
               "(a whole review has ~230 words, too many to label).")
    dev.extend(wv_info.get("warnings", []))
    if quick:
        dev.append("--quick: word vectors from a small corpus and 2 epochs, word frequencies "
                   f"from {QUICK_COUNT_REVIEWS} training reviews; a smoke test, not a result.")
    return dev


def _summary(m: dict[str, Any]) -> list[str]:
    """Sentences derived from the numbers in ``m`` (nothing asserted without a number)."""
    pca, sa = m["pca"], m["sentiment_axis"]
    ev1, ev2 = pca["explained_variance_ratio"]
    ev = pca["explained_variance_2d"]
    out = [f"Vectors: {m['word_vectors']['source']}; {m['vocab_size']} words, of which "
           f"{m['training_vocab_size']} occur in the training split."]
    verdict = ("so the 2-D picture keeps only a small part of the 100-d geometry and "
               "separates little" if ev < 0.25 else
               "so the 2-D picture keeps a sizeable part of the 100-d geometry")
    out.append(f"PCA on the training vocabulary (unweighted): PC1 explains {100 * ev1:.1f}% and "
               f"PC2 {100 * ev2:.1f}% of the variance ({100 * ev:.1f}% together; "
               f"{pca['components_for_50pct']} components are needed for 50%), {verdict}.")
    if "loo_nearest_centroid_accuracy_2d" in sa:
        a2, a100 = sa["loo_nearest_centroid_accuracy_2d"], sa["loo_nearest_centroid_accuracy_100d"]
        g1, g2 = sa["pc1"]["gap_in_pooled_sd"], sa["pc2"]["gap_in_pooled_sd"]
        sep = ("separate clearly" if a2 >= 0.9 else "separate partly" if a2 >= 0.7
               else "do not separate")
        out.append(f"Sentiment: {len(sa['positive'])} positive and {len(sa['negative'])} "
                   f"negative seed words {sep} in 2-D (leave-one-out nearest-centroid accuracy "
                   f"{a2:.2f}, chance 0.5; gap between polarity means {g1:+.2f} pooled SD on "
                   f"PC1, {g2:+.2f} on PC2) versus {a100:.2f} in the 100-d cosine space.")
        if sa.get("seed_neighbours_same_polarity") is not None:
            out.append(f"Of the seed words' 10 nearest 100-d neighbours that are seed words "
                       f"({sa['seed_neighbours_that_are_seeds']}), "
                       f"{100 * sa['seed_neighbours_same_polarity']:.0f}% have the same polarity "
                       "(50% would be no sentiment signal).")
    fc = m["clusters_frequent_words"]
    rel = ("largely agree" if fc["ari_2d_vs_100d_cosine"] >= 0.5 else "partly agree"
           if fc["ari_2d_vs_100d_cosine"] >= 0.2 else "barely agree")
    out.append(f"k-means on the 2-D points of the {m['frequent_plot']['words']} most frequent "
               f"content words picks k={fc['k']} (silhouette {fc['silhouette']:.2f}); these "
               f"clusters {rel} with k-means in 100-d cosine space "
               f"(adjusted Rand index {fc['ari_2d_vs_100d_cosine']:.2f}).")
    for i, c in enumerate(fc["clusters"]):
        out.append(f"Frequent-word cluster {i + 1} ({c['size']} words, centre PC1 "
                   f"{c['centre_pc'][0]:+.2f}, PC2 {c['centre_pc'][1]:+.2f}; "
                   f"{len(c['positive_seeds'])} positive / {len(c['negative_seeds'])} negative "
                   "seed words): " + ", ".join(c["words"][:12]) + ".")
    sc = m["clusters_sentence_words"]
    by_sentence = ("so the 2-D groups do not follow the sentences" if sc["ari_vs_sentence"] < 0.2
                   else "so the 2-D groups partly follow the sentences")
    out.append(f"The {m['sentence_plot']['words']} distinct words of the 10 validation sentences "
               f"form k={sc['k']} 2-D clusters (silhouette {sc['silhouette']:.2f}, "
               f"ARI {sc['ari_2d_vs_100d_cosine']:.2f} against 100-d cosine k-means); agreement "
               f"with the sentence each word came from is ARI {sc['ari_vs_sentence']:.2f}, "
               f"{by_sentence}.")
    for i, c in enumerate(sc["clusters"]):
        out.append(f"Sentence-word cluster {i + 1} ({c['size']} words): "
                   + ", ".join(c["words"][:12]) + ".")
    nn = m["nearest_neighbours"]
    shown = [w for w in (*POSITIVE_SEEDS[:2], *NEGATIVE_SEEDS[:2]) if w in nn]
    if shown:
        out.append("Nearest neighbours in 100-d (cosine): " + "; ".join(
            f"{w} -> " + ", ".join(f"{n} ({s:.2f})" for n, s in nn[w][:3]) for w in shown) + ".")
    return out
