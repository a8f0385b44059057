"""Q3's report sections built from metrics at report time: every part answers with numbers,
reads the RMSprop run from its curves, draws its figures, states each deviation once, names
no target, and still builds from partial results."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from synth_esc import write_esc_zip

from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q3 import cv
from mlsplab.experiments.q3 import run as q3run
from mlsplab.experiments.q3.config import ADAM_BATCH
from mlsplab.experiments.q3.horizon import run_pilot
from mlsplab.experiments.q3.reading import curve_reading, fmt_loss
from mlsplab.experiments.q3.summary import part_report
from mlsplab.report.document import Figure, Paragraph, PartReport, Table

pytestmark = pytest.mark.usefixtures("one_thread")
PARTS = ("q3a", "q3b", "q3c", "q3x")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    data = tmp_path_factory.mktemp("data")
    write_esc_zip(data / "ESC-50-master.zip", n_classes=4)
    out = tmp_path_factory.mktemp("runs")
    options = RunOptions(out=out, data_dir=data, seeds=2)
    q3run.run(options, epochs=2)
    cv.run(options, epochs=1, models=(ADAM_BATCH,))
    run_pilot(options, epochs=3)
    docs = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/metrics.json")}
    return docs, out


def _texts(report: PartReport) -> list[str]:
    out = [report.overview, *report.deviations, *(f"{k} {v}" for k, v in report.settings)]
    for block in report.answer + report.evidence + report.appendix:
        if isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, Table):
            out += [block.caption, *(" ".join(r) for r in block.rows)]
        elif isinstance(block, Figure):
            out.append(block.caption)
    return out


@pytest.mark.parametrize("part", PARTS)
def test_each_part_answers_with_numbers_figures_and_settings(results, tmp_path: Path,
                                                             part: str) -> None:
    docs, out = results
    report = part_report(part, docs, out, tmp_path)
    assert report.status == "full" and "%" in report.overview
    assert report.answer and all("%" in b.text for b in report.answer[:1])
    assert report.settings and report.appendix
    figures = [b for b in report.evidence + report.appendix if isinstance(b, Figure)]
    assert figures and all(f.path.suffix == ".svg" and f.path.stat().st_size > 5000
                           for f in figures)
    assert len(report.deviations) == len(set(report.deviations))
    text = " ".join(_texts(report)).lower()
    assert "target" not in text and "not met" not in text


def test_q3a_reads_rmsprop_from_its_curves_and_ranks_every_optimizer(results,
                                                                    tmp_path: Path) -> None:
    docs, out = results
    answer = " ".join(b.text for b in part_report("q3a", docs, out, tmp_path).answer)
    for name in ("SGD ", "SGD+momentum", "RMSprop ", "Adam "):
        assert name in answer
    assert "RMSprop with torch's default parameters (lr 0.01, alpha 0.99, eps 1e-08" in answer
    assert curve_reading(docs["q3a-rmsprop"])["verdict"] in answer
    assert "RMSprop (lr 0.001, extra)" in answer and "At the last epoch" in answer
    appendix = " ".join(_texts(part_report("q3a", docs, out, tmp_path)))
    assert "Horizon pilot (seed 0, 3 epochs each" in appendix


def _with_curve(doc: dict, train: list[float], val_acc: list[float]) -> dict:
    """A copy of a single-configuration document whose every seed has these curves."""
    doc = copy.deepcopy(doc)
    rows = [{"epoch": e + 1, "train_loss": t, "val_loss": 2.3, "val_accuracy": a, "seconds": 1.0}
            for e, (t, a) in enumerate(zip(train, val_acc))]
    doc["histories"] = [rows for _ in doc["histories"]]
    doc["mean_curves"] = {"epoch": [r["epoch"] for r in rows]}
    for key in ("train_loss", "val_loss", "val_accuracy"):
        values = [r[key] for r in rows]
        doc["mean_curves"].update({key: values, f"{key}_min": values, f"{key}_max": values,
                                   f"{key}_std": [0.0] * len(rows)})
    doc["class_names"] = [str(i) for i in range(10)]
    return doc


def test_curve_verdicts_follow_the_recorded_losses(results, tmp_path: Path) -> None:
    docs, out = results
    base = docs["q3a-rmsprop"]
    n = 20  # a plateau over the last 10 epochs, as in a real 40-epoch run
    falling = [2.0 / (1 + e) for e in range(n)]
    rising = [min(0.6, 0.1 + 0.05 * e) for e in range(n)]
    diverged = _with_curve(base, [12345.0] + [2.3] * (n - 1), [0.1] * n)
    assert curve_reading(diverged)["verdict"] == "diverged"
    recovered = _with_curve(base, [12345.0] + falling[1:], rising)
    assert curve_reading(recovered)["verdict"] == "diverged, then learned"
    learned = _with_curve(base, falling, rising)
    assert curve_reading(learned)["verdict"] == "learned"
    wobbly = _with_curve(base, falling, rising[:10] + [0.3, 0.7] * 5)
    assert curve_reading(wobbly)["verdict"] == "learned, oscillating"
    stuck = _with_curve(base, [2.3] * n, [0.1] * n)
    assert curve_reading(stuck)["verdict"] == "did not learn"
    answer = " ".join(b.text for b in part_report("q3a", {**docs, "q3a-rmsprop": diverged},
                                                  out, tmp_path).answer)
    assert "RMSprop with torch's default parameters" in answer
    assert f"diverged: mean training loss {fmt_loss(12345.0)} after epoch 1" in answer
    assert fmt_loss(12345.0) == "$1.2 \\times 10^{4}$" and fmt_loss(0.123) == "0.12"


def test_partial_results_still_build_and_say_so(results, tmp_path: Path) -> None:
    docs, out = results
    partial = {k: v for k, v in docs.items() if k not in ("q3a-sgd", "q3x-cv", "q3x-ensemble")}
    assert part_report("q3a", partial, out, tmp_path).status == "partial: 4 of 5 results"
    beyond = part_report("q3x", partial, out, tmp_path)
    assert beyond.status == "partial: 1 of 3 results" and beyond.answer
    quick = {k: {**v, "quick": True} for k, v in docs.items()}
    report = part_report("q3b", quick, out, tmp_path)
    assert report.status == "quick" and report.deviations[0].startswith("quick mode")
    with pytest.raises(KeyError, match="no Q3 part"):
        part_report("q9", docs, out, tmp_path)


def test_q3c_states_one_headline_everywhere(results, tmp_path: Path) -> None:
    docs, out = results
    report = part_report("q3c", docs, out, tmp_path)
    head = docs["q3c-ensemble"]["headline_method"]
    name = {"average": "posterior averaging", "optimal-weights": "optimal linear weights"}[head]
    assert report.overview.startswith("optimal weights") and "averaging" in report.overview
    # the rule that picks the headline is in the detailed reading (the appendix) ...
    assert "The headline ensemble is chosen by out-of-fold validation accuracy" in \
        report.answer[0].text
    table = next(b for b in report.evidence if isinstance(b, Table))
    assert [r[0] for r in table.rows if "(chosen on validation)" in r[0]] == [
        f"{name} (chosen on validation)"]
    # ... the body says the conclusion
    assert "An ensemble gains when" in report.conclusion


def test_q3x_puts_cross_validation_beside_piczak(results, tmp_path: Path) -> None:
    docs, out = results
    text = " ".join(b.text for b in part_report("q3x", docs, out, tmp_path).answer)
    assert "Five-fold cross-validation" in text and "folds 1\u20135:" in text
    assert "80.5 %" in text and "72.7 %" in text and "95.7 %" in text
    assert "IEEE MLSP 2015" in text and "ACM MM 2015" in text
