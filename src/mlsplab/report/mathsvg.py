"""Typeset LaTeX (the matplotlib mathtext subset) as vector SVG, for the HTML and the PDF.

One source per equation: :func:`typeset` turns it into an SVG whose glyphs are paths (so the
PDF draws them as vectors and needs no math font), with the metrics an inline image needs to
sit on the text's baseline. The HTML embeds the SVG; WeasyPrint draws the same SVG in the PDF.

Only the mathtext settings are chosen here (STIX fonts, glyphs as paths), inside an
``rc_context``; figures keep using :mod:`mlsplab.plotting`.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from functools import lru_cache

import matplotlib
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.mathtext import MathTextParser

from mlsplab.errors import MlsplabError

# STIX keeps calligraphic letters (\mathcal{E}) in its non-Unicode font; mathtext logs each such
# substitution at INFO, a line per letter per equation
logging.getLogger("matplotlib.mathtext").setLevel(logging.WARNING)
FONT_PT = 10.0  # the size equations are typeset at; the HTML scales them in em of the text
MATH_RC = {
    "mathtext.fontset": "stix",  # Times-like, matches the report's STIX body text
    "svg.fonttype": "path",  # glyphs as outlines: vector, no font needed to view
    "svg.hashsalt": "mlsplab",  # deterministic ids: the same source gives the same bytes
}
_INLINE = re.compile(r"(?<!\\)\$(.+?)(?<!\\)\$")  # $...$, not \$


class MathError(MlsplabError):
    """A LaTeX source that matplotlib mathtext cannot typeset."""


@dataclass(frozen=True)
class MathImage:
    """One typeset line: SVG bytes and its size in points at :data:`FONT_PT`."""

    svg: bytes
    width_pt: float
    height_pt: float
    depth_pt: float  # how far the image reaches below the baseline


@lru_cache(maxsize=4096)
def typeset(latex: str) -> MathImage:
    """Typeset one line of mathtext (without the surrounding ``$``) as an SVG.

    Parameters
    ----------
    latex : str
        e.g. ``r"\\delta^{L}_{t} = \\mathbf{y}_t - \\mathbf{z}_t"``.

    Returns
    -------
    MathImage

    Raises
    ------
    MathError
        If mathtext cannot parse ``latex``; the message names the source and mathtext's reason.

    Examples
    --------
    >>> img = typeset(r"x^{2}")
    >>> img.svg.startswith(b"<?xml") and img.width_pt > 0
    True
    """
    source = f"${latex.strip()}$"
    prop = FontProperties(size=FONT_PT, math_fontfamily=MATH_RC["mathtext.fontset"])
    with matplotlib.rc_context(MATH_RC):
        try:
            width, height, depth, _, _ = MathTextParser("path").parse(source, dpi=72, prop=prop)
        except ValueError as e:  # mathtext's ParseFatalException is a ValueError
            reason = " ".join(str(e).split())
            raise MathError(f"cannot typeset {source!r} with matplotlib mathtext: {reason}; "
                            "use the mathtext subset of LaTeX (no \\begin, \\text -> \\mathrm)"
                            ) from e
        # the same construction as matplotlib.mathtext.math_to_image, without a date stamp
        fig = Figure(figsize=(width / 72, height / 72))
        fig.text(0, depth / height, source, fontproperties=prop)
        buf = io.BytesIO()
        fig.savefig(buf, format="svg", metadata={"Date": None}, transparent=True)
    return MathImage(buf.getvalue(), width, height, depth)


def split_inline(text: str) -> list[tuple[bool, str]]:
    """``text`` as (is_math, piece) pairs: ``$...$`` segments are math, ``\\$`` a dollar sign.

    >>> split_inline(r"cost $O(n^2)$ for \\$5")
    [(False, 'cost '), (True, 'O(n^2)'), (False, ' for $5')]
    """
    pieces: list[tuple[bool, str]] = []
    pos = 0
    for match in _INLINE.finditer(text):
        if match.start() > pos:
            pieces.append((False, text[pos:match.start()]))
        pieces.append((True, match.group(1)))
        pos = match.end()
    if pos < len(text):
        pieces.append((False, text[pos:]))
    return [(is_math, piece if is_math else piece.replace(r"\$", "$"))
            for is_math, piece in pieces]


def math_sources(text: str) -> list[str]:
    """The inline math sources in ``text``."""
    return [piece for is_math, piece in split_inline(text) if is_math]
