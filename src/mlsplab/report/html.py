"""Render a :class:`~mlsplab.report.document.Document` as one self-contained HTML page.

The same HTML is the web report and, through WeasyPrint (:mod:`mlsplab.report.pdf`), the PDF:
its ``@page`` rules give the A4 layout, the running quick-mode header, page numbers and the
table of contents' page numbers. Figures and equations are embedded as data URIs (SVG where
they are SVG), so ``index.html`` can be mailed or moved on its own.
"""

from __future__ import annotations

import base64
import html
import logging
import re
from pathlib import Path

from mlsplab.report.document import (
    Block,
    Bullets,
    Document,
    Figure,
    Heading,
    Math,
    Paragraph,
    Settings,
    Table,
)
from mlsplab.report.mathsvg import FONT_PT, MathError, split_inline, typeset

log = logging.getLogger(__name__)

_NUMERIC = re.compile(r"^[\s\d.,:%+\-\u2212\u00b1\u00d7()/e]*\d[\s\d.,:%+\-\u2212\u00b1\u00d7()/e]*$")
_MIME = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg",
         ".jpeg": "image/jpeg"}

_CSS = """
@page { size: A4; margin: 20mm 25mm 20mm 25mm;  /* text 160 mm wide: figures are 6.3 in */
  @bottom-right { content: "page " counter(page) " of " counter(pages); font-size: 9pt;
                  color: #555; }
  @bottom-left { content: string(doctitle); font-size: 9pt; color: #555; } }
html { font-family: "STIX Two Text", STIXGeneral, "Times New Roman", "DejaVu Serif", serif;
       color: #1a1a1a; line-height: 1.3; }
body { font-size: 10pt; counter-reset: table figure; }
@media screen { body { max-width: 48rem; margin: 2rem auto; padding: 0 1rem;
                       font-size: 17px; }
                table, p.tcaption, figcaption, p.note { font-size: 14px; } }
.title { font-size: 20pt; font-weight: bold; margin: 0 0 .2em; string-set: doctitle content(); }
.subtitle { color: #555; margin-top: 0; font-size: 9.5pt; }
h1, h2, h3, h4 { font-family: inherit; color: #1f3347; break-after: avoid;
                 page-break-after: avoid; line-height: 1.2; }
h1 { font-size: 15pt; border-bottom: 1.5px solid #1f3347; padding-bottom: .15em;
     margin: 1.1em 0 .45em; }
h2 { font-size: 12.5pt; margin: 1.1em 0 .4em; }
h3, h4 { font-size: 11pt; margin: .9em 0 .3em; }
p { margin: .45em 0; orphans: 2; widows: 2; }
p.question { font-style: italic; color: #333; border-left: 3px solid #9ab; padding-left: .6em; }
p.setup { font-size: 9.5pt; color: #222; }
p.conclusion { border-left: 3px solid #1f3347; padding-left: .6em; margin-top: .6em; }
p.author { font-size: 12pt; margin: .1em 0 .2em; }
p.note { color: #444; font-size: 9.5pt; }
p.settings { font-size: 9.5pt; color: #222; background: #f4f6f8; padding: .3em .6em; }
p.settings span.key { font-style: italic; color: #1f3347; }
p.warning { background: #fff4e5; border-left: 4px solid #e69500; padding: .3em .6em; }
div.banner { background: #b00020; color: #fff; font-weight: bold; padding: .35em .8em;
             text-align: center; margin: .5em 0 1em; }
ul { margin: .4em 0; padding-left: 1.4em; } li { margin: .15em 0; }
div.table { margin: .5em 0 .8em; }
table { border-collapse: collapse; font-size: 9pt; line-height: 1.25; max-width: 100%; }
p.tcaption { font-size: 9pt; color: #333; margin: 0 0 .25em; break-after: avoid;
             break-inside: avoid; }
p.tcaption { counter-increment: table; }
p.tcaption::before { content: "Table " counter(table) ". "; font-weight: bold; }
th, td { border: 0.5pt solid #aab; padding: .2em .45em; text-align: left; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; }
td code { word-break: break-all; }  /* long hashes break anywhere instead of widening */
th { background: #e9eef3; } tr:nth-child(even) td { background: #f7f9fb; }
thead { display: table-header-group; } tr { break-inside: avoid; }
figure { margin: .6em 0 .8em; break-inside: avoid; }
figure img { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 9pt; color: #333; margin-top: .3em; counter-increment: figure; }
figcaption::before { content: "Figure " counter(figure) ". "; font-weight: bold; }
div.equation { margin: .6em 0; text-align: center; break-inside: avoid; font-size: 1.1em; }
div.equation img { display: block; margin: .15em auto; }
div.equation p.eqcaption { font-size: 9pt; color: #444; margin: .1em 0 0; }
div.equation p.eqcaption img { display: inline; margin: 0; }  /* inline math in a caption */
img.math { max-width: 100%; height: auto; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: .86em; }
code.math-error { color: #b00020; }
nav.toc { margin: .5em 0 1em; font-size: 10pt; }
nav.toc ol { list-style: none; padding-left: 0; margin: .2em 0; }
nav.toc ol ol { padding-left: 1.2em; }
nav.toc a { color: inherit; text-decoration: none; }
@media print { nav.toc a::after { content: leader(". ") target-counter(attr(href), page); }
               nav.toc ol ol { columns: 2; column-gap: 2em; font-size: 9pt; } }
section.appendix { break-before: page; }
h2, h3, h4 { bookmark-level: none; } nav.toc h2 { bookmark-level: 1; }
section.appendix h2 { bookmark-level: 2; }
"""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def slug(text: str) -> str:
    """An anchor for a heading: lower case, letters and digits joined by ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _math_img(latex: str, css_class: str = "math") -> str:
    """One line of math as an ``<img>`` sized in em of the surrounding text (so it scales with
    table and caption text) and lowered by its depth onto the baseline."""
    try:
        image = typeset(latex)
    except MathError as e:
        log.warning("%s", e)
        return f'<code class="math-error">{_esc(latex)}</code>'
    width = image.width_pt / FONT_PT
    depth = image.depth_pt / FONT_PT
    return (f'<img class="{css_class}" alt="" src="{_data_uri("image/svg+xml", image.svg)}" '
            f'style="width:{width:.3f}em;vertical-align:-{depth:.3f}em">')


def _code(text: str) -> str:
    """Escaped text with `backtick` spans (commands, file names) set in monospace."""
    pieces = text.split("`")
    if len(pieces) % 2 == 0:  # an unmatched backtick: keep it as a character
        return _esc(text)
    return "".join(f"<code>{_esc(p)}</code>" if i % 2 else _esc(p)
                   for i, p in enumerate(pieces))


def rich(text: str) -> str:
    """Plain text as HTML: ``$...$`` typeset as inline math, `backticks` in monospace."""
    return "".join(_math_img(piece) if is_math else _code(piece)
                   for is_math, piece in split_inline(str(text)))


def _figure(block: Figure) -> str:
    mime = _MIME.get(block.path.suffix.lower())
    if not block.path.is_file() or mime is None:
        why = "missing" if not block.path.is_file() else "not SVG, PNG or JPEG"
        return f'<p class="warning">Figure {why}: {_esc(str(block.path))}</p>'
    width = max(10, min(100, round(100 * block.width_fraction)))
    caption = f"<figcaption>{rich(block.caption)}</figcaption>" if block.caption else ""
    alt = "".join(piece for is_math, piece in split_inline(block.caption) if not is_math)
    return (f'<figure><img style="width:{width}%" alt="{_esc(alt)}" '
            f'src="{_data_uri(mime, block.path.read_bytes())}">{caption}</figure>')


def _cell(text: str, tag: str = "td") -> str:
    text = str(text)
    css = ' class="num"' if tag == "td" and _NUMERIC.match(text) else ""
    return f"<{tag}{css}>{rich(text)}</{tag}>"


def _table(block: Table) -> str:
    n_cols = max([len(block.header)] + [len(r) for r in block.rows])
    head = "".join(_cell(h, "th") for h in block.header)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "<td></td>" * (n_cols - len(row))
                   + "</tr>" for row in block.rows)
    # the caption is a paragraph above the table (a <caption> would wrap at the table's width)
    caption = f'<p class="tcaption">{rich(block.caption)}</p>' if block.caption else ""
    thead = f"<thead><tr>{head}</tr></thead>" if block.header else ""
    return f'<div class="table">{caption}<table>{thead}<tbody>{body}</tbody></table></div>'


def _equation(block: Math) -> str:
    lines = [line for line in block.latex.split("\n") if line.strip()]
    imgs = "".join(_math_img(line, "math display") for line in lines)
    caption = f'<p class="eqcaption">{rich(block.caption)}</p>' if block.caption else ""
    return f'<div class="equation">{imgs}{caption}</div>'


def _heading(block: Heading) -> str:
    level = min(max(block.level, 1), 4)
    anchor = block.anchor or slug(block.text)
    return f'<h{level} id="{_esc(anchor)}">{rich(block.text)}</h{level}>'


_LEADS = {"setup": "<b>Set-up.</b> ", "conclusion": "<b>Conclusion.</b> "}


def render_block(block: Block) -> str:
    """One block as HTML."""
    if isinstance(block, Heading):
        return _heading(block)
    if isinstance(block, Paragraph):
        lead = _LEADS.get(block.style, "")
        return f'<p class="{_esc(block.style)}">{lead}{rich(block.text)}</p>'
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{rich(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Figure):
        return _figure(block)
    if isinstance(block, Math):
        return _equation(block)
    if isinstance(block, Settings):
        rows = "; ".join(f'<span class="key">{rich(k)}</span> {rich(v)}' for k, v in block.rows)
        return f'<p class="settings"><b>{rich(block.title)}</b> {rows}.</p>'
    raise TypeError(f"not a report block: {block!r}")


def _toc(doc: Document) -> str:
    """Contents: the main body's top-level headings, then the appendix and its sections."""
    def entries(blocks: list[Block], level: int) -> list[str]:
        return [f'<li><a href="#{_esc(b.anchor or slug(b.text))}">{rich(b.text)}</a></li>'
                for b in blocks if isinstance(b, Heading) and b.level == level]

    main = entries(doc.blocks, 1)
    if doc.appendix:
        sub = entries(doc.appendix, 2)
        main.append(f'<li><a href="#appendix">Appendix</a><ol>{"".join(sub)}</ol></li>')
    return f'<nav class="toc"><h2 id="contents">Contents</h2><ol>{"".join(main)}</ol></nav>'


def render_html(doc: Document) -> str:
    """The whole report as an HTML string."""
    css = _CSS
    if doc.banner:  # the running header of every PDF page
        banner = doc.banner.replace("\\", "").replace('"', "'")
        css += (f'@page {{ @top-center {{ content: "{banner}"; color: #b00020; '
                "font-weight: bold; font-size: 9pt; } }")
    parts = [("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
              "<meta name='viewport' content='width=device-width, initial-scale=1'>"
              f"<title>{_esc(doc.title)}</title><style>{css}</style></head><body>"),
             f'<p class="title">{_esc(doc.title)}</p>']
    if doc.author:
        parts.append(f'<p class="author">{_esc(doc.author)}</p>')
    parts.append(f'<p class="subtitle">{rich(doc.subtitle)}</p>')
    if doc.banner:
        parts.append(f'<div class="banner">{_esc(doc.banner)}</div>')
    parts.append(_toc(doc))
    parts.extend(render_block(block) for block in doc.blocks)
    if doc.appendix:
        parts.append('<section class="appendix">')
        parts.extend(render_block(block) for block in doc.appendix)
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(doc: Document, path: Path) -> Path:
    """Write the report's HTML to ``path`` atomically."""
    from mlsplab.io import atomic_write_text

    return atomic_write_text(path, render_html(doc))
