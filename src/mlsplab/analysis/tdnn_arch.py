"""TDNN architecture (Q2) without torch: context sets, which frames exist, parameter counts.

A TDNN layer ``l`` with context set ``C_l`` reads the frames ``t + c``, ``c`` in ``C_l``, of the
layer below, with one weight matrix per offset. Everything here is arithmetic on the context
sets, so configs, the CLI and the report can use it without importing torch; the model and the
manual backward live in :mod:`mlsplab.analysis.tdnn`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

from mlsplab.errors import MlsplabError

Contexts = tuple[tuple[int, ...], ...]

# The first three layer contexts of Peddinti et al. (2015)
DEFAULT_CONTEXTS: Contexts = ((-2, -1, 0, 1, 2), (-1, 2), (-3, 3))


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def parse_contexts(text: str, *, flag: str = "--contexts") -> Contexts:
    """Parse ``"-2,-1,0,1,2;-1,2;-3,3"`` (layers split by ``;``, offsets by ``,``).

    Parameters
    ----------
    text : str
        One group of comma-separated integer frame offsets per layer, groups separated by ``;``.
    flag : str, default="--contexts"
        Flag name used in error messages.

    Returns
    -------
    contexts : tuple of tuple of int
        Sorted offsets per layer.

    Raises
    ------
    MlsplabError
        On a non-integer offset, an empty layer or a repeated offset.
    """
    layers = []
    for i, group in enumerate(text.split(";")):
        items = [s.strip() for s in group.split(",") if s.strip()]
        if not items:
            raise MlsplabError(f"{flag}={text!r}: layer {i + 1} has no offsets; give at least one "
                               "integer per layer, e.g. \"-2,-1,0,1,2;-1,2;-3,3\"")
        try:
            offsets = [int(s) for s in items]
        except ValueError as e:
            raise MlsplabError(f"{flag}={text!r}: layer {i + 1} offsets {group.strip()!r} are not "
                               "all integers; use whole frame offsets like \"-1,2\"") from e
        layers.append(tuple(offsets))
    return validate_contexts(layers, flag=flag)


def contexts_text(contexts: Contexts) -> str:
    """The ``--contexts`` spelling of ``contexts``: ``"-2,-1,0,1,2;-1,2;-3,3"``."""
    return ";".join(",".join(str(c) for c in layer) for layer in contexts)


def validate_contexts(contexts: object, *, flag: str = "contexts") -> Contexts:
    """Check a sequence of per-layer offset sequences; return them sorted, as tuples."""
    if isinstance(contexts, (str, bytes)) or not hasattr(contexts, "__iter__"):
        raise MlsplabError(f"{flag}={contexts!r}: expected a list of per-layer offset lists")
    out = []
    for i, layer in enumerate(contexts):  # type: ignore[union-attr]
        if isinstance(layer, (str, bytes)) or not hasattr(layer, "__iter__"):
            raise MlsplabError(f"{flag}: layer {i + 1} is {layer!r}; expected a list of integers")
        offsets = list(layer)
        if not offsets:
            raise MlsplabError(f"{flag}: layer {i + 1} is empty; give at least one offset")
        for c in offsets:
            if not _is_int(c):
                raise MlsplabError(f"{flag}: layer {i + 1} offset {c!r} is not an integer; "
                                   "offsets are whole frames")
        if len(set(offsets)) != len(offsets):
            dup = sorted({c for c in offsets if offsets.count(c) > 1})
            raise MlsplabError(f"{flag}: layer {i + 1} repeats offset(s) {dup}; each offset "
                               "may appear once (a repeat would just add two weight matrices)")
        out.append(tuple(sorted(int(c) for c in offsets)))
    if not out:
        raise MlsplabError(f"{flag}: no layers given; give at least one context, e.g. \"0\"")
    return tuple(out)


@dataclass(frozen=True)
class TDNNConfig:
    """Architecture of a TDNN.

    ``contexts`` lists the hidden layers' offsets; the output (softmax) layer uses
    ``output_context`` (default ``(0,)``: frame-wise, as in Peddinti et al.'s final layer).
    """

    input_dim: int = 13  # MFCC-sized input frames
    contexts: Contexts = DEFAULT_CONTEXTS  # one tuple of frame offsets per hidden layer
    hidden: int = 512  # width of every hidden layer (Peddinti et al. use 512-ish layers)
    classes: int = 10
    output_context: tuple[int, ...] = (0,)
    output_bias: bool = True  # the assignment only forbids biases on hidden (ReLU) units
    layer_contexts: Contexts = field(init=False)  # hidden contexts + output context

    def __post_init__(self) -> None:
        for name in ("input_dim", "hidden", "classes"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                flag = "--" + name.replace("_", "-")
                raise MlsplabError(f"{flag}={value!r} must be a positive integer")
        hidden = validate_contexts(self.contexts, flag="--contexts")
        (out_ctx,) = validate_contexts([self.output_context], flag="--output-context")
        object.__setattr__(self, "contexts", hidden)
        object.__setattr__(self, "output_context", out_ctx)
        object.__setattr__(self, "layer_contexts", hidden + (out_ctx,))

    @property
    def dims(self) -> tuple[int, ...]:
        """``(d_0, d_1, ..., d_L)``: input, hidden widths, classes."""
        return (self.input_dim,) + (self.hidden,) * len(self.contexts) + (self.classes,)


def output_frames(n_frames: int, contexts: Contexts) -> tuple[int, int]:
    """Which output frames exist for an input of ``n_frames`` frames (no padding).

    Parameters
    ----------
    n_frames : int
        Input length ``T``.
    contexts : tuple of tuple of int
        Offsets of every layer, output layer included.

    Returns
    -------
    first, n_out : int
        Output frame ``j`` (0-based) belongs to input time ``first + j`` and sees input frames
        ``j .. j + sum_l (max C_l - min C_l)``;
        ``n_out = T - sum_l (max C_l - min C_l)`` frames exist (0 if the input is too short).
    """
    first = sum(-min(c) for c in contexts)
    n_out = n_frames - frames_lost(contexts)
    return first, max(n_out, 0)


def frames_lost(contexts: Contexts) -> int:
    """``sum_l (max C_l - min C_l)``: how many frames fewer the output has than the input."""
    return sum(max(c) - min(c) for c in contexts)


def connected_offsets(contexts: Contexts) -> list[list[int]]:
    """Offsets (relative to one output frame) of the frames of each layer it depends on.

    Entry ``l`` is layer ``l`` (0: the input, last: the output, ``[0]``). With sparse contexts
    such as ``{-3, 3}`` some frames inside the span are not connected: the input's offsets are
    the Minkowski sum of the contexts.
    """
    used = [[0]]
    for ctx in reversed(contexts):
        used.append(sorted({u + c for u in used[-1] for c in ctx}))
    return used[::-1]


def receptive_field(contexts: Contexts) -> dict[str, object]:
    """Input frames seen by one output frame: span and the offsets actually connected.

    The span is ``[sum_l min C_l, sum_l max C_l]``; ``used_offsets`` are the connected ones.
    """
    used = connected_offsets(contexts)[0]
    lo, hi = sum(min(c) for c in contexts), sum(max(c) for c in contexts)
    return {"first_offset": lo, "last_offset": hi, "width": hi - lo + 1,
            "used_offsets": used, "n_used": len(used)}


def count_parameters(config: TDNNConfig) -> list[dict[str, object]]:
    """Closed-form parameter count per layer: ``|C_l| * d_{l-1} * d_l`` (+ ``d_L`` output bias)."""
    dims, rows = config.dims, []
    n_layers = len(config.layer_contexts)
    for l, ctx in enumerate(config.layer_contexts, start=1):
        is_out = l == n_layers
        weights = len(ctx) * dims[l - 1] * dims[l]
        bias = dims[l] if (is_out and config.output_bias) else 0
        rows.append({"layer": l, "kind": "output" if is_out else "hidden",
                     "context": list(ctx), "in_dim": dims[l - 1], "out_dim": dims[l],
                     "weights": weights, "bias": bias, "params": weights + bias})
    return rows


def closed_form_total(config: TDNNConfig) -> int:
    """``sum_l |C_l| d_{l-1} d_l + [output_bias] d_L`` in one expression (no per-layer table)."""
    d = config.dims
    return (sum(len(c) * d[l] * d[l + 1] for l, c in enumerate(config.layer_contexts))
            + (d[-1] if config.output_bias else 0))
