"""Q1(a)'s report section from synthetic results: the answer from measurements, readable
figures, and a section (never a crash) for missing, stale or partial results."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from report_text import ascii_math_in, text_of
from synth_data import write_imdb_zip, write_unsup_gz

from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1a import prose
from mlsplab.experiments.q1a.config import EXPERIMENT_ID
from mlsplab.experiments.q1a.run import run
from mlsplab.experiments.q1a.summary import part_report
from mlsplab.formatting import percent
from mlsplab.report.document import Figure, Paragraph, Table

pytestmark = pytest.mark.usefixtures("isolated_data_dirs")


def _run_q1a(tmp_path_factory: pytest.TempPathFactory, seed: int = 0) -> dict:
    """Q1(a) in quick mode on synthetic data; the metrics it writes."""
    d = tmp_path_factory.mktemp("data")
    write_imdb_zip(d / "IMDB_Dataset.csv.zip", n_reviews=300)
    write_unsup_gz(d / "aclImdb_unsup.txt.gz", n_reviews=300)
    out = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLSPLAB_OFFLINE", "1")
        run(RunOptions(out=out, data_dir=d, quick=True, seed=seed))
    return json.loads((out / EXPERIMENT_ID / "metrics.json").read_text())


@pytest.fixture(scope="module")
def metrics(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return _run_q1a(tmp_path_factory)


def _report(m: dict | None, tmp_path: Path):
    results = {} if m is None else {EXPERIMENT_ID: m}
    return part_report("q1a", results, tmp_path / "runs", tmp_path / "fig")


def test_answer_states_the_measurements(metrics: dict, tmp_path: Path) -> None:
    (tmp_path / "fig").mkdir()
    r = _report(metrics, tmp_path)
    assert r.status == "quick"
    answer = " ".join(b.text for b in r.answer if isinstance(b, Paragraph))
    c = metrics["clusters_sentence_words"]
    assert f"k = {c['k']} clusters" in answer and f"{c['silhouette']:.2f}" in answer
    for p in c["clusters"]:
        assert f"Cluster {p['cluster']} ({p['size']} words" in answer
        assert ", ".join(p["central_words"]) in answer
    assert "Which groupings the plot shows" in answer
    assert percent(metrics["pca"]["explained_variance_2d"]) in r.overview
    assert not ascii_math_in(r), ascii_math_in(r)
    assert not any("target" in t.lower() for t in text_of(r))
    for table in (b for b in r.evidence + r.appendix if isinstance(b, Table)):
        assert all(len(row) == len(table.header) for row in table.rows), table.caption
    assert {s for s, _ in r.settings} >= {"Q1(a) word vectors", "Q1(a) PCA"}
    assert any("pre-trained word2vec" in d for d in r.deviations)


def test_figures_are_svg_at_text_width_with_labels_of_8pt(metrics: dict, tmp_path: Path) -> None:
    (tmp_path / "fig").mkdir()
    r = _report(metrics, tmp_path)
    figures = [b for b in r.evidence + r.appendix if isinstance(b, Figure)]
    assert len(figures) == 2  # the sentence words in the body, the frequent words in the appendix
    assert [b for b in r.evidence if isinstance(b, Figure)] == figures[:1]
    for fig in figures:
        svg = fig.path.read_text()
        assert fig.path.suffix == ".svg" and fig.width_fraction == 1.0
        assert re.search(r'<svg[^>]* width="453.6pt"', svg)  # 6.3 in, printed at 1:1
        sizes = [float(s) for s in re.findall(r"font-size: ([0-9.]+)px", svg)]
        assert sizes and min(sizes) >= 8
        labelled = int(re.search(r"(\d+) of (\d+) words are labelled", fig.caption).group(1))
        assert labelled > 0
        assert "k-means clusters" in fig.caption and "validation sentences" in (
            figures[0].caption)


def test_missing_results_name_the_command(tmp_path: Path) -> None:
    r = _report(None, tmp_path)
    assert r.status == "missing"
    assert "mlsplab reproduce --only q1a --out" in r.answer[0].text


def test_stale_and_partial_results_give_a_section_not_a_crash(metrics: dict,
                                                              tmp_path: Path) -> None:
    (tmp_path / "fig").mkdir()
    old = {"experiment": EXPERIMENT_ID, "summary": ["PC1 explains 10 %"], "pca": {}}
    r = _report(old, tmp_path)
    assert r.status == "stale" and "older version" in r.answer[0].text
    partial = copy.deepcopy(metrics)
    del partial["clusters_frequent_words"]["clusters"][0]["kinds"]
    r = _report(partial, tmp_path)
    assert r.status == "stale" and "kinds" in r.answer[0].text
    no_probe = copy.deepcopy(metrics)
    no_probe["sentiment_probe"] = {"words": 3, "positive": 2, "negative": 1}  # too few words
    no_probe["sentiment_seeds"] = {"positive": ["good"], "negative": []}
    r = _report(no_probe, tmp_path)
    assert r.status == "quick" and "balanced accuracy" not in " ".join(text_of(r))


def _profile(n: int, function: int, rank: float, first_person: float) -> dict:
    return {"size": n, "kinds": {"number": 0, "function": function, "name": 0, "positive": 0,
                                 "negative": 0, "other": n - function},
            "pos": {"ADJ": 0, "NOUN": 0, "VERB": 0, "ADV": 0},
            "review_lean": {"positive": 0, "negative": 0}, "median_rank": rank,
            "mean_first_person_share": first_person}


def test_traits_name_what_sets_a_cluster_apart() -> None:
    base = _profile(100, 50, 100, 0.3)
    found = prose.traits(_profile(40, 36, 50, 0.36), base)  # most distinctive first
    longs = [long for long, _ in found]
    assert longs[0] == "90 % function words (all plotted words: 50 %)"
    assert longs[1] == ("a lower median frequency rank (more frequent words): median rank 50 "
                        "(all: 100)")
    assert [short for _, short in found] == ["more function words", "a lower median frequency rank",
                                             "more first-person use"]
    assert prose.traits(_profile(40, 20, 110, 0.31), base) == []  # nothing stands out


def test_groupings_sorted_into_kept_partly_and_lost() -> None:
    def group(share_2d: float, share_100d: float) -> dict:
        return {"words": 50, "chance": 0.1, "share_2d": share_2d, "share_100d": share_100d}

    m = {"reference_words": {"neighbourhood": {"k": 10, "words": 2000}, "groupings": {
        "name": group(0.5, 0.7), "positive": group(0.2, 0.4), "number": group(0.12, 0.9),
        "ADV": group(0.1, 0.15)}}}
    text = prose.groupings_paragraph(m)
    assert "keeps the grouping of names (50 % in the plane" in text
    assert "keeps part of the grouping of positive words" in text
    assert "loses the grouping of numbers" in text
    assert "Not grouped even in 100-d: adverbs" in text


@pytest.fixture(scope="module")
def second_seed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The same synthetic data, another seed: other sentences, other words plotted."""
    return _run_q1a(tmp_path_factory, seed=1)


def test_semantic_groups_come_from_each_seeds_own_sentences(metrics: dict, second_seed: dict,
                                                            tmp_path: Path) -> None:
    from mlsplab.experiments.q1a.groups import group_name, semantic_groups

    texts = []
    for m in (metrics, second_seed):
        found = semantic_groups(m)
        plotted = set(m["sentence_plot"]["words"])
        assert found["groups"], "the synthetic vocabulary is small: its words have neighbours"
        for g in found["groups"]:
            assert set(g["words"]) <= plotted  # found among this seed's plotted words
            # every link is a recorded 100-d neighbour, with its cosine
            for a, b, cosine in g["links"]:
                near = dict(map(tuple, m["nearest_neighbours"].get(a, [])))
                near_b = dict(map(tuple, m["nearest_neighbours"].get(b, [])))
                assert near.get(b) == cosine or near_b.get(a) == cosine
        (tmp_path / str(len(texts))).mkdir()
        r = part_report("q1a", {EXPERIMENT_ID: m}, tmp_path / "runs", tmp_path / str(len(texts)))
        assert group_name(found["groups"][0]) in r.conclusion
        texts.append(r.conclusion)
    assert metrics["validation_sentences"] != second_seed["validation_sentences"]
    assert texts[0] != texts[1]  # other sentences, other groups, other words
