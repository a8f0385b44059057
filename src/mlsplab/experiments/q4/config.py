"""Q4's defaults and constants (imports nothing heavy: the CLI and the report read them).

The ESC-10 CNN's sizes are not repeated here: they come from
:class:`mlsplab.models.esc_cnn.EscCnnConfig` (the one definition) when the runner starts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from mlsplab.errors import MlsplabError
from mlsplab.experiments.ids import Q4_CONV_DENSE
from mlsplab.experiments.options import build_config, config_from_record

if TYPE_CHECKING:
    from mlsplab.experiments.options import RunOptions

EXPERIMENT_ID = Q4_CONV_DENSE
COMMAND = "mlsplab convdense"
TIMING_REPEATS = 10  # best of 10 single-threaded forward passes, batch 1
MAX_DENSE_MIB = 512  # dense layers with more fp32 weight are counted, not built
N_SPARSE_CHECKS = 8  # random conv shapes checked as explicit matrices (quick: 4)
N_SPARSE_CHECKS_QUICK = 4


@dataclass
class Q4Config:
    """What ``q4-conv-dense`` computes besides the ESC-10 layers (which EscCnnConfig defines)."""

    seed: int = 0
    quick: bool = False  # ESC-10 matrices counted by formula, not built; one timing example
    timing_repeats: int = TIMING_REPEATS
    max_dense_mib: int = MAX_DENSE_MIB
    # the small layer whose matrix W is drawn: (C_in, C_out, H, W, k, stride, padding)
    example: tuple[int, ...] = (1, 2, 4, 4, 2, 1, 0)
    # layers small enough to build the dense equivalent and time both: (C_in, C_out, H, W, k)
    timing_examples: tuple[tuple[int, ...], ...] = ((3, 16, 16, 16, 3), (3, 16, 32, 32, 3))
    n_sparse_checks: int = field(init=False, default=N_SPARSE_CHECKS)

    def __post_init__(self) -> None:
        self.example = tuple(self.example)
        self.timing_examples = tuple(tuple(t) for t in self.timing_examples)
        if len(self.example) != 7 or any(len(t) != 5 for t in self.timing_examples):
            raise MlsplabError("q4: example needs 7 numbers (C_in, C_out, H, W, k, stride, "
                               "padding) and each timing example 5 (C_in, C_out, H, W, k)")
        if self.quick:
            self.timing_examples = self.timing_examples[:1]
        self.n_sparse_checks = N_SPARSE_CHECKS_QUICK if self.quick else N_SPARSE_CHECKS

    @classmethod
    def from_options(cls, options: RunOptions, **params: Any) -> Q4Config:
        """The config of a run: ``seed`` and ``quick`` from the options, the rest from
        ``params`` or the defaults."""
        return build_config(cls, "q4", {"seed": options.seed, "quick": options.quick},
                            params)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Q4Config:
        """The config stored in a metrics.json (``record()``'s output, plus ``esc_cnn``)."""
        return config_from_record(cls, record)

    def record(self) -> dict[str, Any]:
        """JSON-able form stored as ``config`` in metrics.json (lists instead of tuples)."""
        doc = asdict(self)
        doc["example"] = list(self.example)
        doc["timing_examples"] = [list(t) for t in self.timing_examples]
        return doc
