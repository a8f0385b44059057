"""The report: parts in the assignment's order from their builders, overview with each
deviation once, appendix after the main body, typeset math, and never a crash on bad input.

Fake parts with fake builders (functions of this module) replace
``registry.PARTS``; results are tiny metrics.json files written here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from mlsplab.errors import MlsplabError
from mlsplab.experiments import registry
from mlsplab.experiments.ids import BENCH_SENTIMENT
from mlsplab.experiments.registry import Part
from mlsplab.report.build import build_report
from mlsplab.report.document import Figure, Heading, Math, Paragraph, PartReport, Table

SHARED_DEVIATION = "IMDB reviews capped at 400 tokens"
ASCII_MATH = ("^{", "_{", "delta^", "sum_")
REAL_PARTS = registry.PARTS  # before the fake_parts fixture replaces them


def _write(out: Path, exp_id: str, **metrics: Any) -> None:
    (out / exp_id).mkdir(parents=True, exist_ok=True)
    doc = {"experiment": exp_id, "config": {"epochs": 3}, "config_hash": f"hash-{exp_id}",
           "run_info": {"cpu": "Test CPU", "torch_version": "2.13.0", "host": "node-a",
                        "finished_at": "2026-01-01T00:00:00"},
           "data": {"path": "/data/ESC-50-master.zip", "sha256": "ab" * 32}, **metrics}
    (out / exp_id / "metrics.json").write_text(json.dumps(doc))


def _sentiment(key: str, results: dict, out: Path, fig_dir: Path) -> PartReport:
    doc = results["q1b-lstm-avg"]
    acc = doc["test_accuracy"]  # a stale file without it raises KeyError
    fig = fig_dir / "fake_curve.svg"
    from mlsplab.plotting import new_figure, save_figure

    figure, ax = new_figure(height=2.0)
    ax.plot([1, 2, 3], [0.7, 0.5, 0.4])
    save_figure(figure, fig)
    return PartReport(
        answer=[Paragraph(f"The LSTM reached {100 * acc:.1f} % test accuracy; loss "
                          r"$\mathcal{E} = \sum_t \mathrm{CE}(y_t, z_t)$ fell every epoch.")],
        evidence=[Figure(fig, "Training loss per epoch."),
                  Heading("A builder heading at level 1", 1)],
        settings=[("batch", "32"), ("epochs", "25")], overview=f"{100 * acc:.1f} % test accuracy",
        status="full", deviations=[SHARED_DEVIATION],
        appendix=[Table(["seed", "accuracy"], [["0", f"{100 * acc:.1f} %"]],
                        caption="Per-seed test accuracy.")])


def _tdnn(key: str, results: dict, out: Path, fig_dir: Path) -> PartReport:
    return PartReport(
        answer=[Paragraph("Manual backpropagation equals autograd; the output layer's "
                          r"error is $\delta^{L}_{t}$.")],
        evidence=[Math(r"\delta^{L}_{t} = \mathbf{y}_t - \mathbf{z}_t",
                       caption="Error at the output."),
                  Math(r"\frac{\partial \mathcal{E}}{\partial W^{l}_{c}} = \sum_{t} "
                       r"\delta^{l}_{t} (\mathbf{h}^{l-1}_{t+c})^{\top}" "\n"
                       r"W \leftarrow W - \eta \frac{\partial \mathcal{E}}{\partial W}")],
        settings=[("batch", "32"), ("contexts", "[-2, 2]")], overview="1,086 parameters",
        status="full", deviations=[SHARED_DEVIATION, "float64 gradient check"])


def _raises(key: str, results: dict, out: Path, fig_dir: Path) -> PartReport:
    raise RuntimeError("builder bug\nsecond line")


def _returns_none(key: str, results: dict, out: Path, fig_dir: Path) -> None:
    return None


def _not_importable(key: str, results: dict, out: Path, fig_dir: Path) -> PartReport:
    from no.such import module  # type: ignore[import-not-found]  # noqa: F401

    raise AssertionError("unreachable")


FAKE_PARTS = (
    Part("q1b", "Q1(b) Two-layer LSTM with average pooling", "An LSTM.", ("q1b-lstm-avg",),
         _sentiment),
    Part("q2", "Q2 Time-delay neural network", "A TDNN.", ("q2-tdnn",), _tdnn),
    Part("q3a", "Q3(a) ESC-10: optimizers", "Optimizers.", ("q3a-adam",), _raises),
    Part("q3b", "Q3(b) ESC-10: normalization", "Norms.", ("q3b-none",), _returns_none),
    Part("q4i", "Q4(i) Cost and memory", "Cost.", ("q4-conv-dense",), _not_importable),
    Part("q4ii", "Q4(ii) Conv as dense", "Missing part.", ("q4-conv-dense",), _tdnn),
)


@pytest.fixture(scope="module")
def fake_parts() -> Iterator[None]:
    """The fake parts in place of the registry's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(registry, "PARTS", FAKE_PARTS)
        yield


def _results(out: Path) -> Path:
    _write(out, "q1b-lstm-avg", test_accuracy=0.8831)
    _write(out, "q2-tdnn", n_parameters=1086)
    _write(out, "q3a-adam", test_accuracy=0.62, test_accuracy_std=0.03)
    _write(out, "q3b-none", test_accuracy=0.6)
    return out  # no q4-conv-dense: Q4(i) and Q4(ii) are missing


def _pdf_text(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(str(path)).pages]


def _visible(html: str) -> str:
    """The HTML's text without the style sheet, tags and embedded images."""
    body = html.split("</style>", 1)[1]
    return unescape(re.sub(r"<[^>]+>", " ", body))


@pytest.fixture(scope="module")
def report(fake_parts: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One rendered report of the fake results (HTML and PDF), shared by the checks below."""
    out = _results(tmp_path_factory.mktemp("report") / "runs")
    paths = build_report(out)
    return {"out": out, "html": paths["html"].read_text(), "pages": _pdf_text(paths["pdf"])}


def test_parts_in_order_then_appendix(report: dict[str, Any]) -> None:
    text = "\n".join(report["pages"])
    titles = [p.title for p in FAKE_PARTS]
    body = text[text.index("Overview", text.index("Contents") + 200):]
    positions = [body.index(title) for title in titles]
    assert positions == sorted(positions)  # the parts, in the assignment's order
    appendix_page = next(i for i, p in enumerate(report["pages"])
                         if "The deviations from the assignment, the settings as run" in p)
    last_part_page = next(i for i, p in enumerate(report["pages"]) if "Missing part." in p)
    assert appendix_page > last_part_page
    assert "Per-seed test accuracy." in report["pages"][appendix_page]  # a part's appendix
    assert "Data sources and licences" in "\n".join(report["pages"][appendix_page:])
    html = report["html"]
    assert html.index('id="q4ii"') < html.index('class="appendix"') < html.index("Per-seed")
    # the settings table opens the appendix; the overview points to it
    assert html.index('class="appendix"') < html.index('id="settings"') < html.index("Per-seed")
    assert "A builder heading at level 1</h2>" in html  # demoted below the part's heading


def test_no_ascii_math_in_pdf_and_equations_are_vector_images(report: dict[str, Any]) -> None:
    text = "\n".join(report["pages"])
    assert not [m for m in ASCII_MATH if m in text], text
    assert "Error at the output." in text  # the equation's caption
    html = report["html"]
    assert html.count('class="math display"') == 3  # one + two stacked lines
    assert html.count('class="math"') >= 2  # inline math in the answers
    assert "data:image/svg+xml" in html and "\\delta" not in _visible(html)


def test_each_deviation_once_with_its_parts(report: dict[str, Any]) -> None:
    visible = _visible(report["html"])
    assert visible.count(SHARED_DEVIATION) == 1
    assert visible.count("float64 gradient check") == 1
    row = re.search(re.escape(SHARED_DEVIATION) + r"\s*</td>\s*<td>([^<]*)</td>",
                    report["html"])
    assert row and row.group(1) == "Q1(b), Q2"
    assert "\n".join(report["pages"]).count(SHARED_DEVIATION) == 1
    # a setting shared by two parts is one row of the settings table (appendix)
    assert re.search(r"<td>batch</td><td class=\"num\">32</td><td>Q1\(b\), Q2</td>",
                     report["html"])


def test_missing_part_names_the_command_that_produces_it(report: dict[str, Any]) -> None:
    command = f"mlsplab reproduce --only q4 --out {report['out']}"
    html = report["html"]
    body, appendix = html.split('<section class="appendix">')
    body_text = " ".join(_visible(body + "</style>" if "</style>" not in body else body).split())
    # the body says the part is missing, without paths or commands ...
    assert "Missing: no results of this part (q4-conv-dense)." in body_text
    assert "This run is incomplete: no results for Q4(i, ii)" in body_text
    assert "mlsplab reproduce" not in body_text and str(report["out"]) not in body_text
    # ... the appendix's status names the command
    appendix_text = " ".join(unescape(re.sub(r"<[^>]+>", " ", appendix)).split())
    assert f"Q4(i) missing: run {command} ." in appendix_text
    text = " ".join(" ".join(report["pages"]).split())
    assert "Missing: no results of this part" in text and "--only q4 --out" in text


def test_broken_builders_do_not_crash_the_report(report: dict[str, Any]) -> None:
    text = " ".join(" ".join(report["pages"]).split())
    assert "section could not be built: RuntimeError: builder bug." in text
    assert "second line" not in text
    assert "returned NoneType, not a PartReport" in text
    assert "62.0 ± 3.0 %" in text  # the fallback table of a broken part's headline numbers
    assert "88.3 % test accuracy" in text  # working parts are unaffected
    assert "Q2 1,086 parameters" in text  # overview: part and answer (no self-grading column)
    assert "Q2 1,086 parameters full" not in text


def test_overview_and_appendix_details(report: dict[str, Any]) -> None:
    html = report["html"]
    assert "ab" * 32 in html  # the sha256 the runs recorded
    assert "node-a" in html and "hash-q3a-adam" in html
    assert "CC BY 3.0" in html and "CC BY-NC 3.0" in html and "Maas et al." in html
    assert "80.5 %" in html and "91.22 %" in html  # published context
    assert "QUICK MODE" not in html
    assert "target" not in _visible(html).lower()


def test_quick_mode_is_stated_once_and_on_every_pdf_page(fake_parts: None,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "runs"
    _write(out, "q1b-lstm-avg", test_accuracy=0.5, quick=True)
    paths = build_report(out)
    assert _visible(paths["html"].read_text()).count("QUICK MODE") == 1
    pages = _pdf_text(paths["pdf"])
    assert all("QUICK MODE" in page for page in pages)


def test_bad_input_still_gives_a_report(fake_parts: None, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    _write(out, "q1b-lstm-avg", config={"old": True})  # stale: no test_accuracy
    (out / "q2-tdnn").mkdir()
    (out / "q2-tdnn" / "metrics.json").write_text("{not json")
    (out / "q3a-adam").mkdir()
    (out / "q3a-adam" / "metrics.json").write_text("[1, 2]")
    (out / "reproduce").mkdir()
    (out / "reproduce" / "timings.json").write_text("{")
    _write(out, "zz-old-experiment", test_accuracy=0.1)
    _write(out, BENCH_SENTIMENT)  # written by `mlsplab bench`, read through q1-comparison
    from mlsplab.report.assemble import build_document
    from mlsplab.report.html import render_html
    from mlsplab.report.results import load_results

    results = load_results(out)
    assert set(results.docs) == {"q1b-lstm-avg"} and len(results.problems) == 3
    visible = " ".join(_visible(render_html(build_document(results, tmp_path))).split())
    assert "KeyError: 'test_accuracy'" in visible
    assert f"mlsplab reproduce --only q1b --out {out}" in visible
    assert "q2-tdnn/metrics.json could not be read" in visible
    assert f"rebuild it with mlsplab reproduce --only q2 --out {out}" in visible
    assert "expected a JSON object" in visible
    assert "zz-old-experiment" in visible  # named as not read
    assert results.unknown == ["zz-old-experiment"]  # the benchmark is known


def test_empty_results_folder_gives_a_report(fake_parts: None, tmp_path: Path) -> None:
    paths = build_report(tmp_path)
    text = " ".join(" ".join(_pdf_text(paths["pdf"])).split())
    assert "0 parts of 6 answered" in text and "timings.json is absent" in text


def test_missing_results_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MlsplabError, match="no such results folder"):
        build_report(tmp_path / "nope")


def test_compare_puts_each_headline_beside_the_reference(fake_parts: None,
                                                         tmp_path: Path) -> None:
    from mlsplab.report.assemble import build_document
    from mlsplab.report.compare import load_reference
    from mlsplab.report.html import render_html
    from mlsplab.report.results import load_results

    ref, out = tmp_path / "ref", tmp_path / "runs"
    _write(ref, "q3a-adam", test_accuracy=0.60, test_accuracy_std=0.03)
    _write(ref, "q1b-lstm-avg", test_accuracy=0.90)
    _write(out, "q3a-adam", test_accuracy=0.62, test_accuracy_std=0.04)
    _write(out, "q1b-lstm-avg", test_accuracy=0.85, config_hash="other")
    doc = build_document(load_results(out), tmp_path, reference=load_reference(ref))
    visible = " ".join(_visible(render_html(doc)).split())
    assert "Comparison with the reference run" in visible
    # q3a: +2 points against sqrt(0.03^2 + 0.04^2) = 5 points: within the spread
    assert "62.00 ± 4.00 % 60.00 ± 3.00 % +2.00 points within the spread" in visible
    assert "85.00 % 90.00 % -5.00 points one seed: no spread other configuration" in visible
    (tmp_path / "empty").mkdir()
    with pytest.raises(MlsplabError, match="--compare .*empty: no results"):
        load_reference(tmp_path / "empty")
    with pytest.raises(MlsplabError, match="no such folder"):
        build_report(out, compare=tmp_path / "absent")


def test_versus_spread_in_words() -> None:
    from mlsplab.report.compare import _versus_spread

    assert _versus_spread(0.06, 0.03, 0.04) == "1.2 \u00d7 the spread"
    assert _versus_spread(-0.01, None, 0.02) == "within the spread"


def test_short_labels_of_the_real_parts() -> None:
    from mlsplab.report.parts import short_label

    labels = [short_label(p) for p in REAL_PARTS]
    assert labels[:4] == ["Q1(a)", "Q1(b)", "Q1(c)", "Q1(d)"]
    assert "Beyond Q3" in labels and "Q4(ii)" in labels
    assert len(set(labels)) == len(labels)


def test_part_labels_merge_runs_of_one_question(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlsplab.report.overview import join_labels

    monkeypatch.setattr(registry, "PARTS", REAL_PARTS)
    assert join_labels(["Q1(d)", "Q1(b)", "Q1(c)", "Q2"]) == "Q1(b\u2013d), Q2"
    assert join_labels(["Q1(b)", "Q1(c)", "Q3(a)"]) == "Q1(b, c), Q3(a)"
    assert join_labels(["Q1(a)", "Q1(c)"]) == "Q1(a), Q1(c)"  # not adjacent: kept apart


def test_page_counts_name_where_each_section_starts() -> None:
    from mlsplab.report.build import section_pages
    from mlsplab.report.document import Document
    from mlsplab.report.pdf import PdfPages

    doc = Document("t", blocks=[Heading("Overview", 1, anchor="overview"),
                                Heading("Q2", 1, anchor="q2"), Heading("minor", 2)])
    pages = PdfPages(5, 3, 2, {"overview": 1, "q2": 3, "minor": 3})
    assert section_pages(doc, pages) == "overview p1, q2 p3"


def test_checksums_are_collected_from_provenance_records_and_sha256_fields(
        tmp_path: Path) -> None:
    from mlsplab.report.results import Results
    from mlsplab.report.sources import checksum_rows

    results = Results(tmp_path, docs={
        "a": {"data": {"path": "/d/IMDB_Dataset.csv.zip", "sha256": "11"}},
        "b": {"imdb_sha256": "11", "cache": {"zip_sha256": "22"}},
        "c": {"runs": [{"data": {"path": "/other/IMDB_Dataset.csv.zip", "sha256": "33"}}]}})
    assert checksum_rows(results) == [["IMDB_Dataset.csv.zip", "`11`", "a, b"],
                                      ["IMDB_Dataset.csv.zip", "`33`", "c"],
                                      ["recorded as zip_sha256", "`22`", "b"]]


def test_a_pdf_layout_failure_keeps_the_html(fake_parts: None, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import weasyprint

    def broken(self: Any, **kwargs: Any) -> None:
        raise ValueError("layout bug")

    monkeypatch.setattr(weasyprint.HTML, "render", broken)
    out = _results(tmp_path / "runs")
    with pytest.raises(MlsplabError, match=r"could not lay out .*layout bug.*HTML report .* was "
                                           r"written"):
        build_report(out)
    assert "Q2 Time-delay neural network" in (out / "report" / "index.html").read_text()
