"""Build the report's :class:`Document` from a results folder, in the assignment's order.

Main body, the answer a reader grades: the overview (each part's conclusion, the
deviations), the comparison with a reference run when asked, one section per graded part of
:data:`registry.PARTS` in the assignment's order (question, set-up, evidence, conclusion), then
the chapter "Beyond the assignment" with every ``beyond`` part. No paths, hashes or commands.
Appendix (new page): the settings table, the run's status, each part's detailed reading and
details, published results for context, where and how long each step ran, every result's
configuration hash and machine, the source the report was made with, and the data sources.

Nothing here computes a result: the parts' builders turn measurements into prose and figures,
and this module only orders, deduplicates and formats what they and the results files say.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

from mlsplab.experiments import registry
from mlsplab.report.compare import comparison_blocks
from mlsplab.report.context import context_blocks
from mlsplab.report.document import (
    Block,
    Bullets,
    Document,
    Heading,
    Math,
    Paragraph,
    Settings,
    Table,
)
from mlsplab.report.mathsvg import MathError, math_sources, typeset
from mlsplab.report.overview import (
    deviation_blocks,
    overview_blocks,
    settings_blocks,
    status_blocks,
    status_note,
)
from mlsplab.report.parts import PartOutcome, build_part, part_appendix, part_section
from mlsplab.report.results import Results
from mlsplab.report.runs import provenance_blocks, timing_blocks
from mlsplab.report.source import SourceInfo
from mlsplab.report.sources import data_source_blocks

log = logging.getLogger(__name__)

TITLE = "MLSP Assignment 3 (E9 205, homework 3)"
QUICK_BANNER = "QUICK MODE \u2014 not the assignment's settings"
BEYOND_TITLE = "Beyond the assignment: not asked, not part of the answers"


def _subtitle(source: SourceInfo | None) -> str:
    made = f" with mlsplab {source.version}" if source else " with mlsplab"
    return (f"Built {time.strftime('%Y-%m-%d')}{made}; every number is read from the "
            "recorded results (the appendix says which, and where they ran).")


def _machine_line(results: Results) -> str:
    info = next((d["run_info"] for d in results.docs.values()
                 if isinstance(d.get("run_info"), dict)), {})
    machine = info.get("cpu", "an unrecorded machine")
    if info.get("cuda"):
        machine += f" with GPU {info['cuda']}"
    return (f"Results read from {results.out}; run on {machine}, torch "
            f"{info.get('torch_version', '?')}.")


def source_blocks(source: SourceInfo | None) -> list[Block]:
    """The source the report was made with (version, commit, tree hash), for the appendix."""
    if source is None:
        return []
    commit = f"git commit {source.commit}" if source.commit else "no git commit (not a checkout)"
    return [Heading("Source code", 2, anchor="source"),
            Paragraph(f"Made with mlsplab {source.version}; {commit}; SHA-256 of the package's "
                      f"{source.n_files} source files (paths and contents) "
                      f"{source.tree_sha256}. `source.zip` beside the PDF holds those files.")]


def _texts(block: Block) -> list[str]:
    if isinstance(block, (Paragraph, Heading)):
        return [block.text]
    if isinstance(block, Bullets):
        return list(block.items)
    if isinstance(block, Table):
        return [block.caption, *block.header, *(str(c) for row in block.rows for c in row)]
    if isinstance(block, Settings):
        return [block.title, *(str(x) for row in block.rows for x in row)]
    return [getattr(block, "caption", "")]


def math_problems(blocks: list[Block]) -> list[str]:
    """One line per equation (display or inline) that mathtext cannot typeset."""
    problems = []
    for block in blocks:
        sources = block.latex.split("\n") if isinstance(block, Math) else []
        sources += [s for text in _texts(block) for s in math_sources(text)]
        for source in sources:
            if not source.strip():
                continue
            try:
                typeset(source)
            except MathError as e:
                problems.append(f"An equation is shown as source: {e}")
    return problems


def _appendix(outcomes: list, results: Results, source: SourceInfo | None) -> list[Block]:
    blocks: list[Block] = [
        Heading("Appendix", 1, anchor="appendix"),
        Paragraph("The deviations from the assignment, the settings as run and the run's status, then each part's detailed "
                  "reading of its measurements, per-seed tables and secondary figures, "
                  "published results for context, where and how long each step ran, the "
                  "configuration hash and machine of every result, the source code and the "
                  "data sources.", "note")]
    blocks += deviation_blocks(outcomes) + settings_blocks(outcomes)
    status = status_blocks(outcomes, results)
    blocks += status[:2] + [Paragraph(_machine_line(results))] + status[2:]
    for outcome in _in_report_order(outcomes):
        blocks += part_appendix(outcome)
    # published results are context, not an answer: after the parts' details
    blocks += [replace(b, level=2) if isinstance(b, Heading) else b
               for b in context_blocks(results)]
    return blocks + timing_blocks(results) + provenance_blocks(results) + \
        source_blocks(source) + data_source_blocks(results)


def _in_report_order(outcomes: list[PartOutcome]) -> list[PartOutcome]:
    """The graded parts in the assignment's order, then the parts beyond it."""
    return [o for o in outcomes if not o.part.beyond] + [o for o in outcomes if o.part.beyond]


def body_blocks(outcomes: list[PartOutcome], results: Results) -> list[Block]:
    """The graded parts in order, then the chapter holding every part beyond the assignment."""
    body: list[Block] = []
    for outcome in outcomes:
        if not outcome.part.beyond:
            body += part_section(outcome, results)
    beyond = [o for o in outcomes if o.part.beyond]
    if beyond:
        body.append(Heading(BEYOND_TITLE, 1, anchor="beyond"))
        for outcome in beyond:
            body += part_section(outcome, results, level=2)
    return body


def build_document(results: Results, fig_dir: Path, *, reference: Results | None = None,
                   author: str = "", source: SourceInfo | None = None) -> Document:
    """The whole report for ``results``; figures drawn at report time go to ``fig_dir``.

    Parameters
    ----------
    results : Results
        From :func:`mlsplab.report.results.load_results` (may be partial or empty).
    fig_dir : Path
        The report folder; the parts' builders write their SVG figures there.
    reference : Results, optional
        A reference run to compare with (``mlsplab report --compare``).
    author : str, optional
        The name on the title page.
    source : SourceInfo, optional
        The source the report is made with (stated in the appendix).
    """
    outcomes = [build_part(part, results, fig_dir) for part in registry.PARTS]
    doc = Document(TITLE, _subtitle(source), QUICK_BANNER if results.quick else "",
                   author=author)
    body: list[Block] = overview_blocks(outcomes)
    if reference is not None:
        body += comparison_blocks(results, reference)
    body += body_blocks(outcomes, results)
    doc.appendix = _appendix(outcomes, results, source)
    note = status_note(outcomes, results)
    problems = math_problems(body + doc.appendix)
    if problems:
        note.append(Bullets(problems))
    doc.blocks = note + body
    return doc
