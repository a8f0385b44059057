"""Q4's equations as LaTeX (matplotlib mathtext subset); the ESC ones filled with a run's numbers.

Notation: input ``C_in x H x W``, ``C_out`` filters of ``k_h x k_w``, stride ``s``, zero padding
``p`` (dilation 1, one group: the code handles more, see docs/conv_vs_dense.md), output
``C_out x H_out x W_out``; ``N_in`` and ``N_out`` are the flattened input and output sizes and
``b`` the bytes per stored number (4 in fp32). Indices are 0-based, as in the code.
Every function returns the source of one display equation, without ``$`` delimiters.
"""

from __future__ import annotations

CIN, COUT = r"C_{\mathrm{in}}", r"C_{\mathrm{out}}"
HOUT, WOUT = r"H_{\mathrm{out}}", r"W_{\mathrm{out}}"
NIN, NOUT = r"N_{\mathrm{in}}", r"N_{\mathrm{out}}"
PCONV, PDENSE = r"P_{\mathrm{conv}}", r"P_{\mathrm{dense}}"
MCONV, MDENSE = r"M_{\mathrm{conv}}", r"M_{\mathrm{dense}}"


def _int(n: int) -> str:
    """``64254955968`` -> ``64{,}254{,}955{,}968``."""
    return f"{n:,}".replace(",", "{,}")


def output_size() -> str:
    """Output height and width of a conv layer (and the flattened sizes)."""
    return (rf"{HOUT} = \left\lfloor \dfrac{{H + 2p - k_h}}{{s}} \right\rfloor + 1,\quad "
            rf"{WOUT} = \left\lfloor \dfrac{{W + 2p - k_w}}{{s}} \right\rfloor + 1,\quad "
            rf"{NIN} = {CIN} H W,\quad {NOUT} = {COUT} {HOUT} {WOUT}")


def parameters() -> str:
    """Parameters of the conv layer and of the dense layer with the same sizes."""
    return (rf"{PCONV} = {COUT} \left({CIN} k_h k_w + 1\right),\qquad "
            rf"{PDENSE} = {NOUT} \left({NIN} + 1\right) = {COUT} {HOUT} {WOUT} "
            rf"\left({CIN} H W + 1\right)")


def macs() -> str:
    """Multiply-accumulates per example."""
    return (rf"{MCONV} = {COUT} {HOUT} {WOUT} \cdot {CIN} k_h k_w,\qquad "
            rf"{MDENSE} = {NIN} {NOUT} = {CIN} H W \cdot {COUT} {HOUT} {WOUT}")


def ratios() -> str:
    """How much larger the dense layer is."""
    return (rf"\dfrac{{{MDENSE}}}{{{MCONV}}} = \dfrac{{H W}}{{k_h k_w}},\qquad "
            rf"\dfrac{{{PDENSE}}}{{{PCONV}}} = \dfrac{{{HOUT} {WOUT} \left({CIN} H W + 1\right)}}"
            rf"{{{CIN} k_h k_w + 1}} \approx \dfrac{{H W {HOUT} {WOUT}}}{{k_h k_w}}")


def memory() -> str:
    """Weight and activation memory, in bytes of ``b`` per number."""
    return (rf"\mathrm{{mem}}_{{\mathrm{{weights}}}} = b\,{PCONV}\ \mathrm{{or}}\ b\,{PDENSE},"
            rf"\qquad \mathrm{{mem}}_{{\mathrm{{activations}}}} = b\,{NOUT} = "
            rf"b\,{COUT} {HOUT} {WOUT}\ \mathrm{{for\ both}}")


def pooling() -> str:
    """A ``q x q`` max-pool after either layer: no weights, only comparisons."""
    return (rf"H_q = \left\lfloor \dfrac{{{HOUT}}}{{q}} \right\rfloor,\quad "
            rf"W_q = \left\lfloor \dfrac{{{WOUT}}}{{q}} \right\rfloor,\quad "
            rf"\mathrm{{comparisons}} = {COUT} H_q W_q (q^2 - 1),\quad \mathrm{{parameters}} = 0")


def esc_parameters(layer: dict) -> str:
    """One ESC layer's parameter counts with its numbers."""
    c_in, c_out = layer["input_shape"][0], layer["conv_output_shape"][0]
    kh, kw = layer["spec"]["kernel"]
    return (rf"{PCONV} = {c_out} \cdot ({c_in} \cdot {kh} \cdot {kw} + 1) = "
            rf"{_int(layer['conv']['params'])},\qquad "
            rf"{PDENSE} = {_int(layer['n_out'])} \cdot ({_int(layer['n_in'])} + 1) = "
            rf"{_int(layer['dense']['params'])}")


def esc_macs(layer: dict) -> str:
    """One ESC layer's MACs with its numbers."""
    c_in, (c_out, ho, wo) = layer["input_shape"][0], layer["conv_output_shape"]
    kh, kw = layer["spec"]["kernel"]
    return (rf"{MCONV} = {c_out} \cdot {ho} \cdot {wo} \cdot {c_in} \cdot {kh} \cdot {kw} = "
            rf"{_int(layer['conv']['macs'])},\qquad "
            rf"{MDENSE} = {_int(layer['n_in'])} \cdot {_int(layer['n_out'])} = "
            rf"{_int(layer['dense']['macs'])}")


def flatten() -> str:
    """How input and output are laid out as vectors (C order, as ``ravel``/``flatten``)."""
    return (r"x_{(c H + r) W + t} = X_{c,r,t},\qquad "
            rf"y_{{(o {HOUT} + i) {WOUT} + j}} = Y_{{o,i,j}}")


def convolution() -> str:
    """The conv layer (cross-correlation, as in PyTorch), entry by entry."""
    return (rf"Y_{{o,i,j}} = b_o + \sum_{{c=0}}^{{{CIN}-1}} \sum_{{u=0}}^{{k_h-1}} "
            r"\sum_{v=0}^{k_w-1} K_{o,c,u,v}\, X_{c,\; i s + u - p,\; j s + v - p}")


def sparse_matrix() -> str:
    """The non-zero entries of W: which column each kernel weight lands in for row (o, i, j)."""
    return (r"\mathbf{y} = \mathbf{W} \mathbf{x} + \mathbf{b},\qquad "
            r"\mathbf{W}_{(o,i,j),\ (c,\; i s + u - p,\; j s + v - p)} = K_{o,c,u,v},\qquad "
            r"\mathbf{b}_{(o,i,j)} = b_o")


def sparsity() -> str:
    """How sparse W is and how many distinct values it holds."""
    return (rf"\mathrm{{nnz}}(\mathbf{{W}}) \leq {NOUT}\, {CIN} k_h k_w,\qquad "
            rf"\dfrac{{\mathrm{{nnz}}(\mathbf{{W}})}}{{{NOUT} {NIN}}} \leq \dfrac{{k_h k_w}}{{H W}}"
            rf",\qquad \mathrm{{distinct\ values}} = {COUT} {CIN} k_h k_w")


def dense_as_conv() -> str:
    """A dense layer y = A x + b on a C x H x W input as a conv whose kernel covers the input."""
    return (r"K_{m,c,u,v} = A_{m,\ (c H + u) W + v},\quad "
            rf"{COUT} = M,\ k_h = H,\ k_w = W,\ p = 0\ \Rightarrow\ {HOUT} = {WOUT} = 1,\quad "
            r"Y_{m,0,0} = (\mathbf{A} \mathbf{x} + \mathbf{b})_m")


def dense_as_1x1_conv() -> str:
    """The same dense layer as a 1 x 1 conv on the input reshaped to N_in x 1 x 1."""
    return (rf"\tilde{{X}}_{{n,0,0}} = x_n\ (n < {NIN}),\quad K_{{m,n,0,0}} = A_{{m,n}},\quad "
            rf"{COUT} = M,\ k_h = k_w = 1\ \Rightarrow\ Y_{{m,0,0}} = "
            r"(\mathbf{A} \mathbf{x} + \mathbf{b})_m")
