"""Every Q3 constant, the configurations that are trained, and the typed configs of the steps.

No heavy imports here (no torch, numpy or matplotlib): the CLI, the registry and the report read
these names, and every other module of the package imports this one, so there is no cycle.

The training horizon (:data:`EPOCHS`) is fixed for every configuration and seed, without early
stopping; it was chosen once from the validation curves of a pilot (see :data:`HORIZON_PILOT`
and docs/esc10.md): SGD, the slowest learner, and Adam, one seed each, to 80 epochs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from mlsplab.errors import MlsplabError
from mlsplab.experiments.ids import (
    Q3_PILOT,
    Q3A_ADAM,
    Q3A_RMSPROP,
    Q3A_RMSPROP_LR1E3,
    Q3A_SGD,
    Q3A_SGD_MOMENTUM,
    Q3B_BATCHNORM,
    Q3B_LAYERNORM,
    Q3B_NONE,
    Q3C_ENSEMBLE,
    Q3X_AUGMENTED,
    Q3X_CV,
    Q3X_ENSEMBLE,
)

if TYPE_CHECKING:
    from mlsplab.experiments.options import RunOptions

BATCH_SIZE = 16  # the assignment's batch size for every Q3 experiment
EPOCHS = 40  # the fixed horizon of every configuration and seed (HORIZON_PILOT says why)
QUICK_EPOCHS = 2  # --quick: checks the pipeline (two epochs so that curves have two points)
PILOT_EPOCHS = 80  # the horizon pilot trains this long
MIN_EPOCHS = 40  # the horizon is never shorter than this
# Measured (idle-ish 2-core EPYC, one thread): a batch of 8 clips in eval mode takes 0.26 s per
# 80 clips against 1.13 s for one batch of 80 (the 16 x 126 x 498 activations of a large batch
# no longer fit the caches), so evaluation runs in batches of 8.
EVAL_BATCH = 8
THREADS = 1  # torch threads per training: trainings run side by side, not threads in one
N_FOLDS = 5  # ESC-50's predefined folds
WEIGHT_CV_FOLDS = 5  # out-of-fold validation of ensemble weights: validation clip i -> fold i % 5
MODELS_DIR = "q3-models"  # <out>/q3-models/<run name>/: trained models shared by experiments
PILOT_DIR = Q3_PILOT  # <out>/q3-pilot/metrics.json: the horizon pilot's curves

# The horizon pilot (mlsplab.experiments.q3.horizon, ``mlsplab esc10 --pilot``): SGD, the
# slowest learner, and Adam, seed 0, PILOT_EPOCHS epochs each. The horizon is the epoch at which
# the SMOOTHING-epoch centred moving average of the slowest learner's validation loss is lowest,
# rounded up to a multiple of ROUND_TO, and at least MIN_EPOCHS. What the pilot of the run that
# chose EPOCHS measured is filled in below (<out>/q3-pilot/metrics.json holds its curves).
SMOOTHING = 5
ROUND_TO = 10
# Pilot of 2026-11-28 (seed 0, 80 epochs; 2-core AMD EPYC shared with other jobs, 8 min 17 s):
# smoothed validation loss lowest at epoch 19 (SGD) and 7 (Adam), so SGD is the slowest and
# the rule gives max(40, 20) = 40; after epoch 40 SGD's smoothed validation accuracy rises by
# 2.5 points at most (two of 80 clips), Adam's by 0.75.
HORIZON_PILOT: dict[str, Any] = {"trainings": ["sgd-lr0.01-none", "adam-lr0.001-none"],
                                 "seed": 0, "epochs": PILOT_EPOCHS,
                                 "smoothed_min_epoch": {"sgd-lr0.01-none": 19,
                                                        "adam-lr0.001-none": 7},
                                 "horizon": 40}

# Data augmentation of q3x-augmented (beyond the assignment), fixed before running: a random
# circular time shift, then SpecAugment-style masks (Park et al., Interspeech 2019) of mel bands
# and frames, on the standardised log-mels; masked cells are set to 0 (the training mean).
AUGMENT: dict[str, int] = {"max_shift_frames": 100, "freq_masks": 2, "freq_mask_width": 12,
                           "time_masks": 2, "time_mask_width": 40}

OPTIMIZER_NAMES = {"sgd": "SGD", "sgd-momentum": "SGD+momentum", "rmsprop": "RMSprop",
                   "adam": "Adam"}
NORM_NAMES = {"none": "no norm", "layer": "LayerNorm", "batch": "BatchNorm"}


@dataclass(frozen=True)
class Training:
    """One configuration of the CNN and its optimizer (trained once per seed and split)."""

    optimizer: str  # one of OPTIMIZER_NAMES
    norm: str  # one of NORM_NAMES
    lr: float
    augment: bool = False  # beyond the assignment: AUGMENT on the training batches

    @property
    def key(self) -> str:
        """Short unique name, e.g. ``adam-lr0.001-batch`` or ``adam-lr0.001-batch-aug``."""
        return f"{self.optimizer}-lr{self.lr:g}-{self.norm}{'-aug' if self.augment else ''}"

    @property
    def label(self) -> str:
        """Display name: ``Adam/BatchNorm``, ``RMSprop/LayerNorm (lr 0.001)``, ``Adam/BatchNorm +
        augmentation``."""
        text = f"{OPTIMIZER_NAMES[self.optimizer]}/{NORM_NAMES[self.norm]}"
        if self.lr != DEFAULT_LR[self.optimizer]:
            text += f" (lr {self.lr:g})"
        return text + (" + augmentation" if self.augment else "")


# The learning rate of each optimizer when the assignment does not say otherwise. RMSprop "with
# default parameters" is torch's default: lr 0.01 (alpha 0.99, eps 1e-8); Adam's torch default
# is 0.001; SGD has no default learning rate in torch, 0.01 is used for both SGD variants.
DEFAULT_LR = {"sgd": 0.01, "sgd-momentum": 0.01, "rmsprop": 0.01, "adam": 0.001}
MOMENTUM = 0.9  # the assignment's momentum factor

SGD = Training("sgd", "none", DEFAULT_LR["sgd"])
SGD_MOMENTUM = Training("sgd-momentum", "none", DEFAULT_LR["sgd-momentum"])
RMSPROP = Training("rmsprop", "none", DEFAULT_LR["rmsprop"])
RMSPROP_LR1E3 = Training("rmsprop", "none", 0.001)  # labelled extra beside torch's defaults
ADAM = Training("adam", "none", DEFAULT_LR["adam"])
ADAM_LAYER = Training("adam", "layer", DEFAULT_LR["adam"])
ADAM_BATCH = Training("adam", "batch", DEFAULT_LR["adam"])
RMSPROP_LAYER = Training("rmsprop", "layer", DEFAULT_LR["rmsprop"])
RMSPROP_LAYER_LR1E3 = Training("rmsprop", "layer", 0.001)  # variant reported beside q3c
ADAM_BATCH_AUG = Training("adam", "batch", DEFAULT_LR["adam"], augment=True)

# Experiments that report one configuration (mean over seeds). q3b-none is the same training as
# q3a-adam: trained once, read by both.
SINGLE: dict[str, Training] = {
    Q3A_SGD: SGD,
    Q3A_SGD_MOMENTUM: SGD_MOMENTUM,
    Q3A_RMSPROP: RMSPROP,
    Q3A_RMSPROP_LR1E3: RMSPROP_LR1E3,
    Q3A_ADAM: ADAM,
    Q3B_NONE: ADAM,
    Q3B_LAYERNORM: ADAM_LAYER,
    Q3B_BATCHNORM: ADAM_BATCH,
    Q3X_AUGMENTED: ADAM_BATCH_AUG,
}
GROUPS = {"q3a": (Q3A_SGD, Q3A_SGD_MOMENTUM, Q3A_RMSPROP, Q3A_RMSPROP_LR1E3,
                  Q3A_ADAM),
          "q3b": (Q3B_NONE, Q3B_LAYERNORM, Q3B_BATCHNORM)}
ENSEMBLE_ID = Q3C_ENSEMBLE
ENSEMBLE_MEMBERS = (SGD, RMSPROP_LAYER, ADAM_BATCH)  # the assignment's three models
ENSEMBLE_VARIANT = (SGD, RMSPROP_LAYER_LR1E3, ADAM_BATCH)  # RMSprop/LayerNorm at lr 0.001
BEYOND_ENSEMBLE_ID = Q3X_ENSEMBLE
BEYOND_MEMBERS = (*ENSEMBLE_MEMBERS, ADAM_BATCH_AUG)
BEYOND_FAMILIES = ("per-seed", "augmented-pooled", "all-pooled")
WEIGHT_METHODS = ("average", "optimal-weights", "least-squares")
# The headline of an ensemble experiment is chosen among the methods the assignment asks for
# (their combination is again a posterior) by out-of-fold validation accuracy, then by the
# lower out-of-fold validation cross-entropy; the test fold plays no part.
HEADLINE_METHODS = ("average", "optimal-weights")
CV_ID = Q3X_CV
# q3x-cv: the assignment's Adam/BatchNorm CNN and the best beyond-the-assignment single model
# (the augmented one; ensembles are not cross-validated: three times the trainings).
CV_MODELS = (ADAM_BATCH, ADAM_BATCH_AUG)
STEP_IDS = (*SINGLE, ENSEMBLE_ID, BEYOND_ENSEMBLE_ID)  # what the "q3" step writes


@dataclass(frozen=True)
class Split:
    """Which ESC-50 folds train, validate and test one model."""

    train: tuple[int, ...]
    val: int
    test: int

    @property
    def tag(self) -> str:
        """E.g. ``train123-val4-test5``."""
        return f"train{''.join(map(str, self.train))}-val{self.val}-test{self.test}"


ASSIGNMENT_SPLIT = Split((1, 2, 3), 4, 5)  # folds 1-3 train, fold 4 validation, fold 5 test


def cv_splits(n_folds: int = N_FOLDS) -> list[Split]:
    """The five-fold rotation: test fold k, validation fold k - 1 (cyclic), train on the rest.

    Examples
    --------
    >>> [s.tag for s in cv_splits()][:2]
    ['train234-val5-test1', 'train345-val1-test2']
    >>> cv_splits()[-1] == ASSIGNMENT_SPLIT
    True
    """
    splits = []
    for k in range(1, n_folds + 1):
        val = (k - 2) % n_folds + 1  # the fold before k, cyclically
        splits.append(Split(tuple(f for f in range(1, n_folds + 1) if f not in (k, val)), val,
                            k))
    return splits


def _check_epochs(epochs: int) -> int:
    if epochs < 1:
        raise MlsplabError(f"--epochs={epochs} must be >= 1 (the Q3 horizon is {EPOCHS})")
    return epochs


@dataclass(frozen=True)
class Q3Config:
    """Settings of step ``q3``: every configuration x seed on the assignment's split."""

    # the seeds themselves (recorded as "seeds"; --seeds is their count): initialisation and
    # batch order of each training
    seed_list: tuple[int, ...] = (0, 1, 2)
    epochs: int = EPOCHS  # fixed, no early stopping; tested at the lowest validation loss
    quick: bool = False
    batch_size: int = BATCH_SIZE
    eval_batch: int = EVAL_BATCH
    threads: int = THREADS
    device: str = "auto"  # as requested; the device used is recorded with every training
    augment: dict[str, int] = field(default_factory=lambda: dict(AUGMENT))
    weight_cv_folds: int = WEIGHT_CV_FOLDS
    horizon_pilot: dict[str, Any] = field(default_factory=lambda: dict(HORIZON_PILOT))

    @classmethod
    def from_options(cls, options: RunOptions, **params: Any) -> Q3Config:
        """The config of a run: ``--seed``/``--seeds``, ``--quick``, ``--device``; ``params``
        override any field (``epochs=60``)."""
        from mlsplab.experiments.options import build_config, seed_list

        quick = options.quick
        count = (options.seeds if options.seeds is not None
                 else (1 if quick else len(cls.seed_list)))
        base = {"seed_list": seed_list(options.seed, count),
                "epochs": QUICK_EPOCHS if quick else EPOCHS, "quick": quick,
                "device": options.device}
        config = build_config(cls, "q3", base, params)
        _check_epochs(config.epochs)
        return config

    def record(self) -> dict[str, Any]:
        """The fields as JSON (what metrics.json records under ``config``)."""
        fields = asdict(self)
        # "seeds", the name earlier versions recorded (and hashed: results stay reusable)
        return {"seeds": list(fields.pop("seed_list")), **fields}


@dataclass(frozen=True)
class CrossValidationConfig:
    """Settings of step ``q3x-cv``: five folds, one seed, the same horizon and selection."""

    seed: int = 0
    epochs: int = EPOCHS
    quick: bool = False
    n_folds: int = N_FOLDS
    models: tuple[Training, ...] = CV_MODELS
    batch_size: int = BATCH_SIZE
    eval_batch: int = EVAL_BATCH
    threads: int = THREADS
    device: str = "auto"
    augment: dict[str, int] = field(default_factory=lambda: dict(AUGMENT))

    @classmethod
    def from_options(cls, options: RunOptions, **params: Any) -> CrossValidationConfig:
        """The config of a run (``--seed``, ``--quick``, ``--device``); ``params`` override."""
        from mlsplab.experiments.options import build_config

        base = {"seed": options.seed, "epochs": QUICK_EPOCHS if options.quick else EPOCHS,
                "quick": options.quick, "device": options.device}
        config = build_config(cls, Q3X_CV, base, params)
        _check_epochs(config.epochs)
        return config

    def record(self) -> dict[str, Any]:
        """The fields as JSON, models by key."""
        return {**asdict(self), "models": [m.key for m in self.models]}
