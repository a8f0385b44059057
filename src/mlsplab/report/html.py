"""Render a :class:`~mlsplab.report.document.Document` as one self-contained HTML page.

Figures are embedded as base64 PNG so ``index.html`` can be mailed or moved on its own.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from mlsplab.report.document import Bullets, Document, Figure, Heading, Paragraph, Table

_CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; max-width: 60rem;
       margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #345; padding-bottom: .2rem; margin-top: 2.5rem; }
h2 { color: #234; margin-top: 1.8rem; } h3 { color: #345; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .92rem; }
th, td { border: 1px solid #bbb; padding: .25rem .55rem; text-align: left; vertical-align: top; }
th { background: #eef2f6; } tr:nth-child(even) td { background: #fafbfc; }
caption { caption-side: bottom; font-size: .85rem; color: #555; padding-top: .3rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: .88rem; color: #444; }
.banner { background: #b00020; color: #fff; font-weight: bold; padding: .4rem .8rem;
          position: sticky; top: 0; text-align: center; }
.note { color: #555; font-size: .92rem; } .warning { background: #fff4e5; padding: .4rem .6rem;
        border-left: 4px solid #e69500; }
.subtitle { color: #555; }
"""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _figure(block: Figure) -> str:
    if not block.path.exists():
        return f'<p class="warning">Figure missing: {_esc(str(block.path))}</p>'
    data = base64.b64encode(block.path.read_bytes()).decode()
    width = int(block.width_fraction * 100)
    return (f'<figure><img style="width:{width}%" src="data:image/png;base64,{data}" '
            f'alt="{_esc(block.caption)}"><figcaption>{_esc(block.caption)}</figcaption></figure>')


def _table(block: Table) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in block.header)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>"
                   for row in block.rows)
    caption = f"<caption>{_esc(block.caption)}</caption>" if block.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(doc: Document) -> str:
    """The whole report as an HTML string."""
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{_esc(doc.title)}</title><style>{_CSS}</style></head><body>"]
    if doc.banner:
        parts.append(f'<div class="banner">{_esc(doc.banner)}</div>')
    parts.append(f"<h1>{_esc(doc.title)}</h1><p class='subtitle'>{_esc(doc.subtitle)}</p>")
    for block in doc.blocks:
        if isinstance(block, Heading):
            level = min(block.level, 3)
            anchor = _esc(block.text.split(":")[0].lower().replace(" ", "-"))
            parts.append(f"<h{level} id='{anchor}'>{_esc(block.text)}</h{level}>")
            if doc.banner and level == 1:
                parts.append(f'<p class="warning">{_esc(doc.banner)}</p>')
        elif isinstance(block, Paragraph):
            parts.append(f"<p class='{block.style}'>{_esc(block.text)}</p>")
        elif isinstance(block, Bullets):
            parts.append("<ul>" + "".join(f"<li>{_esc(i)}</li>" for i in block.items) + "</ul>")
        elif isinstance(block, Table):
            parts.append(_table(block))
        elif isinstance(block, Figure):
            parts.append(_figure(block))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(doc: Document, path: Path) -> Path:
    from mlsplab.io import atomic_write_text

    return atomic_write_text(path, render_html(doc))
