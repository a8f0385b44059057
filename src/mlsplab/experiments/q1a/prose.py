"""Q1(a)'s answer in sentences, generated at report time from ``metrics.json``.

Every sentence states a measurement. What a cluster "has in common" is read from its
profile (``clusters.describe``): the properties whose share in the cluster differs most from
their share among all the plotted words are named, with both numbers.
"""

from __future__ import annotations

import math
from typing import Any

from mlsplab.experiments.q1a.groups import group_name
from mlsplab.formatting import count, percent

# (key, label) of the shares a cluster can stand out by; the count is read by _count.
SHARE_TRAITS: tuple[tuple[str, str], ...] = (
    ("function", "function words"),
    ("name", "names or other capitalised words"),
    ("number", "numbers"),
    ("positive", "positive words in VADER's lexicon"),
    ("negative", "negative words in VADER's lexicon"),
    ("lean_positive", "words used at least twice as often in positive as in negative reviews"),
    ("lean_negative", "words used at least twice as often in negative as in positive reviews"),
    ("ADJ", "possible adjectives"),
    ("NOUN", "possible nouns"),
    ("VERB", "possible verbs"),
    ("ADV", "possible adverbs"),
)
MIN_DIFFERENCE = 0.08  # a share must differ from all plotted words' by 8 points ...
MIN_Z = 2.0  # ... and by 2 binomial standard errors to be named
MAX_TRAITS = 3
# Groupings of words (clusters.groupings): the share of a member's nearest neighbours in the
# plane that are members, as a fraction of that excess over chance in 100-d.
KEPT, PARTLY_KEPT = 0.5, 0.2
GROUP_NAMES = {"function": "function words", "name": "names", "number": "numbers",
               "positive": "positive words", "negative": "negative words",
               "other": "other content words", "ADJ": "adjectives", "NOUN": "nouns",
               "VERB": "verbs", "ADV": "adverbs"}


# Shorter names of SHARE_TRAITS for the one-line summary ("more words of positive reviews").
SHORT_NAMES = {**GROUP_NAMES, "positive": "VADER-positive words",
               "negative": "VADER-negative words",
               "lean_positive": "words of positive reviews",
               "lean_negative": "words of negative reviews"}


def pct(x: float) -> str:
    """A share as a whole percentage: ``'56 %'``."""
    return percent(x, digits=0)


def num(x: float, digits: int = 2) -> str:
    """A signed coordinate or correlation with a Unicode minus."""
    return f"{x:.{digits}f}".replace("-", "\u2212")


def _count(profile: dict[str, Any], key: str) -> int:
    if key in profile["kinds"]:
        return profile["kinds"][key]
    if key.startswith("lean_"):
        return profile["review_lean"][key.removeprefix("lean_")]
    return profile["pos"][key]


def traits(profile: dict[str, Any], base: dict[str, Any]) -> list[tuple[str, str]]:
    """What sets a cluster apart from all plotted words, most distinctive first, as
    ``(long, short)`` phrases: the long one with both numbers, the short one for a summary.

    Shares count when they differ by ``MIN_DIFFERENCE`` and ``MIN_Z`` binomial standard
    errors; the median frequency rank when it differs by a factor 1.5; the first-person share
    when it differs by 4 points. Both of the latter are scored so that the threshold is z = 2.
    """
    scored: list[tuple[float, str, str]] = []
    n = profile["size"]
    for key, label in SHARE_TRAITS:
        p, q = _count(profile, key) / n, _count(base, key) / base["size"]
        z = (p - q) / math.sqrt(max(q * (1 - q), 1e-4) / n)
        if abs(p - q) >= MIN_DIFFERENCE and abs(z) >= MIN_Z:
            short = f"{'more' if p > q else 'fewer'} {SHORT_NAMES.get(key, label)}"
            scored.append((abs(z), f"{pct(p)} {label} (all plotted words: {pct(q)})", short))
    r, rb = profile.get("median_rank"), base.get("median_rank")
    if r and rb and max(r / rb, rb / r) >= 1.5:
        which = ("a lower median frequency rank (more frequent words)" if r < rb else
                 "a higher median frequency rank (more of the rarer words)")
        short = "a lower median frequency rank" if r < rb else "a higher median frequency rank"
        scored.append((2 * abs(math.log(r / rb)) / math.log(1.5),
                       f"{which}: median rank {r:,.0f} (all: {rb:,.0f})", short))
    f, fb = profile.get("mean_first_person_share"), base.get("mean_first_person_share")
    if f is not None and fb is not None and abs(f - fb) >= 0.04:
        scored.append((2 * abs(f - fb) / 0.04,
                       (f"its words share a training sentence with I/me/my {pct(f)} of the "
                       f"time (all: {pct(fb)})"),
                       f"{'more' if f > fb else 'less'} first-person use"))
    return [(long, short) for _, long, short in sorted(scored, reverse=True)[:MAX_TRAITS]]


def cluster_sentence(profile: dict[str, Any], base: dict[str, Any], k_near: int) -> str:
    """One cluster: size, place, what it shares, seeds, 100-d coherence, central words."""
    x, y = profile["centre_pc"]
    found = [long for long, _ in traits(profile, base)]
    common = "; ".join(found) if found else ("no measured property sets it apart from the "
                                             "plotted words as a whole")
    seeds = (f"{len(profile['positive_seeds'])} positive and {len(profile['negative_seeds'])} "
             "negative sentiment seed words (the fixed lists of the settings)")
    return (f"Cluster {profile['cluster']} ({profile['size']} words, centred at PC1 {num(x, 1)}, "
            f"PC2 {num(y, 1)}): {common}; {seeds}; "
            f"{pct(profile['neighbour_agreement'])} of its words' {k_near} nearest 100-d "
            f"neighbours among the plotted words lie in it too (chance "
            f"{pct(profile['agreement_chance'])}); most central: "
            f"{', '.join(profile['central_words'])}.")


def clusters_paragraph(m: dict[str, Any], key: str, what: str) -> str:
    """k-means on one plot, its agreement with 100-d k-means, then one sentence a cluster.

    ``what`` names the plotted words, with their number ("The 97 distinct words of ...").
    """
    c = m[key]
    n_near = c["neighbourhood"]["k"]
    head = (f"{what} fall into k = {c['k']} clusters "
            f"(k-means in the plane, best silhouette {num(c['silhouette'])} for k = "
            f"{m['config']['k_min']}\u2013{m['config']['k_max']}; adjusted Rand index "
            f"{num(c['ari_2d_vs_100d'])} against k-means on the 100-d vectors).")
    if "ari_vs_sentence" in c:
        follow = "do not follow" if c["ari_vs_sentence"] < 0.2 else "partly follow"
        head += (f" The clusters {follow} the sentences (adjusted Rand index "
                 f"{num(c['ari_vs_sentence'])} with each word's sentence).")
    return " ".join([head] + [cluster_sentence(p, c["all_words"], n_near)
                              for p in c["clusters"]] + [in_short(c)])


def in_short(c: dict[str, Any]) -> str:
    """One line over all clusters: each one's two most distinctive traits."""
    parts, first_person = [], False
    for p in c["clusters"]:
        shorts = [short for _, short in traits(p, c["all_words"])][:2]
        first_person |= any("first-person" in s for s in shorts)
        parts.append(f"cluster {p['cluster']}, " + (" and ".join(shorts) or "no distinct "
                     "trait") + f" (most central: {', '.join(p['central_words'][:3])})")
    text = "In short: " + "; ".join(parts) + "."
    if first_person:
        text += (" (First-person use: the share of a word's training sentences that also hold "
                 "I, me or my, where the reviewer speaks of their own viewing.)")
    return text


def projection_paragraph(m: dict[str, Any]) -> str:
    """How much of the 100-d geometry the plane keeps, and what PC1/PC2 follow."""
    pca = m["pca"]
    ev1, ev2 = pca["explained_variance_ratio"]
    ref = m["reference_words"]
    nb_ref, nb_sent = ref["neighbourhood"], m["clusters_sentence_words"]["neighbourhood"]
    text = (f"PCA fitted on the {pca['fitted_on_words']:,} word types of the training split "
            f"keeps {percent(ev1 + ev2)} of the variance in the plane (PC1 {percent(ev1)}, PC2 "
            f"{percent(ev2)}; {pca['components_for_50pct']} components are needed for half), "
            f"so the plot is a coarse view: of a sentence word's {nb_sent['k']} nearest 100-d "
            f"neighbours among the plotted words, {nb_sent['mean_overlap'] * nb_sent['k']:.1f} "
            f"are also among its {nb_sent['k']} nearest in the plane (chance "
            f"{nb_sent['chance'] * nb_sent['k']:.1f}); among the {nb_ref['words']:,} most "
            f"frequent words, {nb_ref['mean_overlap'] * nb_ref['k']:.2f} (chance "
            f"{nb_ref['chance'] * nb_ref['k']:.2f}).")
    axes = ref["axes"]
    parts = []
    for pc in ("pc1", "pc2"):
        rho_f, rho_v = axes[pc]["spearman_log_count"], axes[pc]["spearman_valence"]
        strongest = max([("word frequency", rho_f), ("VADER valence", rho_v)],
                        key=lambda t: abs(t[1]) if t[1] is not None else -1)
        verb = "follows" if abs(strongest[1]) >= 0.3 else "barely follows"
        parts.append(f"{pc.upper()} {verb} {strongest[0]} (Spearman \u03c1 = "
                     f"{num(strongest[1])})")
    text += (f" Among the {axes['words']:,} most frequent words, " + " and ".join(parts)
             + f"; valence is that of the {axes['valence_words']} of them VADER rates.")
    return text


def groupings_paragraph(m: dict[str, Any]) -> str:
    """Which kinds of word group in the plane, as they do in 100-d, and which do not."""
    g = m["reference_words"]["groupings"]
    k = m["reference_words"]["neighbourhood"]["k"]
    kept, partly, lost, none = [], [], [], []
    for key in ("name", "number", "function", "positive", "negative", "ADJ", "ADV"):
        if key not in g:
            continue
        v = g[key]
        text = (f"{GROUP_NAMES[key]} ({pct(v['share_2d'])} in the plane, "
                f"{pct(v['share_100d'])} in 100-d, chance {pct(v['chance'])})")
        if v["share_100d"] < 2 * v["chance"]:
            none.append(text)
            continue
        kept_share = (v["share_2d"] - v["chance"]) / (v["share_100d"] - v["chance"])
        (kept if kept_share >= KEPT else partly if kept_share >= PARTLY_KEPT else lost
         ).append(text)
    out = [(f"Which groupings the plot shows: for each kind of word among the "
           f"{m['reference_words']['neighbourhood']['words']:,} most frequent training words, "
           f"the share of a member's {k} nearest neighbours that are of the same kind.")]
    for names, verdict in ((kept, "The plane keeps the grouping of"),
                           (partly, "It keeps part of the grouping of"),
                           (lost, "It loses the grouping of"),
                           (none, "Not grouped even in 100-d:")):
        if names:
            out.append(f"{verdict} {'; '.join(names)}.")
    return " ".join(out)


def sentiment_summary(m: dict[str, Any]) -> str:
    """How far PC1/PC2 separate positive from negative words, against 100-d."""
    s, probe = m["sentiment_seeds"], m["sentiment_probe"]
    out = []
    if "loo_centroid_accuracy_2d" in s:
        a2, a100 = s["loo_centroid_accuracy_2d"], s["loo_centroid_accuracy_100d"]
        verdict = ("the plane keeps only part of the sentiment direction" if a2 < a100 - 0.05
                   else "the plane separates them better than 100-d does" if a2 > a100 + 0.05
                   else "the plane separates them about as well as 100-d does")
        out.append(f"Sentiment: the {len(s['positive'])} positive and {len(s['negative'])} "
                   f"negative seed words are told apart by their nearest centroid "
                   f"(leave-one-out) for {pct(a2)} of them in the plane against {pct(a100)} in "
                   f"100-d (chance 50 %): {verdict}.")
    if "balanced_accuracy_2d" in probe:
        out.append(
            f"Over the {probe['words']:,} training words VADER rates clearly positive or "
            f"negative ({probe['positive']:,} / {probe['negative']:,}), a logistic regression "
            f"reaches {pct(probe['balanced_accuracy_2d'])} balanced accuracy from PC1 and PC2 "
            f"against {pct(probe['balanced_accuracy_100d'])} from the 100-d vectors "
            f"({probe['folds']}-fold cross-validation; chance 50 %).")
    return " ".join(out)


def sentiment_details(m: dict[str, Any]) -> str:
    """Where the seed words lie, and their 100-d neighbours."""
    s = m["sentiment_seeds"]
    out = []
    if "pc1" in s:
        (x1, y1), (x0, y0) = ((s[pc]["mean_positive"] for pc in ("pc1", "pc2")),
                              (s[pc]["mean_negative"] for pc in ("pc1", "pc2")))
        out.append(
            f"The positive seed words lie at mean (PC1, PC2) = ({num(x1)}, {num(y1)}), the "
            f"negative ones at ({num(x0)}, {num(y0)}): gaps of "
            f"{num(s['pc1']['gap_in_pooled_sd'])} and {num(s['pc2']['gap_in_pooled_sd'])} "
            "pooled standard deviations on PC1 and PC2.")
    if s.get("neighbour_seeds_same_polarity") is not None:
        out.append(f"Of the seed words among the seeds' 10 nearest 100-d neighbours "
                   f"({s['neighbour_seeds']}), {pct(s['neighbour_seeds_same_polarity'])} "
                   "have the same polarity.")
    nn = m.get("nearest_neighbours", {})
    shown = [w for w in (s.get("positive", [])[:1] + s.get("negative", [])[:1]) if w in nn]
    if shown:
        out.append("Nearest 100-d neighbours (cosine): " + "; ".join(
            f"{w}: " + ", ".join(f"{n} ({v:.2f})" for n, v in nn[w][:3]) for w in shown) + ".")
    return " ".join(out)


def overview(m: dict[str, Any]) -> str:
    """The answer in one line, with its numbers."""
    ev = m["pca"]["explained_variance_2d"]
    sc, fc = m["clusters_sentence_words"], m["clusters_frequent_words"]
    line = (f"PC1 + PC2 keep {percent(ev)} of the variance; {sc['k']} clusters of sentence "
            f"words, {fc['k']} of frequent words")
    s = m["sentiment_seeds"]
    if "loo_centroid_accuracy_2d" in s:
        line += (f"; sentiment seeds separate at {pct(s['loo_centroid_accuracy_2d'])} in 2-D "
                 f"vs {pct(s['loo_centroid_accuracy_100d'])} in 100-d")
    return line


# --- the model answer: set-up, conclusion, overview line (issue-free wording, from measurements)

STRONG_AXIS = 0.3  # |Spearman rho| from which an axis "follows" a property


def _axis_phrase(m: dict[str, Any], pc: str) -> tuple[str, float]:
    """What one component follows among the frequent words, and the rho behind it."""
    axes = m["reference_words"]["axes"][pc]
    candidates = [("word frequency", axes.get("spearman_log_count")),
                  ("VADER valence", axes.get("spearman_valence"))]
    name, rho = max(((n, r) for n, r in candidates if r is not None),
                    key=lambda t: abs(t[1]), default=("word frequency", 0.0))
    return name, float(rho)


def _axis_sentence(m: dict[str, Any]) -> str:
    """PC1 and PC2 against frequency and valence, in words that follow the signs."""
    n = m["reference_words"]["axes"]["words"]
    parts = []
    for pc in ("pc1", "pc2"):
        name, rho = _axis_phrase(m, pc)
        if abs(rho) < STRONG_AXIS:
            parts.append(f"{pc.upper()} follows neither word frequency nor valence strongly "
                         f"(|\u03c1| \u2264 {abs(rho):.2f})")
            continue
        where = ("higher" if rho > 0 else "lower") if pc == "pc2" else \
            ("to the right" if rho > 0 else "to the left")
        what = "more frequent words" if name == "word frequency" else "more positive words"
        parts.append(f"{pc.upper()} follows {name} (\u03c1 = {num(rho)}: {what} lie {where})")
    return f"Among the {n:,} most frequent training words, " + " and ".join(parts) + "."


def setup(m: dict[str, Any]) -> str:
    """What was plotted, from what vectors, in two lines."""
    cfg, wv, pca = m["config"], m["word_vectors"], m["pca"]
    vectors = (f"100-d word2vec vectors trained here on {wv.get('corpus_reviews', 0):,} IMDB "
               "reviews (no pre-trained model can be downloaded offline)"
               if not cfg.get("pretrained") else f"the pre-trained vectors {cfg['pretrained']}")
    return (f"{vectors}; PCA fitted on the {pca['fitted_on_words']:,} word types of the "
            f"training split; plotted: the {len(m['sentence_plot']['words'])} distinct words of "
            f"one {cfg['sentence_min_tokens']}\u2013{cfg['sentence_max_tokens']}-token sentence "
            f"from each of {cfg['n_sentences']} random validation reviews.")


def conclusion(m: dict[str, Any], found: dict[str, Any]) -> str:
    """Mechanism, the groups the plot shows with their 100-d support, what it does not show."""
    ev = m["pca"]["explained_variance_2d"]
    nb = m["clusters_sentence_words"]["neighbourhood"]
    s = [(f"Word2vec places words used in similar contexts near each other in 100-d, and PCA "
          f"keeps only the two directions of largest variance ({percent(ev)} of it), so the "
          "plane shows the broadest of those similarities."), _axis_sentence(m)]
    groups = found["groups"]
    if groups:
        named = "; ".join(
            f"{group_name(g)} (cosine {g['cosine']:.2f})" for g in groups[:4])
        close = [g for g in groups if g["close"]]
        s.append(f"The semantic groups among the plotted words, found as words among each "
                 f"other's five nearest 100-d neighbours, are {named}.")
        if close:
            s.append(f"Of these, only {', '.join(group_name(g) for g in close)} also "
                     f"lie{'s' if len(close) == 1 and len(close[0]['words']) == 1 else ''} "
                     f"close in the plane (nearer than {pct(close[0]['farther_share'])} of all "
                     "pairs of plotted words); the others are pulled apart by the two axes.")
        else:
            s.append("None of them lies close in the plane: the two axes pull them apart.")
    else:
        s.append("No two plotted words are among each other's nearest 100-d neighbours, so "
                 "the plot shows no semantic group beyond the two axes.")
    s.append(f"Closeness in the plot alone is weak evidence: of a word's {nb['k']} nearest "
             f"100-d neighbours among the plotted words, the plane keeps "
             f"{nb['mean_overlap'] * nb['k']:.1f} (chance {nb['chance'] * nb['k']:.1f}), and "
             "other sentences give other groups.")
    return " ".join(s)


def group_overview(m: dict[str, Any], found: dict[str, Any]) -> str:
    """The overview's line: the axes and the groups."""
    axes = []
    for pc in ("pc1", "pc2"):
        name, rho = _axis_phrase(m, pc)
        axes.append(f"{pc.upper()} follows {name}" if abs(rho) >= STRONG_AXIS else
                    f"{pc.upper()} follows neither frequency nor valence")
    groups = found["groups"]
    close = sum(g["close"] for g in groups)
    return (f"PC1 + PC2 keep {percent(m['pca']['explained_variance_2d'])} of the variance; "
            + "; ".join(axes) + f"; {count(len(groups), 'group')} of 100-d neighbours among the "
            f"sentence words, {close} also close in the plane")
