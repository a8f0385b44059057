"""One section per part of the assignment, built by the part's own report builder.

A builder (``part.report``) turns the results into a
:class:`~mlsplab.report.document.PartReport`. Builders belong to the question packages, so
this module guards the report against them: a builder that cannot be imported, raises or
returns something else is logged, and its part shows a one-line note instead of crashing the
report. A part without any result says so; the command that produces it is in the appendix's
status of the run (the body holds no commands, paths or hashes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from mlsplab.experiments.registry import Part
from mlsplab.formatting import percent
from mlsplab.report.document import Block, Heading, Paragraph, PartReport, Table
from mlsplab.report.results import Results

log = logging.getLogger(__name__)


@dataclass
class PartOutcome:
    """What building one part gave: its report, or why there is none."""

    part: Part
    report: PartReport | None = None
    present: list[str] = field(default_factory=list)  # the part's ids with results
    missing: list[str] = field(default_factory=list)  # the part's ids without results
    error: str = ""  # the builder could not be imported, raised, or returned a non-PartReport

    @property
    def status(self) -> str:
        """The status for the overview table."""
        if not self.present:
            status = "missing"
        elif self.error:
            status = "results present, section not built"
        else:
            status = self.report.status if self.report else "missing"
        if self.part.beyond and "beyond" not in status:
            status += "; beyond the assignment"
        return status


def short_label(part: Part) -> str:
    """``"Q1(b)"`` for ``"Q1(b) Two-layer LSTM ..."``; ``"Beyond Q3"`` for the extra part."""
    head = part.title.split(":")[0] if ":" in part.title else part.title
    return head if part.beyond else part.title.split(" ")[0]


def build_part(part: Part, results: Results, fig_dir: Path) -> PartOutcome:
    """Call the part's builder on the results; never raises."""
    outcome = PartOutcome(part, present=[i for i in part.experiment_ids if i in results.docs],
                          missing=[i for i in part.experiment_ids if i not in results.docs])
    if not outcome.present:
        return outcome
    try:
        report = part.report(part.key, results.docs, results.out, fig_dir)
    except Exception as e:
        outcome.error = f"{type(e).__name__}: {e}".splitlines()[0][:300]
        log.error("report: the section of %s could not be built: %s", part.key, outcome.error)
        log.debug("report: traceback of %s's builder", part.key, exc_info=True)
        return outcome
    if not isinstance(report, PartReport):
        outcome.error = f"{part.report.__qualname__} returned {type(report).__name__}, not a PartReport"
        log.error("report: %s", outcome.error)
        return outcome
    outcome.report = report
    return outcome


def _demoted(blocks: list[Block], level: int = 1) -> list[Block]:
    """A builder's blocks with its headings below the part's own (``level``)."""
    return [replace(b, level=max(b.level, level + 1)) if isinstance(b, Heading) else b
            for b in blocks]


def _missing_note(outcome: PartOutcome) -> Paragraph | None:
    """Which of the part's results are missing; the command is in the appendix's status."""
    if not outcome.missing:
        return None
    if not outcome.present:
        return Paragraph(f"Missing: no results of this part ({', '.join(outcome.missing)}). "
                         "The appendix (status of this run) names the command that produces "
                         "them.", "warning")
    return Paragraph(f"Not in this results folder: {', '.join(outcome.missing)}; the appendix "
                     "(status of this run) names the command that produces them.", "note")


def _fallback_table(outcome: PartOutcome, results: Results) -> Table:
    """The headline numbers of a part whose section could not be built."""
    rows = []
    for exp_id in outcome.present:
        doc = results.docs[exp_id]
        rows.append([exp_id, percent(doc.get("test_accuracy"), doc.get("test_accuracy_std")),
                     str(doc.get("epochs_completed", "\u2014"))])
    return Table(["result", "test accuracy", "epochs completed"], rows,
                 caption="Headline numbers read from the part's metrics.json files.")


def part_section(outcome: PartOutcome, results: Results, level: int = 1) -> list[Block]:
    """The part's section of the main body.

    With a conclusion: question, set-up, evidence, conclusion (the detailed reading goes to the
    appendix). Without one (missing or stale results): question, the builder's answer and
    evidence. Settings are in the appendix's settings table; no paths, hashes or commands here.
    """
    part = outcome.part
    report = outcome.report
    blocks: list[Block] = [Heading(part.title, level, anchor=part.key)]
    # a beyond part was not asked: its set-up line says what was run (the chapter's opening
    # says that none of it is graded)
    if not (part.beyond and report is not None and report.setup and report.conclusion):
        asks = part.asks if part.beyond else f"Asked: {part.asks}"
        blocks.append(Paragraph(asks, "question"))
    if outcome.error:
        blocks += [Paragraph(f"The results of this part exist but its section could not be "
                             f"built: {outcome.error}. If they come from an older version, "
                             "rebuild them (the appendix's status names the command).",
                             "warning"),
                   _fallback_table(outcome, results)]
    if report is not None and report.conclusion:
        if report.setup:
            blocks.append(Paragraph(report.setup, "setup"))
        blocks += _demoted(report.evidence, level)
        blocks.append(Paragraph(report.conclusion, "conclusion"))
    elif report is not None:
        blocks += _demoted(report.answer, level) + _demoted(report.evidence, level)
    note = _missing_note(outcome)
    if note is not None:
        blocks.append(note)
    return blocks


def part_appendix(outcome: PartOutcome) -> list[Block]:
    """The part's appendix blocks under a heading (the detailed reading first), or nothing."""
    report = outcome.report
    if report is None:
        return []
    details = list(report.answer) if report.conclusion else []
    details += report.appendix
    if not details:
        return []
    return [Heading(outcome.part.title, 2, anchor=f"appendix-{outcome.part.key}"),
            *[replace(b, level=max(b.level, 3)) if isinstance(b, Heading) else b
              for b in details]]
