"""``mlsplab report``: rebuild ``<out>/report/index.html`` and ``report.pdf`` from results.

Reads ``<out>/*/metrics.json`` (and ``<out>/reproduce/timings.json`` when present); trains
nothing and recomputes nothing.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from mlsplab.errors import MlsplabError
from mlsplab.io import read_json
from mlsplab.report.html import write_html
from mlsplab.report.pdf import render_pdf
from mlsplab.report.sections import build_document

log = logging.getLogger(__name__)


def build_report(out: str | Path) -> dict[str, Path]:
    """Write the HTML and PDF report for the results in ``out``; return their paths."""
    out = Path(out)
    if not out.is_dir():
        raise MlsplabError(f"--out {out}: no such results folder; run `mlsplab reproduce` first")
    timings_path = out / "reproduce" / "timings.json"
    timings = read_json(timings_path) if timings_path.exists() else None
    doc = build_document(out, timings=timings)
    report_dir = out / "report"
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MlsplabError(f"--out {out}: cannot create {report_dir} ({e.strerror})") from e
    paths = {"html": write_html(doc, report_dir / "index.html"),
             "pdf": render_pdf(doc, report_dir / "report.pdf")}
    log.info("report written to %s and %s", paths["html"], paths["pdf"])
    return paths


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("runs"),
                        help="results folder written by `mlsplab reproduce`")


def main(args: argparse.Namespace) -> int:
    paths = build_report(args.out)
    print(f"report: {paths['html']}\n        {paths['pdf']}")
    return 0
