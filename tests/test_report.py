"""The report is built from metrics.json files only and contains every section."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from mlsplab.errors import MlsplabError  # noqa: E402
from mlsplab.experiments.common import experiment_dir, write_metrics  # noqa: E402
from mlsplab.report.build import build_report  # noqa: E402
from mlsplab.report.sections import QUICK_BANNER, SECTIONS  # noqa: E402


def _fake_result(out: Path, exp_id: str, acc: float, quick: bool) -> None:
    d = experiment_dir(out, exp_id)
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [1.0, 0.5, 0.25])
    fig.savefig(d / "loss_curves.png", dpi=50)
    plt.close(fig)
    write_metrics(d, exp_id, {"epochs": 3}, {
        "quick": quick, "test_accuracy": acc, "deviations": ["a stated deviation"],
        "summary": [f"{exp_id} measured sentence"],
        "tables": [{"title": "per seed", "header": ["seed", "acc"], "rows": [[0, acc]]}]})


def _pdf_pages(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(str(path)).pages]


def test_report_has_every_section_and_the_numbers(tmp_path: Path) -> None:
    _fake_result(tmp_path, "q3a-adam", 0.7125, quick=False)
    _fake_result(tmp_path, "q1b-lstm-avg", 0.8831, quick=False)
    paths = build_report(tmp_path)
    page = paths["html"].read_text()
    pages = _pdf_pages(paths["pdf"])
    text = "\n".join(pages)
    for section in SECTIONS:
        key = section.title.split(":")[0]
        assert key in page and key in text, key
    assert "71.2 %" in page and "88.3 %" in page  # read from metrics, formatted
    assert "q3a-adam measured sentence" in text
    # on the first page a deviation shared by several experiments is listed once, naming
    # all of them; each experiment's block repeats it beside the result
    assert page.count("a stated deviation") == 3
    assert "q1b-lstm-avg, q3a-adam: a stated deviation" in page
    assert "QUICK MODE" not in page  # nothing ran in quick mode
    # questions with no results say so rather than inventing numbers
    assert "No results yet" in page


def test_quick_results_mark_every_pdf_page(tmp_path: Path) -> None:
    _fake_result(tmp_path, "q3a-adam", 0.5, quick=True)
    paths = build_report(tmp_path)
    pages = _pdf_pages(paths["pdf"])
    assert len(pages) >= 2
    assert all("QUICK MODE" in page for page in pages)
    assert html.escape(QUICK_BANNER) in paths["html"].read_text()


def test_corrupt_metrics_file_is_skipped_not_fatal(tmp_path: Path) -> None:
    _fake_result(tmp_path, "q3a-adam", 0.5, quick=False)
    (tmp_path / "q4-conv-dense").mkdir()
    (tmp_path / "q4-conv-dense" / "metrics.json").write_text("{not json")
    paths = build_report(tmp_path)
    assert paths["pdf"].stat().st_size > 0


def test_missing_results_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MlsplabError, match="no such results folder"):
        build_report(tmp_path / "nope")


def test_headline_note_flags_partial_quick_and_beyond_runs() -> None:
    from mlsplab.report.sections import _headline_note

    assert _headline_note({"test_accuracy": 0.9}) == "-"
    partial = {"complete": False, "history": [{}, {}], "epochs_planned": 25}
    assert _headline_note(partial) == "partial: 2 of 25 epochs (time budget)"
    assert _headline_note({"quick": True, "beyond_assignment": True}) == (
        "quick mode; beyond the assignment")


def test_results_are_listed_in_the_assignment_order(tmp_path: Path) -> None:
    for exp_id in ("q4-conv-dense", "q3a-sgd", "q1b-lstm-avg", "zz-extra"):
        _fake_result(tmp_path, exp_id, 0.5, quick=False)
    from mlsplab.report.sections import load_results

    assert list(load_results(tmp_path)) == ["q1b-lstm-avg", "q3a-sgd", "q4-conv-dense",
                                            "zz-extra"]


def test_deviation_shared_by_a_question_is_stated_once_there(tmp_path: Path) -> None:
    for exp_id in ("q3a-sgd", "q3a-adam"):
        _fake_result(tmp_path, exp_id, 0.5, quick=False)
    page = build_report(tmp_path)["html"].read_text()
    assert "for every experiment below: a stated deviation" in page
    assert page.count("a stated deviation") == 2  # first page + once in Q3


def test_pdf_columns_fit_their_longest_word() -> None:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from mlsplab.report.document import Table
    from mlsplab.report.pdf import STYLES, _column_widths

    rows = [["Adam/BatchNorm+aug", "3", "82.5 %", "0.47, 0.29, 0.24 " * 6, "77.5 %"]] * 3
    block = Table(["model", "models", "validation accuracy", "weights (mean)", "test accuracy"],
                  rows)
    widths = _column_widths(block, 5, 480.0)
    assert abs(sum(widths) - 480.0) < 1e-6
    cell, head = STYLES["cell"], STYLES["cellhead"]
    for i, w in enumerate(widths):
        words = [(x, head) for x in block.header[i].split()]
        words += [(x, cell) for r in rows for x in r[i].split()]
        assert all(stringWidth(x, s.fontName, s.fontSize) + 6 <= w for x, s in words), i
    assert widths[3] == max(widths)  # the longest text gets the spare width
