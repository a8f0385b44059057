"""Build the report's :class:`Document` from a results folder, in the assignment's order.

Main body: the run's status, the overview (answers, deviations), the comparison with a
reference run when asked, one section per part of :data:`registry.PARTS` (question, answer,
evidence, settings as run). Appendix (new page): the settings table (every setting once, with
its parts), each part's details, published results for context, where and how long each step
ran, every result's configuration hash and machine, and the data sources with their
licences and checksums.

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
from mlsplab.report.overview import overview_blocks, settings_blocks, status_blocks
from mlsplab.report.parts import build_part, part_appendix, part_section
from mlsplab.report.results import Results
from mlsplab.report.runs import provenance_blocks, timing_blocks
from mlsplab.report.sources import data_source_blocks

log = logging.getLogger(__name__)

TITLE = "MLSP Assignment 3, reproduced by mlsplab"
QUICK_BANNER = "QUICK MODE \u2014 not the assignment's settings"


def _subtitle(results: Results) -> str:
    info = next((d["run_info"] for d in results.docs.values()
                 if isinstance(d.get("run_info"), dict)), {})
    machine = info.get("cpu", "an unrecorded machine")
    if info.get("cuda"):
        machine += f" with GPU {info['cuda']}"
    return (f"Built {time.strftime('%Y-%m-%d %H:%M')} from the results in {results.out}; "
            f"run on {machine}, torch {info.get('torch_version', '?')}.")


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


def _appendix(outcomes: list, results: Results) -> list[Block]:
    blocks: list[Block] = [
        Heading("Appendix", 1, anchor="appendix"),
        Paragraph("The settings as run, per-seed tables, secondary figures and per-experiment "
                  "details of each part, published results for context, then where and how "
                  "long each step ran, the configuration hash and machine of every result, and "
                  "the data sources.", "note")]
    blocks += settings_blocks(outcomes)
    for outcome in outcomes:
        blocks += part_appendix(outcome)
    # published results are context, not an answer: after the parts' details
    blocks += [replace(b, level=2) if isinstance(b, Heading) else b
               for b in context_blocks(results)]
    return blocks + timing_blocks(results) + provenance_blocks(results) + \
        data_source_blocks(results)


def build_document(results: Results, fig_dir: Path, *,
                   reference: Results | None = None) -> Document:
    """The whole report for ``results``; figures drawn at report time go to ``fig_dir``.

    Parameters
    ----------
    results : Results
        From :func:`mlsplab.report.results.load_results` (may be partial or empty).
    fig_dir : Path
        The report folder; the parts' builders write their SVG figures there.
    reference : Results, optional
        A reference run to compare with (``mlsplab report --compare``).
    """
    outcomes = [build_part(part, results, fig_dir) for part in registry.PARTS]
    doc = Document(TITLE, _subtitle(results), QUICK_BANNER if results.quick else "")
    body: list[Block] = overview_blocks(outcomes)
    if reference is not None:
        body += comparison_blocks(results, reference)
    for outcome in outcomes:
        body += part_section(outcome, results)
    doc.appendix = _appendix(outcomes, results)
    status = status_blocks(outcomes, results)
    problems = math_problems(body + doc.appendix)
    if problems:
        status.append(Bullets(problems))
    doc.blocks = status + body
    return doc
