"""The report's first pages: the run's status, then the overview (one answer per part, the
settings as run, the deviations), each statement once."""

from __future__ import annotations

from collections.abc import Iterable

from mlsplab.report.document import Block, Bullets, Heading, Paragraph, Table
from mlsplab.report.parts import PartOutcome, short_label
from mlsplab.report.results import Results, is_quick, part_command


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def status_blocks(outcomes: list[PartOutcome], results: Results) -> list[Block]:
    """What this run holds: results found, parts answered, missing or broken, unreadable files."""
    n_ids = len({i for o in outcomes for i in o.part.experiment_ids})
    answered = [o for o in outcomes if o.report is not None]
    missing = [o for o in outcomes if not o.present]
    broken = [o for o in outcomes if o.present and o.error]
    summary = (f"This report was built from {_plural(len(results.docs), 'result')} of the "
               f"{n_ids} this version writes, read from {results.out}: "
               f"{_plural(len(answered), 'part')} of {len(outcomes)} answered")
    if missing:
        summary += f", {_plural(len(missing), 'part')} missing"
    if broken:
        summary += f", {_plural(len(broken), 'part')} whose section could not be built"
    blocks: list[Block] = [Heading("Status of this run", 1, anchor="status"),
                           Paragraph(summary + ".")]
    items = [f"{short_label(o.part)} missing: run `{part_command(o.part, results.out)}`."
             for o in missing]
    items += [f"{short_label(o.part)}: section not built ({o.error})." for o in broken]
    items += results.problems
    quick = [i for i, d in results.docs.items() if is_quick(d)]
    if quick and len(quick) < len(results.docs):
        items.append(f"Made in quick mode: {', '.join(quick)}; the other results ran at full "
                     "settings.")
    if results.unknown:
        items.append(f"Not read (unknown to this version): {', '.join(results.unknown)}.")
    if items:
        blocks.append(Bullets(items))
    return blocks


def once_with_owners(pairs: Iterable[tuple[object, str]]) -> dict[object, list[str]]:
    """Each key once, in order of first appearance, with the labels that state it."""
    owners: dict[object, list[str]] = {}
    for key, label in pairs:
        labels = owners.setdefault(key, [])
        if label not in labels:
            labels.append(label)
    return owners


def overview_blocks(outcomes: list[PartOutcome]) -> list[Block]:
    """The answers table, the settings table and the deviations table."""
    answers = [[short_label(o.part), o.report.overview if o.report and o.report.overview
                else "\u2014", o.status] for o in outcomes]
    blocks: list[Block] = [
        Heading("Overview", 1, anchor="overview"),
        Table(["part", "answer", "status"], answers,
              caption="Each part's answer in one line, read from its results.")]
    built = [o for o in outcomes if o.report is not None]
    settings = once_with_owners(((str(k), str(v)), short_label(o.part))
                                for o in built for k, v in o.report.settings)
    if settings:
        blocks.append(Table(["setting", "value as run", "parts"],
                            [[k, v, ", ".join(labels)]
                             for (k, v), labels in settings.items()],  # type: ignore[misc]
                            caption="Settings as run, each stated once with the parts it "
                                    "applies to."))
    deviations = once_with_owners((d, short_label(o.part))
                                  for o in built for d in o.report.deviations)
    if deviations:
        blocks.append(Table(["deviation from the assignment", "applies to"],
                            [[str(d), ", ".join(labels)] for d, labels in deviations.items()],
                            caption="Deviations from the assignment's settings, each once."))
    elif built:
        blocks.append(Paragraph("No part states a deviation from the assignment's settings."))
    return blocks
