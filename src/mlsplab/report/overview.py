"""The report's first pages: the run's status, then the overview (one answer per part, the
deviations), each statement once; and the settings table, which opens the appendix."""

from __future__ import annotations

import re
from collections.abc import Iterable

from mlsplab.experiments import registry
from mlsplab.formatting import count
from mlsplab.report.document import Block, Bullets, Heading, Paragraph, Table
from mlsplab.report.parts import PartOutcome, short_label
from mlsplab.report.results import (
    Results,
    is_quick,
    part_command,
    reproduce_command,
    steps_of,
)


def status_blocks(outcomes: list[PartOutcome], results: Results) -> list[Block]:
    """What this run holds: results found, parts answered, missing or broken, unreadable files."""
    n_ids = len({i for o in outcomes for i in o.part.experiment_ids})
    # counted from the same status the overview table shows: a part whose own result is
    # missing is missing, even when a result it compares with is there
    missing = [o for o in outcomes if o.status.startswith("missing")]
    broken = [o for o in outcomes if o.present and o.error]
    answered = [o for o in outcomes if o.report is not None and o not in missing]
    summary = (f"This report was built from {count(len(results.docs), 'result')} of the "
               f"{n_ids} this version writes, read from {results.out}: "
               f"{count(len(answered), 'part')} of {len(outcomes)} answered")
    if missing:
        summary += f", {count(len(missing), 'part')} missing"
    if broken:
        summary += f", {count(len(broken), 'part')} whose section could not be built"
    blocks: list[Block] = [Heading("Status of this run", 2, anchor="status"),
                           Paragraph(summary + ".")]
    items = [f"{short_label(o.part)} missing: run `{part_command(o.part, results.out)}`."
             for o in missing]
    items += [f"{short_label(o.part)}: section not built ({o.error}); if its results come "
              f"from an older version, rebuild them with "
              f"`{reproduce_command(steps_of(o.present), results.out)}`." for o in broken]
    partial = [o for o in outcomes if o.present and o.missing]
    items += [f"{short_label(o.part)}: not in this folder: {', '.join(o.missing)}; produce with "
              f"`{reproduce_command(steps_of(o.missing), results.out)}`." for o in partial]
    items += results.problems
    quick = [i for i, d in results.docs.items() if is_quick(d)]
    full = [i for i in results.docs if i not in quick]
    if quick and full:  # a mixed folder: name the smaller group
        items.append(f"Quick mode: {len(quick)} of {len(results.docs)} results; "
                     + (f"not marked quick: {', '.join(full)}." if len(full) <= len(quick)
                        else f"marked quick: {', '.join(quick)}."))
    if results.unknown:
        items.append(f"Not read (unknown to this version): {', '.join(results.unknown)}.")
    if items:
        blocks.append(Bullets(items))
    return blocks


def status_note(outcomes: list[PartOutcome], results: Results) -> list[Block]:
    """One line at the top of the body when parts are missing or broken, or results are quick
    (the commands are in the appendix's status); nothing for a complete run."""
    missing = [short_label(o.part) for o in outcomes if not o.present]
    broken = [short_label(o.part) for o in outcomes if o.present and o.error]
    said = []
    if missing:
        said.append(f"no results for {join_labels(missing)}")
    if broken:
        said.append(f"the section of {join_labels(broken)} could not be built")
    if results.problems:
        said.append(f"{count(len(results.problems), 'results file')} could not be read")
    if not said:
        return []
    return [Paragraph("This run is incomplete: " + "; ".join(said) + ". The appendix's status "
                      "of this run names the commands that complete it.", "warning")]


def once_with_owners(pairs: Iterable[tuple[object, str]]) -> dict[object, list[str]]:
    """Each key once, in order of first appearance, with the labels that state it."""
    owners: dict[object, list[str]] = {}
    for key, label in pairs:
        labels = owners.setdefault(key, [])
        if label not in labels:
            labels.append(label)
    return owners


_SUBPART = re.compile(r"^(Q\d+)\(([a-z]+)\)$")  # "Q1(b)" -> ("Q1", "b")


def join_labels(labels: list[str]) -> str:
    """Part labels in one cell, runs of sub-parts of one question merged in registry order:
    ``["Q1(b)", "Q1(c)", "Q1(d)", "Q2"]`` -> ``"Q1(b\u2013d), Q2"``."""
    rank = {short_label(p): i for i, p in enumerate(registry.PARTS)}
    runs: list[tuple[str, list[str], int]] = []  # (question or label, sub-parts, last rank)
    for label in sorted(labels, key=lambda x: rank.get(x, len(rank))):
        match = _SUBPART.match(label)
        position = rank.get(label, -10)
        if match and runs and runs[-1][0] == match.group(1) and runs[-1][2] == position - 1:
            runs[-1][1].append(match.group(2))
            runs[-1] = (runs[-1][0], runs[-1][1], position)
        elif match:
            runs.append((match.group(1), [match.group(2)], position))
        else:
            runs.append((label, [], position))
    out = []
    for question, subs, _ in runs:
        if not subs:
            out.append(question)
        elif len(subs) > 2:
            out.append(f"{question}({subs[0]}\u2013{subs[-1]})")
        else:
            out.append(f"{question}({', '.join(subs)})")
    return ", ".join(out)


SETTINGS_ANCHOR = "settings"  # the appendix section holding the settings table


def settings_blocks(outcomes: list[PartOutcome]) -> list[Block]:
    """The settings table (every setting once, with the parts it applies to), for the
    appendix; nothing when no part was built."""
    built = [o for o in outcomes if o.report is not None]
    settings = once_with_owners(((str(k), str(v)), short_label(o.part))
                                for o in built for k, v in o.report.settings)
    if not settings:
        return []
    return [Heading("Settings as run", 2, anchor=SETTINGS_ANCHOR),
            Table(["setting", "value as run", "parts"],
                  [[k, v, join_labels(labels)]
                   for (k, v), labels in settings.items()],  # type: ignore[misc]
                  caption="Settings as run, each stated once with the parts it applies to.")]


def _overview_row(outcome: PartOutcome) -> list[str]:
    """A part's label and its one-line answer; a part that did not run as the assignment
    asks says how (partial, quick, missing)."""
    report = outcome.report
    answer = report.overview if report and report.overview else "\u2014"
    status = outcome.status.removesuffix("; beyond the assignment")
    if not status.startswith("full"):
        answer += f" ({status})"
    label = short_label(outcome.part)
    return [f"Beyond: {label.removeprefix('Beyond ')}" if outcome.part.beyond else label, answer]


def overview_blocks(outcomes: list[PartOutcome]) -> list[Block]:
    """The answers table (each part's conclusion in a line, never stronger than the section);
    the deviations and settings tables are in the appendix."""
    # the graded parts only: the beyond chapter answers no question of the assignment
    graded = [o for o in outcomes if not o.part.beyond]
    full = all(o.status.startswith("full") for o in graded)
    caption = ("Each part's conclusion in one line. Every part ran at the assignment's "
               "settings, with the deviations its set-up line states." if full else
               "Each part's conclusion in one line; a part that did not run at the "
               "assignment's settings says how.")
    blocks: list[Block] = [
        Heading("Overview", 1, anchor="overview"),
        Table(["part", "answer"], [_overview_row(o) for o in graded], caption=caption)]
    if any(o.report is not None and o.report.deviations for o in outcomes):
        blocks.append(Paragraph("Each part's set-up line says how it departs from the "
                                "assignment; the appendix lists every deviation once, with the "
                                "parts it applies to, beside every setting as run.", "note"))
    return blocks


def deviation_blocks(outcomes: list[PartOutcome]) -> list[Block]:
    """The deviations table (each deviation once, with its parts), for the appendix."""
    built = [o for o in outcomes if o.report is not None]
    deviations = once_with_owners((d, short_label(o.part))
                                  for o in built for d in o.report.deviations)
    if deviations:
        return [Heading("Deviations from the assignment", 2, anchor="deviations"),
                Table(["deviation from the assignment", "applies to"],
                      [[str(d), join_labels(labels)] for d, labels in deviations.items()],
                      caption="Deviations from the assignment's settings, each once.")]
    if built:
        return [Paragraph("No part states a deviation from the assignment's settings.")]
    return []
