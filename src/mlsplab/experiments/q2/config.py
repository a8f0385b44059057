"""Q2's defaults and constants (imports nothing heavy: the CLI and the report read them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from mlsplab.analysis.tdnn_arch import DEFAULT_CONTEXTS, Contexts, TDNNConfig, receptive_field
from mlsplab.errors import MlsplabError
from mlsplab.experiments.ids import Q2_TDNN
from mlsplab.experiments.options import build_config, config_from_record

if TYPE_CHECKING:
    from mlsplab.experiments.options import RunOptions

EXPERIMENT_ID = Q2_TDNN
COMMAND = "mlsplab tdnn"
AUTOGRAD_TOL = 1e-8  # manual vs autograd relative error in float64 (observed ~1e-16)
FD_TOL = 1e-5  # central differences with eps=1e-6 carry ~1e-9..1e-7 truncation/rounding error
FD_EPS = 1e-6
FD_ENTRIES = 12  # entries per parameter checked by finite differences (half largest, half random)
FD_ENTRIES_QUICK = 4
N_RANDOM = 5  # random architectures checked besides the requested one
GD_LR = 1e-3  # learning rate of the one update step that is checked to lower the loss
EXTRA_FRAMES = 19  # default T = receptive field + 19: 20 output frames


@dataclass
class Q2Config:
    """What ``q2-tdnn`` computes: the TDNN architecture and the checks' settings."""

    input_dim: int = 13  # d_0, e.g. 13 MFCCs
    contexts: Contexts = DEFAULT_CONTEXTS  # hidden layers' frame offsets (Peddinti et al. 2015)
    hidden: int = 512  # width of every hidden layer
    classes: int = 10  # softmax outputs
    output_context: tuple[int, ...] = (0,)  # frame-wise softmax layer
    output_bias: bool = True  # hidden layers never have a bias (the assignment)
    n_frames: int | None = None  # T of the gradient check; None: receptive field + EXTRA_FRAMES
    seed: int = 0
    quick: bool = False  # fewer finite-difference entries
    fd_entries: int = field(init=False, default=FD_ENTRIES)
    n_random_architectures: int = N_RANDOM
    update_lr: float = GD_LR

    def __post_init__(self) -> None:
        net = self.net()  # validates the architecture (MlsplabError naming the flag)
        self.contexts, self.output_context = net.contexts, net.output_context
        width = int(receptive_field(net.layer_contexts)["width"])  # type: ignore[call-overload]
        if self.n_frames is None:
            self.n_frames = width + EXTRA_FRAMES
        if self.n_frames < width:
            raise MlsplabError(f"--frames={self.n_frames} is shorter than the receptive field "
                               f"({width} frames); give at least {width}")
        self.fd_entries = FD_ENTRIES_QUICK if self.quick else FD_ENTRIES

    @classmethod
    def from_options(cls, options: RunOptions, **params: Any) -> Q2Config:
        """The config of a run: ``seed`` and ``quick`` from the options, the rest from
        ``params`` (the architecture flags of ``mlsplab tdnn``) or the defaults."""
        return build_config(cls, "q2", {"seed": options.seed, "quick": options.quick},
                            params)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Q2Config:
        """The config stored in a metrics.json (``record()``'s output)."""
        return config_from_record(cls, record)

    def net(self) -> TDNNConfig:
        """The architecture as a :class:`TDNNConfig`."""
        return TDNNConfig(input_dim=self.input_dim, contexts=self.contexts, hidden=self.hidden,
                          classes=self.classes, output_context=self.output_context,
                          output_bias=self.output_bias)

    def record(self) -> dict[str, Any]:
        """JSON-able form stored as ``config`` in metrics.json (lists instead of tuples)."""
        doc = asdict(self)
        doc["contexts"] = [list(c) for c in self.contexts]
        doc["output_context"] = list(self.output_context)
        return doc
