"""Equations are typeset once from their LaTeX source as vector SVG, on the text's baseline."""

from __future__ import annotations

import pytest

from mlsplab.report.document import Math
from mlsplab.report.html import render_block, rich
from mlsplab.report.mathsvg import MathError, split_inline, typeset


def test_typeset_gives_deterministic_vector_svg_without_text() -> None:
    source = r"\frac{\partial \mathcal{E}}{\partial W^{l}_{c}} = \sum_{t} \delta^{l}_{t}"
    first = typeset(source)
    typeset.cache_clear()
    again = typeset(source)
    assert first.svg == again.svg  # no date stamp, fixed ids
    assert b"<path" in first.svg and b"<text" not in first.svg  # glyphs as outlines
    assert first.width_pt > first.height_pt > 0 and first.depth_pt > 0


def test_unknown_command_is_a_clear_error() -> None:
    with pytest.raises(MathError, match=r"cannot typeset .*\\begin.*mathtext subset"):
        typeset(r"\begin{aligned} x \end{aligned}")


def test_inline_math_and_escaped_dollars() -> None:
    assert split_inline(r"a $x_t$ b \$3") == [(False, "a "), (True, "x_t"), (False, " b $3")]
    assert split_inline("no math") == [(False, "no math")]
    html = rich(r"error $\delta^{L}_{t}$ and `mlsplab report`")
    assert 'class="math"' in html and "vertical-align:-" in html
    assert "<code>mlsplab report</code>" in html and "\\delta" not in html


def test_bad_equation_is_shown_as_code_not_a_crash() -> None:
    html = render_block(Math("x = \\nosuchcommand{y}\nz = 1"))
    assert '<code class="math-error">' in html and html.count("<img") == 1
