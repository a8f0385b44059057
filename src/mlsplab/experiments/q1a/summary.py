"""Q1(a)'s section of the report, built at report time from ``q1a-embeddings/metrics.json``.

The answer is prose generated from the measurements (:mod:`.prose`); the evidence is the
scatter plot of the sentence words (:mod:`.figures`) and their cluster profiles; the appendix
holds the second plot (the most frequent training words) with its clusters and the groupings
table, the sentences, the full cluster word lists and the raw measurements behind the prose.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mlsplab.experiments.q1.phrases import word2vec_deviation
from mlsplab.experiments.q1a import prose
from mlsplab.experiments.q1a.config import COMMAND, EXPERIMENT_ID
from mlsplab.experiments.q1a.figures import scatter_figure
from mlsplab.experiments.q1a.groups import semantic_groups
from mlsplab.formatting import percent
from mlsplab.report.document import Block, Figure, Heading, Paragraph, PartReport, Table

log = logging.getLogger(__name__)

STEP_KEY = "q1a"  # registry step that writes q1a-embeddings
# Fields this builder reads; a results file without them is from an older version.
REQUIRED = ("config", "pca", "sentence_plot", "frequent_plot", "reference_plot",
            "word_properties", "clusters_sentence_words", "clusters_frequent_words",
            "reference_words", "sentiment_seeds", "sentiment_probe", "validation_sentences",
            "word_vectors")
FIGURES = {"sentence": ("q1a_sentence_words.svg", 4.7), "frequent": ("q1a_frequent_words.svg",
                                                                     7.5)}


def missing_report(out: Path, reason: str, status: str = "missing") -> PartReport:
    """The section when ``q1a-embeddings`` is missing or unreadable: what to run."""
    command = f"mlsplab reproduce --only {STEP_KEY} --out {out}"
    return PartReport(
        answer=[Paragraph(f"{reason} Run `{command}` (or `{COMMAND} --out {out}`) to produce "
                          "it.", style="warning")],
        overview=f"not run: {command}", status=status)


def part_report(part_key: str, results: dict[str, dict], out: Path, fig_dir: Path
                ) -> PartReport:
    """Q1(a)'s section: the answer, the plots and cluster tables, settings, appendix.

    Parameters
    ----------
    part_key : str
        ``"q1a"``.
    results : dict
        Experiment id -> parsed metrics.json; ``q1a-embeddings`` may be missing.
    out : Path
        The results folder (named in the command that produces missing results).
    fig_dir : Path
        Where the scatter plots are drawn (``q1a_*.svg``).
    """
    m = results.get(EXPERIMENT_ID)
    if not m:
        return missing_report(out, f"No results for {part_key} ({EXPERIMENT_ID}).")
    missing = [k for k in REQUIRED if k not in m]
    if missing:
        return missing_report(out, f"The results in {out}/{EXPERIMENT_ID} are from an older "
                                   f"version (no {', '.join(missing[:3])}).", "stale")
    try:
        n_sent = len(m["sentence_plot"]["words"])
        found = semantic_groups(m)
        # the detailed reading (clusters, groupings, sentiment, projection) opens the appendix
        answer = [Heading("Q1(a) clusters, groupings and the sentiment direction", level=2),
                  Paragraph(prose.clusters_paragraph(
                      m, "clusters_sentence_words",
                      f"The {n_sent} distinct words of the {len(m['validation_sentences'])} "
                      "validation sentences")),
                  _cluster_table(m, "clusters_sentence_words", "the sentence words"),
                  Paragraph(prose.groupings_paragraph(m) + " " + prose.sentiment_summary(m)),
                  Paragraph(prose.projection_paragraph(m))]
        links = [(a, b) for g in found["groups"] for a, b, _ in g["links"]]
        evidence = _figure_blocks(m, "sentence", fig_dir, links) + [_groups_table(found)]
        # The second plot (frequent words), its clusters and the groupings go to the appendix.
        secondary: list[Block] = [
            Heading("Q1(a) the most frequent training words", level=2),
            Paragraph(prose.clusters_paragraph(
                m, "clusters_frequent_words",
                f"The {len(m['frequent_plot']['words'])} most frequent training "
                "content words")),
            *_figure_blocks(m, "frequent", fig_dir),
            _cluster_table(m, "clusters_frequent_words", "the frequent words"),
            _groupings_table(m), Paragraph(prose.sentiment_details(m))]
        report = PartReport(answer=answer, evidence=evidence, settings=settings_rows(m),
                            appendix=secondary + appendix(m),
                            overview=prose.group_overview(m, found),
                            status="quick" if m.get("quick") else "full",
                            deviations=deviations(m), setup=prose.setup(m),
                            conclusion=prose.conclusion(m, found))
    except (KeyError, TypeError, ValueError, IndexError) as e:
        log.warning("q1a section: %r", e)
        return missing_report(out, f"The results in {out}/{EXPERIMENT_ID} are incomplete "
                                   f"(missing {e}).", "stale")
    return report


def _figure_blocks(m: dict[str, Any], which: str, fig_dir: Path,
                   links: list[tuple[str, str]] = ()) -> list[Block]:
    """One scatter plot with a caption saying what is shown (none if it cannot be drawn)."""
    name, height = FIGURES[which]
    plot, clusters = m[f"{which}_plot"], m[f"clusters_{which}_words"]
    try:
        drawn = scatter_figure(Path(fig_dir) / name, plot, clusters, m["reference_plot"],
                               m["word_properties"], m["pca"]["explained_variance_ratio"],
                               height=height, links=list(links))
    except (OSError, ValueError) as e:  # a figure that cannot be drawn does not stop Q1(a)
        log.warning("q1a %s figure: %s", which, e)
        return [Paragraph(f"(The {which}-word plot could not be drawn: {e}.)", style="note")]
    what = ("the distinct words (with a vector) of the 10 validation sentences"
            if which == "sentence" else
            f"the {drawn['words']} most frequent content words of the training split")
    caption = (f"{drawn['words']} points: {what}, in the plane of the first two principal "
               f"components of the training vocabulary. Colour: the {clusters['k']} k-means "
               "clusters of these points (in the plane; see the appendix); \u25b2/\u25bc: "
               "words VADER rates positive/negative; "
               f"grey: the {len(m['reference_plot']['words']):,} most frequent training words. "
               + ("Dashed lines join the semantic groups of the next table (100-d nearest "
                  "neighbours). " if links else "") +
               f"{drawn['labelled']} of {drawn['words']} words are labelled (the others would "
               "overlap a label or a point).")
    return [Figure(Path(fig_dir) / name, caption, width_fraction=1.0)]


# Rows of the cluster table: (label, share of the cluster's words) read from a profile.
_SHARE_ROWS = (
    ("function words", lambda p: p["kinds"]["function"]),
    ("names, capitalised words", lambda p: p["kinds"]["name"]),
    ("numbers", lambda p: p["kinds"]["number"]),
    ("VADER-positive words", lambda p: p["kinds"]["positive"]),
    ("VADER-negative words", lambda p: p["kinds"]["negative"]),
    ("\u2265 2\u00d7 as often in positive reviews", lambda p: p["review_lean"]["positive"]),
    ("\u2265 2\u00d7 as often in negative reviews", lambda p: p["review_lean"]["negative"]),
    ("possible adjectives", lambda p: p["pos"]["ADJ"]),
    ("possible nouns", lambda p: p["pos"]["NOUN"]),
    ("possible verbs", lambda p: p["pos"]["VERB"]),
)


def _cluster_table(m: dict[str, Any], key: str, what: str) -> Table:
    """One column a cluster (and one for all words), one row a measured property."""
    c = m[key]
    everything = {**c["all_words"], **{f"{sign}_seeds": [w for p in c["clusters"]
                                                         for w in p[f"{sign}_seeds"]]
                                       for sign in ("positive", "negative")}}
    columns = [*c["clusters"], everything]
    dash = "\u2014"

    def row(label: str, cell: Any) -> list[str]:
        return [label] + [cell(p) for p in columns]

    rows = [row("words", lambda p: str(p["size"]))]
    rows += [row(label, lambda p, n=n: prose.pct(n(p) / p["size"])) for label, n in _SHARE_ROWS]
    rows += [
        row("sentiment seed words + / \u2212",
            lambda p: f"{len(p['positive_seeds'])} / {len(p['negative_seeds'])}"),
        row("median frequency rank", lambda p: (
            dash if p.get("median_rank") is None else f"{p['median_rank']:,.0f}")),
        row("first-person use", lambda p: (
            dash if p.get("mean_first_person_share") is None
            else prose.pct(p["mean_first_person_share"]))),
        row("100-d neighbours inside (chance)", lambda p: (
            f"{prose.pct(p['neighbour_agreement'])} ({prose.pct(p['agreement_chance'])})"
            if "neighbour_agreement" in p else dash)),
        row("most central words", lambda p: ", ".join(p.get("central_words", [])[:4]) or dash),
    ]
    header = ["", *(f"cluster {p['cluster']}" for p in c["clusters"]), "all words"]
    k_near = m["config"]["n_neighbours"]
    return Table(header, rows, caption=(
        f"What the {c['k']} clusters of {what} have in common, measured. Shares of each "
        "cluster's words: kinds of word (VADER lexicon for sentiment), words used at least twice "
        "as often in positive as in negative training reviews (or the reverse), parts of speech "
        "the lemminflect lexicon allows. First-person use: mean share of a word's training "
        f"sentences that also hold I, me or my. 100-d neighbours inside: share of the words' "
        f"{k_near} nearest 100-d neighbours among the plotted words that are in the same "
        "cluster."))


def _groups_table(found: dict[str, Any]) -> Table:
    """The semantic groups of the sentence words: their 100-d links and their place in the
    plane."""
    rows = [[", ".join(g["words"]),
             "; ".join(f"{a}–{b} {c:.2f}" for a, b, c in g["links"]),
             prose.pct(g["farther_share"]), "yes" if g["close"] else "no"]
            for g in found["groups"]]
    if not rows:
        rows = [["(none: no two plotted words are 100-d neighbours)", "—", "—",
                 "—"]]
    return Table(["group", "100-d neighbour links (cosine)", "plotted pairs farther apart",
                  "close in the plane"], rows, caption=(
        "Semantic groups among the plotted words, found from the data: words joined when one "
        "is among the other's five nearest 100-d neighbours over the whole vocabulary. Plotted "
        "pairs farther apart: the share of all pairs of plotted words that lie farther apart "
        "in the plane than the group's members; close: at least two thirds."))


def _groupings_table(m: dict[str, Any]) -> Table:
    ref = m["reference_words"]
    rows = [[prose.GROUP_NAMES.get(key, key), f"{v['words']:,}", prose.pct(v["share_2d"]),
             prose.pct(v["share_100d"]), prose.pct(v["chance"])]
            for key, v in ref["groupings"].items()]
    k = ref["neighbourhood"]["k"]
    return Table(["kind of word", "words", f"same kind among {k} nearest: plane",
                  "100-d (cosine)", "chance"], rows, caption=(
        f"Which groupings the plane keeps, among the {ref['neighbourhood']['words']:,} most "
        f"frequent training words: for the members of each kind, the mean share of their {k} "
        "nearest neighbours that are of the same kind, in the PCA plane and in 100-d."))


def settings_rows(m: dict[str, Any]) -> list[tuple[str, str]]:
    """Q1(a)'s settings as run (from the recorded config and word-vector info)."""
    cfg, wv = m["config"], m["word_vectors"]
    params = wv.get("params") or {}
    if cfg.get("pretrained"):
        vectors = f"loaded from {cfg['pretrained']} ({wv.get('format', 'vectors')})"
    else:
        algo = "skip-gram" if params.get("sg") else "CBOW"
        vectors = (f"gensim Word2Vec {algo}, {cfg['dim']}-d, window {params.get('window')}, "
                   f"min count {params.get('min_count')}, {params.get('epochs')} epochs, on "
                   f"{wv.get('corpus_reviews', 0):,} reviews ({wv.get('corpus_tokens', 0):,} "
                   "tokens)")
    return [
        ("Q1(a) word vectors", vectors),
        ("Q1(a) PCA", (f"{cfg['dim']} \u2192 2, fitted on the "
                      f"{m['pca']['fitted_on_words']:,} training word types, unweighted")),
        ("Q1(a) plotted words", (f"{cfg['n_sentences']} validation sentences of "
                                f"{cfg['sentence_min_tokens']}\u2013{cfg['sentence_max_tokens']} "
                                f"tokens (seed {cfg['seed']}); the {cfg['n_frequent']} most "
                                "frequent training content words")),
        ("Q1(a) clusters", (f"k-means in the plane, k = {cfg['k_min']}\u2013{cfg['k_max']} by "
                           f"silhouette; {cfg['n_neighbours']} nearest neighbours")),
        ("Q1(a) word kinds", (f"VADER {cfg.get('lexicons', {}).get('vaderSentiment', '')} "
                             f"(|valence| \u2265 {cfg['valence_threshold']:g}), lemminflect "
                             f"{cfg.get('lexicons', {}).get('lemminflect', '')}, scikit-learn "
                             "stop words; capitalisation and I/me/my in "
                             f"{m.get('usage_reviews_scanned', cfg['usage_reviews']):,} "
                             "training reviews")),
    ]


def deviations(m: dict[str, Any]) -> list[str]:
    """Where this run departs from the assignment's wording, each stated once."""
    cfg, wv = m["config"], m["word_vectors"]
    out = []
    if not cfg.get("pretrained"):
        out.append(word2vec_deviation(str(wv.get("source", ""))))
        if not wv.get("deterministic", True):
            out.append("Word2Vec trained with several threads is not bit-for-bit "
                       "reproducible; later runs reuse the cached vectors.")
    out.append(f"\u201c10 validation sentences\u201d: one sentence of "
               f"{cfg['sentence_min_tokens']}\u2013{cfg['sentence_max_tokens']} tokens from "
               f"each of {cfg['n_sentences']} randomly drawn validation reviews, since the "
               "words of whole reviews are too many to label in one plot.")
    out.extend(wv.get("warnings", []))
    return out


def appendix(m: dict[str, Any]) -> list[Block]:
    """The sentences, every cluster's words, neighbours and the raw numbers."""
    blocks: list[Block] = [Heading("Q1(a) word embeddings: details", level=2)]
    blocks.append(Table(["", "review (CSV row)", "sentence"], [
        [f"S{i + 1}", f"{s['csv_row']:,}", s["text"]]
        for i, s in enumerate(m["validation_sentences"])],
        caption="The 10 validation sentences whose words are plotted."))
    for key, what in (("clusters_sentence_words", "sentence words"),
                      ("clusters_frequent_words", "frequent words")):
        c = m[key]
        blocks.append(Table(["cluster", "words, most central first"], [
            [str(p["cluster"]), ", ".join(p["words"])] for p in c["clusters"]],
            caption=f"Every cluster of the {what} (silhouette by k: " + ", ".join(
                f"{k}: {v:.2f}" for k, v in c["silhouette_by_k"].items()) + ")."))
    nn = m.get("nearest_neighbours", {})
    if nn:
        blocks.append(Table(["word", "nearest 100-d neighbours (cosine)"], [
            [w, ", ".join(f"{n} ({v:.2f})" for n, v in near)] for w, near in nn.items()],
            caption="Cosine nearest neighbours of the plotted content words and seed words."))
    pca, wv = m["pca"], m["word_vectors"]
    blocks.append(Paragraph(
        "Explained-variance ratios of the first 10 components: " + ", ".join(
            percent(r) for r in pca["explained_variance_ratio_first10"])
        + f". Vectors: {m.get('vocab_size', 0):,} words ({m.get('training_vocab_size', 0):,} "
        f"in the training split); word2vec training took {wv.get('train_seconds', 0):.0f} s; "
        f"the whole step {m.get('seconds', 0):.0f} s on {m.get('host', 'an unrecorded host')}."))
    return blocks
