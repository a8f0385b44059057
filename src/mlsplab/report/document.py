"""A tiny document model shared by the HTML and PDF renderers.

Sections are built from ``metrics.json`` files into these blocks; the renderers only lay them
out. Numbers never originate here: every value comes from a results file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Heading:
    text: str
    level: int = 1  # 1: question, 2: part, 3: minor


@dataclass
class Paragraph:
    text: str
    style: str = "body"  # body | note | warning


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
    path: Path
    caption: str = ""
    width_fraction: float = 0.9  # of the text width


Block = Heading | Paragraph | Bullets | Table | Figure


@dataclass
class Document:
    title: str
    subtitle: str = ""
    banner: str = ""  # printed on every page when set (quick mode)
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def section_titles(self) -> list[str]:
        return [b.text for b in self.blocks if isinstance(b, Heading) and b.level == 1]
