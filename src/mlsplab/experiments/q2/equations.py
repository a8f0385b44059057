"""Q2's equations as LaTeX (matplotlib mathtext subset), generated for a run's contexts.

Notation (as in ``docs/tdnn.md`` and :mod:`mlsplab.analysis.tdnn`): layer ``l = 1..L`` reads
the frames ``t + c``, ``c`` in its context set ``C_l``, of layer ``l - 1`` (layer 0 is the input
``x``) with one matrix ``W^l_c`` per offset; ``T_l`` is the set of frames of layer ``l`` that
exist; ``delta^l_t`` is the gradient of the loss with respect to the pre-activation ``a^l_t``.
Every function returns the source of one display equation, without ``$`` delimiters.
"""

from __future__ import annotations

from collections.abc import Sequence

from mlsplab.analysis.tdnn_arch import Contexts

W = r"\mathbf{W}"
DELTA = r"\boldsymbol{\delta}"
LOSS = r"\mathcal{E}"
TAU = r"\tau"
RELU_DERIV = r"\mathbb{1}\left[\mathbf{a}^{%s}_{\tau} > 0\right]"


def _int(n: int) -> str:
    """``1086986`` -> ``1{,}086{,}986`` (thousands separators that mathtext keeps tight)."""
    return f"{n:,}".replace(",", "{,}")


def frame(base: str, c: int) -> str:
    """``t + c`` written out: ``t``, ``t+2``, ``t-1``."""
    return base if c == 0 else f"{base}{c:+d}"


def offset_set(ctx: Sequence[int]) -> str:
    r"""``\{-2,-1,0,1,2\}``."""
    return r"\{" + ",".join(str(c) for c in ctx) + r"\}"


def h(l: int, index: str) -> str:
    """The output of layer ``l`` at frame ``index``; layer 0 is the input ``x``."""
    return rf"\mathbf{{x}}_{{{index}}}" if l == 0 else rf"\mathbf{{h}}^{{{l}}}_{{{index}}}"


def parameter_count_general(output_bias: bool) -> str:
    """``N = sum_l |C_l| d_{l-1} d_l (+ d_L)``."""
    bias = " + d_{L}" if output_bias else ""
    return rf"N = \sum_{{l=1}}^{{L}} |\mathcal{{C}}_{{l}}|\, d_{{l-1}}\, d_{{l}}{bias}"


def parameter_count_run(layers: Sequence[dict], total: int) -> str:
    """This run's count, one product per layer: ``N = 5 . 13 . 512 + ... + 10 = 1,086,986``."""
    terms = [rf"{len(r['context'])} \cdot {r['in_dim']} \cdot {r['out_dim']}" for r in layers]
    bias = sum(int(r["bias"]) for r in layers)
    if bias:
        terms.append(str(bias))
    return "N = " + " + ".join(terms) + f" = {_int(total)}"


def loss() -> str:
    """The assignment's loss over the output frames that exist."""
    return (rf"{LOSS} = \sum_{{t \in \mathcal{{T}}_{{L}}}} \mathrm{{CE}}(\mathbf{{y}}_{{t}}, "
            rf"\mathbf{{z}}_{{t}}) = -\sum_{{t \in \mathcal{{T}}_{{L}}}} "
            rf"\mathbf{{z}}_{{t}}^{{\top}} \log \mathbf{{y}}_{{t}}")


def forward_general(output_bias: bool) -> str:
    """Pre-activation, ReLU and softmax of a general layer."""
    bias = r" + \mathbf{b}" if output_bias else ""
    return (rf"\mathbf{{a}}^{{l}}_{{t}} = \sum_{{c \in \mathcal{{C}}_{{l}}}} {W}^{{l}}_{{c}}\,"
            rf"\mathbf{{h}}^{{l-1}}_{{t+c}},\quad "
            rf"\mathbf{{h}}^{{l}}_{{t}} = \mathrm{{ReLU}}(\mathbf{{a}}^{{l}}_{{t}})\ (l < L),\quad "
            rf"\mathbf{{y}}_{{t}} = \mathrm{{softmax}}(\mathbf{{a}}^{{L}}_{{t}}{bias})")


def _weighted_sum(l: int, ctx: Sequence[int], prev: str) -> str:
    """``sum_c W^l_c h^{l-1}_{t+c}`` written term by term for up to three offsets."""
    if len(ctx) > 3:
        return (rf"\sum_{{c \in {offset_set(ctx)}}} {W}^{{{l}}}_{{c}}\, "
                + h(l - 1, "t+c"))
    return " + ".join(rf"{W}^{{{l}}}_{{{c}}}\, {h(l - 1, frame(prev, c))}" for c in ctx)


def forward_run(contexts: Contexts, output_bias: bool) -> list[str]:
    """One equation per layer for this run's contexts (output layer last)."""
    L = len(contexts)
    out = []
    for l, ctx in enumerate(contexts, start=1):
        s = _weighted_sum(l, ctx, "t")
        if l < L:
            out.append(rf"{h(l, 't')} = \mathrm{{ReLU}}\left({s}\right)")
        else:
            bias = r" + \mathbf{b}" if output_bias else ""
            out.append(rf"\mathbf{{y}}_{{t}} = \mathrm{{softmax}}\left({s}{bias}\right)")
    return out


def frames_general() -> str:
    """Which frames of layer ``l`` exist, and how many the output has."""
    return (r"\mathcal{T}_{l} = \{t : t + c \in \mathcal{T}_{l-1}\ \mathrm{for\ every}\ "
            r"c \in \mathcal{C}_{l}\},\quad \mathcal{T}_{0} = \{1, \ldots, T\},\quad "
            r"|\mathcal{T}_{L}| = T - \sum_{l=1}^{L} (\max \mathcal{C}_{l} - \min \mathcal{C}_{l})")


def frames_run(contexts: Contexts) -> str:
    """The output frames of this run's network for an input of ``T`` frames."""
    first = 1 + sum(-min(c) for c in contexts)
    last = sum(max(c) for c in contexts)
    lost = sum(max(c) - min(c) for c in contexts)
    L = len(contexts)
    return (rf"\mathcal{{T}}_{{{L}}} = \{{{first}, \ldots, {frame('T', -last)}\}},\quad "
            rf"|\mathcal{{T}}_{{{L}}}| = {frame('T', -lost)}")


def delta_output() -> str:
    """softmax + cross-entropy: the output delta."""
    return (rf"{DELTA}^{{L}}_{{t}} = \dfrac{{\partial {LOSS}}}{{\partial \mathbf{{a}}^{{L}}_{{t}}}}"
            rf" = \mathbf{{y}}_{{t}} - \mathbf{{z}}_{{t}},\quad t \in \mathcal{{T}}_{{L}}")


def delta_output_derivation() -> str:
    """The output delta derived in one line: the softmax Jacobian times the cross-entropy's
    gradient, with a one-hot target (its entries sum to 1)."""
    return (rf"\dfrac{{\partial {LOSS}_{{t}}}}{{\partial a^{{L}}_{{t,j}}}} = -\sum_{{k}} "
            rf"\dfrac{{z_{{t,k}}}}{{y_{{t,k}}}}\,y_{{t,k}}\left([k = j] - y_{{t,j}}\right)"
            rf" = y_{{t,j}} \sum_{{k}} z_{{t,k}} - z_{{t,j}} = y_{{t,j}} - z_{{t,j}}")


def delta_hidden_general() -> str:
    """The hidden delta: ReLU derivative times the sum over the next layer's frames using tau."""
    return (rf"{DELTA}^{{l}}_{{\tau}} = {RELU_DERIV % 'l'} \odot "
            rf"\sum_{{c \in \mathcal{{C}}_{{l+1}},\ \tau - c \in \mathcal{{T}}_{{l+1}}}} "
            rf"\left({W}^{{l+1}}_{{c}}\right)^{{\top}} {DELTA}^{{l+1}}_{{\tau - c}}")


def delta_hidden_run(contexts: Contexts) -> list[str]:
    """The hidden deltas of this run, one per hidden layer, from the last hidden layer down."""
    L = len(contexts)
    out = []
    for l in range(L - 1, 0, -1):
        terms = [rf"\left({W}^{{{l + 1}}}_{{{c}}}\right)^{{\top}} {DELTA}^{{{l + 1}}}_"
                 rf"{{{frame(TAU, -c)}}}" for c in contexts[l]]
        out.append(rf"{DELTA}^{{{l}}}_{{\tau}} = {RELU_DERIV % l} \odot \left("
                   + " + ".join(terms) + r"\right)")
    return out


def gradients_general(output_bias: bool) -> str:
    """The gradient of every weight matrix (and of the bias): sums over time."""
    out = (rf"\dfrac{{\partial {LOSS}}}{{\partial {W}^{{l}}_{{c}}}} = "
           rf"\sum_{{t \in \mathcal{{T}}_{{l}}}} {DELTA}^{{l}}_{{t}} \left("
           rf"\mathbf{{h}}^{{l-1}}_{{t+c}}\right)^{{\top}}")
    if output_bias:
        out += (rf",\quad \dfrac{{\partial {LOSS}}}{{\partial \mathbf{{b}}}} = "
                rf"\sum_{{t \in \mathcal{{T}}_{{L}}}} {DELTA}^{{L}}_{{t}}")
    return out


def gradients_run(contexts: Contexts) -> list[str]:
    """One gradient equation per layer of this run, with its offsets."""
    out = []
    for l, ctx in enumerate(contexts, start=1):
        out.append(rf"\dfrac{{\partial {LOSS}}}{{\partial {W}^{{{l}}}_{{c}}}} = "
                   rf"\sum_{{t \in \mathcal{{T}}_{{{l}}}}} {DELTA}^{{{l}}}_{{t}} "
                   rf"\left({h(l - 1, 't+c')}\right)^{{\top}},\quad c \in {offset_set(ctx)}")
    return out


def update(output_bias: bool) -> str:
    """Gradient descent with learning rate eta, for every parameter."""
    out = (rf"{W}^{{l}}_{{c}} \leftarrow {W}^{{l}}_{{c}} - \eta\, "
           rf"\dfrac{{\partial {LOSS}}}{{\partial {W}^{{l}}_{{c}}}}\quad "
           rf"(l = 1, \ldots, L,\ c \in \mathcal{{C}}_{{l}})")
    if output_bias:
        out += (r",\quad \mathbf{b} \leftarrow \mathbf{b} - \eta "
                r"\sum_{t \in \mathcal{T}_{L}} (\mathbf{y}_{t} - \mathbf{z}_{t})")
    return out
