"""Helpers for tests of a part's report: its text blocks, ASCII-math markers, mathtext rendering.

Import in tests as ``from report_text import ...``.
"""

from __future__ import annotations

import io

from mlsplab.report.document import Bullets, Heading, Math, Paragraph, PartReport, Table

ASCII_MATH = ("^{", "_{", "delta^", "sum_", "sum_{", "d_(", "->", "<-", "**")


def text_of(report: PartReport) -> list[str]:
    """Every piece of prose of a PartReport: paragraphs, bullets, headings, table cells and
    captions, equation captions, overview, settings and deviations (not the LaTeX sources)."""
    texts = [report.overview, *report.deviations]
    texts += [t for row in report.settings for t in row]
    for block in report.answer + report.evidence + report.appendix:
        if isinstance(block, (Paragraph, Heading)):
            texts.append(block.text)
        elif isinstance(block, Bullets):
            texts += block.items
        elif isinstance(block, Table):
            texts += [block.caption, *block.header, *(c for row in block.rows for c in row)]
        elif isinstance(block, Math):
            texts.append(block.caption)
        else:  # Figure
            texts.append(block.caption)
    return texts


def ascii_math_in(report: PartReport) -> list[str]:
    """The texts of ``report`` that contain an ASCII-math marker (should be empty)."""
    return [t for t in text_of(report) if any(m in t for m in ASCII_MATH)]


def equations(report: PartReport) -> list[str]:
    """The LaTeX sources of every Math block of ``report``."""
    return [b.latex for b in report.answer + report.evidence + report.appendix
            if isinstance(b, Math)]


def render_mathtext(latex: str) -> bytes:
    """Render one equation with matplotlib's mathtext to SVG (raises on unsupported syntax)."""
    from matplotlib import mathtext

    buf = io.BytesIO()
    mathtext.math_to_image("$" + latex + "$", buf, format="svg")
    return buf.getvalue()
