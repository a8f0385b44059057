"""The deeper ESC-10 CNN's recipe and the settings of its step (beyond the assignment).

No heavy imports (no torch or numpy): the registry, the CLI and the report read these names.
The model is :class:`mlsplab.models.esc_deep_cnn.EscDeepCnn`; its training
(:mod:`mlsplab.experiments.q3.deep_train`) differs from the assignment's CNN by AdamW with a
warm-up + cosine learning-rate schedule, mixup, and augmentation of the training batches
(random gain, circular time shift, SpecAugment masks), each a pure function of (seed, epoch,
batch). Validation and test clips are never augmented. The protocol is q3x-cv's: the same five
folds, validation on the previous fold, a fixed horizon, the lowest-validation-loss epoch tested.

Every setting below was chosen on validation folds only (the design log in docs/esc10.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from mlsplab.experiments.ids import Q3X_DEEP_CNN
from mlsplab.experiments.q3.config import (
    AUGMENT,
    BATCH_SIZE,
    EVAL_BATCH,
    N_FOLDS,
    QUICK_EPOCHS,
    THREADS,
    _check_epochs,
)

if TYPE_CHECKING:
    from mlsplab.experiments.options import RunOptions

DEEP_ID = Q3X_DEEP_CNN
DEEP_EPOCHS = 60  # the fixed horizon, chosen on validation (docs/esc10.md, design log)
WARMUP = 0.1  # fraction of the steps with a linear warm-up of the learning rate
# augmentation of the deeper CNN: q3x-augmented's shift and masks plus a random gain
DEEP_AUGMENT: dict[str, float] = {**AUGMENT, "gain_db": 6.0}


@dataclass(frozen=True)
class DeepTraining:
    """The deeper CNN and how it is trained (trained once per seed and split)."""

    stem_channels: int = 16
    channels: tuple[int, ...] = (16, 32, 64, 128)
    convs_per_block: int = 1
    dropout: float = 0.3
    optimizer: str = "adamw"
    lr: float = 3e-3  # the peak of the schedule
    weight_decay: float = 0.01
    schedule: str = "warmup-cosine"  # or "constant"
    mixup: float = 0.2  # Beta(alpha, alpha) of the mixing weight; 0: no mixup
    augment: bool = True  # DEEP_AUGMENT on the training batches

    @property
    def key(self) -> str:
        """Short unique name, e.g. ``deep-16.16.32.64.128x1-adamw-lr0.003-mix0.2-aug``."""
        arch = ".".join(map(str, (self.stem_channels, *self.channels)))
        text = (f"deep-{arch}x{self.convs_per_block}-d{self.dropout:g}-{self.optimizer}"
                f"-lr{self.lr:g}-wd{self.weight_decay:g}-{self.schedule}-mix{self.mixup:g}")
        return text + ("-aug" if self.augment else "")

    @property
    def label(self) -> str:
        """Display name."""
        return "deeper CNN"


DEEP = DeepTraining()


@dataclass(frozen=True)
class DeepCvConfig:
    """Settings of step ``q3x-deep-cnn``: the deeper CNN under q3x-cv's five-fold protocol."""

    seed: int = 0
    epochs: int = DEEP_EPOCHS
    quick: bool = False
    n_folds: int = N_FOLDS
    model: DeepTraining = DEEP
    batch_size: int = BATCH_SIZE
    eval_batch: int = EVAL_BATCH
    threads: int = THREADS
    device: str = "auto"
    augment: dict[str, float] = field(default_factory=lambda: dict(DEEP_AUGMENT))

    @classmethod
    def from_options(cls, options: RunOptions, **params: Any) -> DeepCvConfig:
        """The config of a run (``--seed``, ``--quick``, ``--device``); ``params`` override."""
        from mlsplab.experiments.options import build_config

        base = {"seed": options.seed, "epochs": QUICK_EPOCHS if options.quick else DEEP_EPOCHS,
                "quick": options.quick, "device": options.device}
        config = build_config(cls, DEEP_ID, base, params)
        _check_epochs(config.epochs)
        return config

    def record(self) -> dict[str, Any]:
        """The fields as JSON."""
        return {**asdict(self), "model": {**asdict(self.model), "key": self.model.key}}
