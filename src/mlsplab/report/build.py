"""``mlsplab report``: rebuild ``<out>/report/index.html`` and ``report.pdf`` from results.

Reads ``<out>/<id>/metrics.json`` (and ``<out>/reproduce/timings.json`` when present); trains
nothing. The parts' builders draw their figures into ``<out>/report/`` from the recorded
measurements. ``--compare REF`` adds a section with this run's headline numbers beside REF's.
Beside the PDF go ``source.zip`` (the installed package's source, which the assignment asks to
include) and, with ``--author "Full Name"``, the submission ``Assignment3_FullName.pdf``. The
PDF engine's messages go to ``report.log`` there, not to the terminal.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path
from typing import Any

from mlsplab.cli_options import add_runs, examples
from mlsplab.errors import MlsplabError
from mlsplab.io import atomic_write
from mlsplab.report.assemble import build_document
from mlsplab.report.compare import load_reference
from mlsplab.report.document import Document, Heading
from mlsplab.report.html import render_html, slug
from mlsplab.report.pdf import PdfPages, render_pdf
from mlsplab.report.results import load_results
from mlsplab.report.source import source_info, submission_name, write_source_zip

log = logging.getLogger(__name__)


def build_report(out: str | Path, *, compare: str | Path | None = None,
                 author: str = "") -> dict[str, Path]:
    """Write the HTML and PDF report for the results in ``out``; return their paths.

    Parameters
    ----------
    out : str or Path
        A results folder (missing, partial or stale results still give a report).
    compare : str or Path, optional
        A reference results folder to compare with.
    author : str, optional
        The name on the title page; also writes ``Assignment3_<name without spaces>.pdf``.

    Returns
    -------
    dict
        ``html``, ``pdf``, ``source`` (the zip), ``log`` and, with ``author``, ``submission``
        paths; ``pages`` is not a path but the :class:`PdfPages` of the PDF.

    Raises
    ------
    MlsplabError
        If ``out`` is not a folder, ``compare`` holds no results, or the report cannot be
        written (the HTML is kept when only the PDF fails).
    """
    out = Path(out)
    submission = submission_name(author) if author.strip() else None
    if not out.is_dir():
        raise MlsplabError(f"--runs {out}: no such results folder; run `mlsplab reproduce` first")
    reference = load_reference(compare) if compare is not None else None
    report_dir = out / "report"
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MlsplabError(f"--runs {out}: cannot create {report_dir} ({e.strerror})") from e
    source = source_info()
    doc = build_document(load_results(out), report_dir, reference=reference,
                         author=" ".join(author.split()), source=source)
    html = render_html(doc)
    from mlsplab.io import atomic_write_text

    paths: dict[str, Any] = {"html": atomic_write_text(report_dir / "index.html", html),
                             "pdf": report_dir / "report.pdf",
                             "source": write_source_zip(report_dir / "source.zip"),
                             "log": report_dir / "report.log"}
    try:
        pages = render_pdf(html, paths["pdf"], log_file=paths["log"])
    except MlsplabError as e:
        raise MlsplabError(f"{e} (the HTML report {paths['html']} was written)") from e
    if submission:
        paths["submission"] = atomic_write(report_dir / submission,
                                           lambda tmp: shutil.copyfile(paths["pdf"], tmp))
    paths["pages"] = pages
    log.debug("report: %s; %s: %d pages (main body %d, appendix %d); %s", paths["html"],
              paths["pdf"], pages.total, pages.main_body, pages.appendix,
              section_pages(doc, pages))
    return paths


def section_pages(doc: Document, pages: PdfPages) -> str:
    """Where each top-level section of the main body starts, e.g. ``'overview p1, q1a p3'``."""
    anchors = [b.anchor or slug(b.text) for b in doc.blocks
               if isinstance(b, Heading) and b.level == 1]
    return ", ".join(f"{a} p{pages.anchors[a]}" for a in anchors if a in pages.anchors)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_runs(parser, what="the results of `mlsplab reproduce`; the report goes to "
                          "<runs>/report/")
    parser.add_argument("--author", default="", metavar="NAME",
                        help='your full name, e.g. "Full Name": put on the title page, and the '
                             'PDF is also written as Assignment3_FullName.pdf; none given: no name')
    parser.add_argument("--compare", type=Path, default=None, metavar="REF",
                        help="a reference results folder (e.g. results/reference): adds a "
                             "section with each headline number beside the reference's")
    parser.epilog = examples(
        ("mlsplab report --runs results/reference", "the reference run's report, no training"),
        ("mlsplab report --runs runs --compare results/reference",
         "your run beside the reference"),
    )


def main(args: argparse.Namespace) -> int:
    paths = build_report(args.runs, compare=args.compare, author=getattr(args, "author", ""))
    pages = paths["pages"]
    print(f"report: {pages.total} pages (answers {pages.main_body}, appendix {pages.appendix})")
    for key in ("pdf", "submission", "html", "source"):
        if key in paths:
            print(f"  {paths[key]}")
    print(f"  (PDF engine messages: {paths['log']})")
    return 0
