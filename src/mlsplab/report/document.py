"""A tiny document model shared by the HTML and PDF renderers.

Sections are built from ``metrics.json`` files into these blocks; the renderers only lay them
out. Numbers never originate here: every value comes from a results file.

Text of :class:`Paragraph`, :class:`Bullets`, :class:`Table` cells and captions is plain text in
which ``$...$`` segments are typeset as inline math (matplotlib mathtext, the syntax of
:class:`Math`); write ``\\$`` for a literal dollar sign.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Heading:
    text: str
    level: int = 1  # 1: question, 2: part, 3: minor
    anchor: str = ""  # the id links point to; "" derives one from the text


@dataclass
class Paragraph:
    text: str
    style: str = "body"  # body | note | warning | question | setup | conclusion


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Figure:
    path: Path  # SVG (preferred: vector in the PDF), PNG or JPEG
    caption: str = ""
    width_fraction: float = 1.0  # of the text width (figures are drawn at 6.3 in = text width)


@dataclass
class Math:
    """A display equation, from one LaTeX source (matplotlib mathtext subset) for HTML and PDF.

    A source with several lines (separated by ``"\\n"``) is typeset as stacked lines.
    """

    latex: str  # without surrounding $...$, e.g. r"\delta^{L}_{t} = y_t - z_t"
    caption: str = ""


@dataclass
class Settings:
    """Settings as run, set compactly as one run-in paragraph (``name`` value; ...)."""

    rows: list[tuple[str, str]]
    title: str = "Settings as run."


Block = Heading | Paragraph | Bullets | Table | Figure | Math | Settings


@dataclass
class PartReport:
    """What one part of the assignment contributes to the report, built at report time from
    its results (``part_report(part_key, results, out, fig_dir)`` of the question's package).

    A part that has a ``conclusion`` is laid out as a model answer: ``setup`` (what was run and
    how it departs from the assignment, in about two lines), ``evidence`` (one figure, one table,
    or the derivation), then the ``conclusion`` (three to five sentences: mechanism, the
    measurement that supports it, what it does not show). Its ``answer`` (the detailed
    measured reading) then opens the part's appendix. A part without a conclusion (missing or
    stale results) shows ``answer`` and ``evidence``. ``settings`` go to the appendix's
    settings table; per-seed tables, details, timings and hashes go to ``appendix``.
    """

    answer: list[Block] = field(default_factory=list)
    evidence: list[Block] = field(default_factory=list)
    settings: list[tuple[str, str]] = field(default_factory=list)  # (setting, value as run)
    appendix: list[Block] = field(default_factory=list)
    overview: str = ""  # the answer in one line with its number, for the overview table
    status: str = "missing"  # "full", "partial: 9 of 25 epochs", "quick", "missing", ...
    deviations: list[str] = field(default_factory=list)  # each stated once; report dedups
    setup: str = ""  # what was run and its deviations, about two lines, no machinery
    conclusion: str = ""  # three to five sentences, generated from the measurements


@dataclass
class Document:
    title: str
    subtitle: str = ""
    banner: str = ""  # quick mode: stated once at the top and in every PDF page's header
    blocks: list[Block] = field(default_factory=list)  # the main body
    appendix: list[Block] = field(default_factory=list)  # after the main body, on a new page
    author: str = ""  # the title page's name (``mlsplab report --author``)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def section_titles(self) -> list[str]:
        return [b.text for b in self.blocks if isinstance(b, Heading) and b.level == 1]
