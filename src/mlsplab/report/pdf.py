"""Turn the report's HTML into an A4 PDF with WeasyPrint.

The PDF is the HTML of :mod:`mlsplab.report.html` laid out by WeasyPrint: its ``@page`` rules
give the page size, margins, page numbers and the quick-mode header; the table of contents
gets its page numbers from ``target-counter``; tables size their columns with the CSS table
algorithm; SVG figures and equations stay vectors. Fonts come from matplotlib's own files
(STIX for text, DejaVu Sans for figure labels), so the PDF looks the same on any machine that
has the project installed.

Still laid out by hand, where a TeX engine would do it: an inline equation's baseline (its
image is lowered by the depth mathtext reports, in :func:`mlsplab.report.html.rich`); the lines
of a multi-line equation are centred images, not aligned at ``=``; equations are not numbered;
page breaks are CSS hints only (headings kept with what follows, figures, equations and table
rows not split); figures are drawn at 6.3 in (the text width) by the parts' figure modules.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

from mlsplab.errors import MlsplabError
from mlsplab.io import atomic_write

log = logging.getLogger(__name__)
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # a line per page otherwise
# loggers of the PDF engine: hundreds of font-subsetting lines and layout warnings per report;
# they go to report.log (render_pdf's log_file), not to the terminal
ENGINE_LOGGERS = ("fontTools", "weasyprint")

APPENDIX_ANCHOR = "appendix"  # the id of the appendix heading (see report.assemble)
_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
_FACES = (  # (family, weight, style, file in matplotlib's font folder)
    ("STIXGeneral", "normal", "normal", "STIXGeneral.ttf"),
    ("STIXGeneral", "normal", "italic", "STIXGeneralItalic.ttf"),
    ("STIXGeneral", "bold", "normal", "STIXGeneralBol.ttf"),
    ("STIXGeneral", "bold", "italic", "STIXGeneralBolIta.ttf"),
    ("DejaVu Sans", "normal", "normal", "DejaVuSans.ttf"),
    ("DejaVu Sans", "bold", "normal", "DejaVuSans-Bold.ttf"),
    ("DejaVu Sans", "normal", "oblique", "DejaVuSans-Oblique.ttf"),
    ("DejaVu Sans Mono", "normal", "normal", "DejaVuSansMono.ttf"),
)


@dataclass(frozen=True)
class PdfPages:
    """Page counts of a written PDF."""

    total: int
    main_body: int  # pages before the appendix
    appendix: int
    anchors: dict[str, int] = field(default_factory=dict)  # anchor -> first page (1-based)


def font_css() -> str:
    """``@font-face`` rules for the fonts shipped with matplotlib (missing files skipped)."""
    rules = []
    for family, weight, style, name in _FACES:
        path = _FONT_DIR / name
        if path.is_file():
            rules.append(f'@font-face {{ font-family: "{family}"; font-weight: {weight}; '
                         f'font-style: {style}; src: url("{path.as_uri()}"); }}')
    return "\n".join(rules)


def _weasyprint():
    try:
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration
    except (ImportError, OSError) as e:
        raise MlsplabError(
            f"the PDF report needs WeasyPrint and the pango library ({e}); install them "
            "(`pip install weasyprint`; Debian/Ubuntu: `apt-get install libpango-1.0-0 "
            "libpangoft2-1.0-0`) or read the HTML report") from e
    return weasyprint, FontConfiguration


@contextmanager
def _engine_log(log_file: Path | None) -> Iterator[None]:
    """While inside, the PDF engine's loggers write to ``log_file`` (or nowhere) only."""
    handler: logging.Handler = (logging.FileHandler(log_file, mode="w", encoding="utf-8")
                                if log_file else logging.NullHandler())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    saved = []
    for name in ENGINE_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.propagate, logger.level))
        logger.addHandler(handler)
        logger.propagate = False
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, propagate, level in saved:
            logger.removeHandler(handler)
            logger.propagate, logger.level = propagate, level
        handler.close()


def render_pdf(html: str, path: Path, *, base_url: str | Path | None = None,
               log_file: Path | None = None) -> PdfPages:
    """Write ``html`` as a PDF to ``path`` atomically; return its page counts.

    Parameters
    ----------
    html : str
        The report from :func:`mlsplab.report.html.render_html`.
    path : Path
        Where the PDF goes; the previous file stays intact if writing fails.
    base_url : str or Path, optional
        Where relative links in ``html`` point (the report embeds everything, so rarely needed).
    log_file : Path, optional
        Where the PDF engine's messages go (font subsetting, layout warnings); none: dropped.
    """
    weasyprint, FontConfiguration = _weasyprint()
    fonts = FontConfiguration()
    css = weasyprint.CSS(string=font_css(), font_config=fonts)
    with _engine_log(log_file):
        try:
            document = weasyprint.HTML(string=html, base_url=str(base_url) if base_url else None
                                       ).render(stylesheets=[css], font_config=fonts)
        except Exception as e:  # a layout bug must cost the PDF only, never the HTML
            log.debug("WeasyPrint traceback", exc_info=True)
            raise MlsplabError(f"{path}: WeasyPrint could not lay out the report "
                               f"({type(e).__name__}: {e}); read the HTML report "
                               "instead") from e
        atomic_write(path, lambda tmp: document.write_pdf(tmp))
    anchors: dict[str, int] = {}
    for number, page in enumerate(document.pages, start=1):
        for anchor in page.anchors:
            anchors.setdefault(anchor, number)
    total = len(document.pages)
    main = anchors.get(APPENDIX_ANCHOR, total + 1) - 1
    return PdfPages(total, main, total - main, anchors)
