"""Render a :class:`~mlsplab.report.document.Document` as an A4 PDF with reportlab.

Tables wrap their cells to the page width; figures keep their aspect ratio and never exceed
the frame; a banner (quick mode) and page numbers are drawn on every page.
"""

from __future__ import annotations

import html
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    Image,
    KeepTogether,
    ListFlowable,
    ListItem,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Paragraph as RLParagraph
from reportlab.platypus import Table as RLTable

from mlsplab.io import atomic_write
from mlsplab.report.document import Bullets, Document, Figure, Heading, Paragraph, Table

MARGIN = 1.8 * cm
_base = getSampleStyleSheet()
STYLES = {
    "title": ParagraphStyle("title", parent=_base["Title"], fontSize=20, leading=24),
    "subtitle": ParagraphStyle("subtitle", parent=_base["Normal"], textColor=colors.grey,
                               alignment=1, spaceAfter=12),
    1: ParagraphStyle("h1", parent=_base["Heading1"], fontSize=16, spaceBefore=10,
                      textColor=colors.HexColor("#223344")),
    2: ParagraphStyle("h2", parent=_base["Heading2"], fontSize=13, spaceBefore=8,
                      textColor=colors.HexColor("#223344")),
    3: ParagraphStyle("h3", parent=_base["Heading3"], fontSize=11, spaceBefore=6),
    "body": ParagraphStyle("body", parent=_base["BodyText"], fontSize=9.5, leading=12.5),
    "note": ParagraphStyle("note", parent=_base["BodyText"], fontSize=8.5, leading=11,
                           textColor=colors.HexColor("#555555")),
    "warning": ParagraphStyle("warning", parent=_base["BodyText"], fontSize=9.5, leading=12.5,
                              backColor=colors.HexColor("#fff4e5"), borderPadding=4),
    "cell": ParagraphStyle("cell", parent=_base["BodyText"], fontSize=8, leading=9.8),
    "cellhead": ParagraphStyle("cellhead", parent=_base["BodyText"], fontSize=8, leading=9.8,
                               fontName="Helvetica-Bold"),
    "caption": ParagraphStyle("caption", parent=_base["BodyText"], fontSize=8.5, leading=10.5,
                              textColor=colors.HexColor("#444444"), spaceAfter=8),
}


def _p(text: str, style: str = "body") -> RLParagraph:
    return RLParagraph(html.escape(text), STYLES[style])


def _column_widths(block: Table, n_cols: int, width: float) -> list[float]:
    """Widths (points) that fit each column's longest word, the rest of ``width`` shared in
    proportion to each column's longest text (capped), so no word breaks letter by letter."""
    head, body = STYLES["cellhead"], STYLES["cell"]
    pad = 6 + 1  # left + right padding, and a point of slack

    def word_width(text: str, style: ParagraphStyle) -> float:
        return max((stringWidth(w, style.fontName, style.fontSize) for w in text.split()),
                   default=0.0)

    minimum = [pad + word_width(block.header[i], head) if i < len(block.header) else pad
               for i in range(n_cols)]
    longest = [len(block.header[i]) if i < len(block.header) else 0 for i in range(n_cols)]
    for row in block.rows:
        for i, cell in enumerate(row):
            minimum[i] = max(minimum[i], pad + word_width(cell, body))
            longest[i] = max(longest[i], len(cell))
    needed = sum(minimum)
    if needed >= width:  # too many long words: shrink all, proportionally
        return [width * m / needed for m in minimum]
    weights = [min(max(n, 6), 60) for n in longest]
    return [m + (width - needed) * w / sum(weights) for m, w in zip(minimum, weights)]


def _table(block: Table, width: float) -> list:
    n_cols = max(len(block.header), max((len(r) for r in block.rows), default=0))
    col_widths = _column_widths(block, n_cols, width)
    data = [[_p(h, "cellhead") for h in block.header]]
    data += [[_p(c, "cell") for c in row] + [""] * (n_cols - len(row)) for row in block.rows]
    table = RLTable(data, colWidths=col_widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f6")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#fafbfc")]),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]))
    out = [table]
    if block.caption:
        out.append(_p(block.caption, "caption"))
    else:
        out.append(Spacer(1, 6))
    return out


def _figure(block: Figure, width: float, max_height: float) -> list:
    if not block.path.exists():
        return [_p(f"Figure missing: {block.path}", "warning")]
    iw, ih = ImageReader(str(block.path)).getSize()
    w = width * block.width_fraction
    h = w * ih / iw
    if h > max_height:  # tall figure: fit the height instead
        h, w = max_height, max_height * iw / ih
    return [KeepTogether([Image(str(block.path), width=w, height=h),
                          _p(block.caption, "caption")])]


def render_pdf(doc: Document, path: Path) -> Path:
    """Write the report to ``path`` atomically."""
    width = A4[0] - 2 * MARGIN
    max_fig_height = A4[1] - 2 * MARGIN - 3 * cm
    story: list = [_p(doc.title, "title"), _p(doc.subtitle, "subtitle")]
    pending_heading: list = []
    for block in doc.blocks:
        flow: list
        if isinstance(block, Heading):
            # keep a heading with what follows it
            pending_heading.append(_p(block.text, block.level))  # type: ignore[arg-type]
            continue
        if isinstance(block, Paragraph):
            flow = [_p(block.text, block.style)]
        elif isinstance(block, Bullets):
            flow = [ListFlowable([ListItem(_p(i), leftIndent=12) for i in block.items],
                                 bulletType="bullet", start="\u2022", leftIndent=12)]
        elif isinstance(block, Table):
            flow = _table(block, width)
        elif isinstance(block, Figure):
            flow = _figure(block, width, max_fig_height)
        else:  # pragma: no cover - Block is a closed union
            raise TypeError(block)
        if pending_heading:
            story.append(KeepTogether(pending_heading + flow[:1]))
            story.extend(flow[1:])
            pending_heading = []
        else:
            story.extend(flow)
    story.extend(pending_heading)

    def decorate(canvas, template) -> None:  # noqa: ANN001 - reportlab callback signature
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(colors.grey)
        canvas.drawRightString(A4[0] - MARGIN, MARGIN / 2, f"page {template.page}")
        canvas.drawString(MARGIN, MARGIN / 2, doc.title)
        if doc.banner:
            canvas.setFillColor(colors.HexColor("#b00020"))
            canvas.rect(0, A4[1] - 0.9 * cm, A4[0], 0.9 * cm, stroke=0, fill=1)
            canvas.setFillColor(colors.white)
            canvas.setFont("Helvetica-Bold", 10)
            canvas.drawCentredString(A4[0] / 2, A4[1] - 0.6 * cm, doc.banner)
        canvas.restoreState()

    def build(tmp: Path) -> None:
        SimpleDocTemplate(str(tmp), pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                          topMargin=MARGIN, bottomMargin=MARGIN, title=doc.title,
                          author="mlsplab").build(story, onFirstPage=decorate,
                                                  onLaterPages=decorate)

    return atomic_write(path, build)
