"""Q1(a)'s measurements on small constructed data, where the right answer is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1a import clusters, lexicon, sentiment
from mlsplab.experiments.q1a.config import EmbeddingsConfig

CFG = EmbeddingsConfig()


def _props(words: list[str], kind: str = "other", **extra) -> dict[str, dict]:
    base = {"count": 10, "rank": 1, "review_log_odds": 0.0, "kind": kind, "valence": None,
            "capitalised_share": 0.0, "first_person_share": 0.2, "pos": []}
    return {w: {**base, **extra} for w in words}


def test_flags_reach_the_config_and_its_record() -> None:
    options = RunOptions(out=Path("o"), data_dir=Path("/d"), seed=7, quick=True,
                         pretrained=Path("/v.bin"))
    cfg = EmbeddingsConfig.from_options(options)
    assert (cfg.seed, cfg.quick, cfg.data_dir, cfg.pretrained) == (7, True, Path("/d"),
                                                                   Path("/v.bin"))
    record = cfg.record()
    assert record["seed"] == 7 and record["quick"] is True
    assert record["data_dir"] == "/d" and record["pretrained"] == "/v.bin"
    assert EmbeddingsConfig.from_options(RunOptions()).record()["pretrained"] is None


def test_nearest_and_neighbourhood_overlap() -> None:
    X = np.array([[0.0], [1.0], [3.0], [7.0]])
    assert clusters.nearest(X, 2).tolist() == [[1, 2], [0, 2], [1, 0], [2, 1]]
    rng = np.random.default_rng(0)
    X = np.hstack([rng.normal(size=(200, 2)) * 10, rng.normal(size=(200, 98)) * 0.01])
    kept = clusters.neighbourhood_overlap(X[:, :2], X, k=10)  # the plane holds all structure
    assert kept["mean_overlap"] == pytest.approx(1.0) and kept["chance"] == pytest.approx(10 / 199)
    lost = clusters.neighbourhood_overlap(rng.normal(size=(200, 2)), X, k=10)
    assert lost["mean_overlap"] < 0.2  # unrelated plane: about chance


def test_kmeans_finds_two_blobs_numbered_left_to_right() -> None:
    rng = np.random.default_rng(1)
    right = rng.normal(size=(30, 2)) * 0.1 + [5, 0]
    left = rng.normal(size=(20, 2)) * 0.1 + [-5, 0]
    km = clusters.kmeans_by_silhouette(np.vstack([right, left]), CFG)
    assert km["k"] == 2 and km["silhouette"] > 0.9
    assert set(km["labels"][:30]) == {1} and set(km["labels"][30:]) == {0}


def test_cluster_profiles_count_kinds_seeds_and_agreement() -> None:
    words = ["the", "a", "of", "and", "great", "awful", "john", "mary"]
    props = (_props(["the", "a", "of", "and"], "function", rank=2)
             | _props(["great"], "positive", valence=3.1, pos=["ADJ"], review_log_odds=1.0)
             | _props(["awful"], "negative", valence=-2.0, pos=["ADJ"],
                      review_log_odds=-1.2)
             | _props(["john", "mary"], "name", rank=500, first_person_share=None))
    P = np.array([[-1, 0], [-1.1, 0], [-0.9, 0], [-1, 0.1], [1, 0], [1.1, 0], [0.9, 0],
                  [1, 0.1]])
    X = np.repeat(P, 50, axis=1)  # (8, 100): the same geometry in 100-d
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    cfg = EmbeddingsConfig(n_neighbours=3)
    first, second = clusters.cluster_profiles(words, P, clusters.unit_rows(X), labels, props,
                                              cfg)
    assert first["size"] == 4 and first["kinds"]["function"] == 4 and first["median_rank"] == 2
    assert second["kinds"] == {"number": 0, "function": 0, "name": 2, "positive": 1,
                               "negative": 1, "other": 0}
    assert second["positive_seeds"] == ["great"] and second["negative_seeds"] == ["awful"]
    assert second["pos"]["ADJ"] == 2 and second["mean_valence"] == pytest.approx(0.55)
    assert second["review_lean"] == {"positive": 1, "negative": 1}
    assert second["first_person_words"] == 2  # names have no first-person share
    assert first["neighbour_agreement"] == 1.0 and first["agreement_chance"] == pytest.approx(3 / 7)
    assert sorted(first["words"]) == sorted(words[:4])


def test_groupings_see_a_group_the_plane_loses() -> None:
    rng = np.random.default_rng(2)
    words = [f"w{i}" for i in range(60)]
    props = _props(words[:20], "number") | _props(words[20:], "other")
    X = rng.normal(size=(60, 100))
    X[:20, 50:] += 5.0  # numbers form a tight group in 100-d, in dimensions PCA's plane lacks
    P = rng.normal(size=(60, 2))  # the plane: unrelated to that group
    g = clusters.groupings(words, P, X, props, CFG)
    assert g["number"]["share_100d"] > 0.9 and g["number"]["chance"] == pytest.approx(19 / 59)
    assert g["number"]["share_2d"] < 0.6
    assert "name" not in g  # fewer than 2 members


def test_word_kind_rules_in_order() -> None:
    def kind(word, valence=None, uses=0, caps=0):
        return lexicon.word_kind(word, valence, uses, caps, CFG)

    assert kind("10") == "number" and kind("seven") == "number"
    assert kind("the") == "function" and kind("movie") == "function"
    assert kind("hitchcock", uses=10, caps=9) == "name"
    assert kind("hitchcock", uses=2, caps=2) == "other"  # too few uses to judge
    assert kind("b", uses=10, caps=10) == "other"  # single letters are not names
    assert kind("great", valence=3.1, uses=10, caps=1) == "positive"
    assert kind("awful", valence=-2.0) == "negative" and kind("plot", valence=0.5) == "other"


def test_usage_scan_capitalisation_and_first_person() -> None:
    texts = [("I saw Vertigo twice. Vertigo is slow, but I loved it.<br />The plot of Vertigo "
             "drags."), "Plot holes everywhere; the plot is thin."]
    usage = lexicon.Usage.scan(texts, {"vertigo", "plot", "loved"})
    assert usage.mid_uses["vertigo"] == 2 and usage.capitalised["vertigo"] == 2  # 1 initial
    assert usage.mid_uses["plot"] == 2 and usage.capitalised["plot"] == 0  # "Plot holes": initial
    assert usage.n_sentences == 5 and usage.n_first_person == 2
    assert usage.sentences["vertigo"] == 3 and usage.first_person["vertigo"] == 2
    assert usage.first_person["loved"] == 1


def test_corpus_counts_and_log_odds() -> None:
    corpus = lexicon.Corpus.count(["great great film", "great plot", "awful film"],
                                  np.array([1, 1, 0]))
    assert corpus.counts["great"] == 3 and corpus.positive_docs["great"] == 2
    assert corpus.log_odds("great") > 0.69 and corpus.log_odds("awful") < -0.69
    assert corpus.log_odds("film") == pytest.approx(np.log((1.5 / 2.5) / (1.5 / 1.5)))


def test_lexicons_load_offline() -> None:
    valences = lexicon.vader_valences()
    assert valences["great"] > 1 > -1 > valences["awful"] and len(valences) > 7000
    assert lexicon.parts_of_speech("quickly") == ["ADV"]
    assert "NOUN" in lexicon.parts_of_speech("actor")
    assert lexicon.parts_of_speech("the") == []


def test_sentiment_probe_separates_in_100d_not_in_an_unrelated_plane() -> None:
    valences = lexicon.vader_valences()
    pos = [w for w, v in valences.items() if v >= 2 and w.isalpha()][:30]
    neg = [w for w, v in valences.items() if v <= -2 and w.isalpha()][:30]
    words = pos + neg
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 100))
    X[:, 0] += np.repeat([6.0, -6.0], 30)  # polarity along one 100-d direction
    probe = sentiment.lexicon_probe(words, X, rng.normal(size=(60, 2)), CFG)
    assert (probe["words"], probe["positive"], probe["negative"]) == (60, 30, 30)
    assert probe["balanced_accuracy_100d"] > 0.9
    assert probe["balanced_accuracy_2d"] < 0.75  # a plane unrelated to polarity
    few = sentiment.lexicon_probe(words[:3], X[:3], X[:3, :2], CFG)
    assert "balanced_accuracy_2d" not in few  # too few words per class for 5 folds
