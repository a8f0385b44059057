"""Every constant of Q1(b-d) and the typed configs of its steps (no heavy imports).

The three sentiment models (q1b, q1c, q1d) share :class:`SentimentConfig`; the TF-IDF baseline
has :class:`BaselineConfig`, the comparison :class:`ComparisonConfig`. Each is built from the
run's :class:`~mlsplab.experiments.options.RunOptions` with ``from_options(options, ...)``, so
every flag of ``reproduce`` / ``sentiment`` reaches the config that ``metrics.json`` records.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from mlsplab.errors import MlsplabError
from mlsplab.experiments.ids import (
    Q1_COMPARISON,
    Q1_TFIDF_BASELINE,
    Q1B_LSTM_AVG,
    Q1C_LSTM_ATTENTION,
    Q1D_TRANSFORMER,
    Q1X_ENSEMBLE,
    Q1X_NBSVM,
)
from mlsplab.experiments.options import seed_list
from mlsplab.experiments.q1.selection import RULE as SELECTION_RULE
from mlsplab.experiments.q3.config import WEIGHT_CV_FOLDS

if TYPE_CHECKING:
    from mlsplab.experiments.options import RunOptions

MODEL_IDS = {"lstm-avg": Q1B_LSTM_AVG, "lstm-attention": Q1C_LSTM_ATTENTION,
             "transformer": Q1D_TRANSFORMER}
PART_OF_MODEL = {"lstm-avg": "q1b", "lstm-attention": "q1c", "transformer": "q1d"}
BASELINE_ID = Q1_TFIDF_BASELINE
COMPARISON_ID = Q1_COMPARISON
SENTIMENT_KIND = "sentiment"  # the "kind" of <out>/<id>/model.pt, read by mlsplab predict
OLD_MODEL_FILE_FORMAT = "mlsplab-sentiment-model-v1"  # model.pt of earlier versions, still read

# --- the assignment's settings
EMBED_DIM = 100  # the assignment's 100-d word2vec vectors
EPOCHS = 25  # the assignment's training length
BATCH_SIZE = 32  # the assignment's batch size
N_SPLIT = {"train": 40_000, "val": 5_000, "test": 5_000}  # the assignment's split sizes

# --- our choices (docs/sentiment.md says why)
MAX_TOKENS = 400  # keep the first 400 tokens: cuts 12.9 % of reviews, ~4 % of all tokens
EVAL_BATCH_SIZE = 64  # evaluation only; no effect on the numbers beyond float rounding
# Adam step sizes: the default 1e-3 for the LSTMs; 3e-4 for the transformer, chosen on the
# validation split over {1e-3, 3e-4} (and dropout {0.1, 0.3}): docs/sentiment.md
LEARNING_RATES = {"lstm-avg": 1e-3, "lstm-attention": 1e-3, "transformer": 3e-4}
GRAD_CLIP = 1.0  # max global gradient norm: guards the LSTMs against exploding gradients
# eval-mode training loss at each epoch's end on this many training reviews (the validation
# set's size), a fixed seeded subset: comparable with the validation loss (issue 12 item 4)
TRAIN_EVAL_REVIEWS = 5_000
QUICK = {"n_train": 2000, "n_val": 500, "n_test": 500, "max_tokens": 128, "epochs": 2}

# --- model sizes
LSTM_HIDDEN = 256  # the assignment's 256 cells per layer
LSTM_LAYERS = 2  # the assignment's 2 hidden layers
ATTENTION_DIM = 128  # hidden size of the additive attention scorer (Q1c)
LSTM_DROPOUT = 0.3  # on the embeddings, between the LSTM layers, before the classifier
D_MODEL = 256  # the transformer's "256 hidden dimensions", reached by a 100->256 projection
N_HEADS = 4  # 4 heads x 64 dims
FF_DIM = 1024  # feed-forward width, 4 x d_model (the original Transformer's ratio)
TRANSFORMER_DROPOUT = 0.1  # word+position sum, each sub-layer's output, the pooled vector

# --- measurements at test time (issue 13 item 4)
LENGTH_BUCKETS = 4  # token-length quartiles of the test set
ATTENTION_TOP_FRACTION = 0.05  # share of attention mass on the top 5 % of a review's tokens
ATTENTION_POSITION_BINS = 10  # weight by relative position, in tenths of the review
ATTENTION_TOP_WORDS = 20  # the words with the highest mean weight over the test set ...
ATTENTION_MIN_COUNT = 20  # ... among words seen at least this often there (quick: 3)
ATTENTION_EXAMPLES = 4  # validation reviews whose weights the report draws
ATTENTION_EXAMPLE_WORDS = (8, 40)  # their length range in tokens (readable tick labels)

# --- the TF-IDF + logistic-regression baseline (issue 13 item 6)
BASELINE_NGRAMS = (1, 2)  # word unigrams and bigrams
BASELINE_MIN_DF = 2  # a feature must occur in >= 2 training reviews
# inverse L2 strength of the TF-IDF baseline, chosen on validation (selection.py's rule)
BASELINE_C_GRID = (0.25, 1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0)
BASELINE_MAX_ITER = 1000  # liblinear's trust-region Newton stops after ~10 iterations here

# --- beyond the assignment: NBSVM and the ensemble of every Q1 model
NBSVM_ID = Q1X_NBSVM
ENSEMBLE_ID = Q1X_ENSEMBLE
NBSVM_ALPHA = 1.0  # Laplace smoothing of the log-count ratio (Wang & Manning 2012 use 1)
# inverse L2 strength of NBSVM's logistic regression: its binary features scaled by |r| (up to
# ~7) are far larger than unit-length TF-IDF rows, so its grid sits lower (factors of 4)
NBSVM_C_GRID = (2.0 ** -12, 2.0 ** -10, 2.0 ** -8, 2.0 ** -6, 2.0 ** -4, 0.25, 1.0)


def check_model(model: str) -> str:
    """``model`` if it is one of :data:`MODEL_IDS`, else a one-line error naming ``--model``."""
    if model not in MODEL_IDS:
        raise MlsplabError(f"--model {model!r} is not a sentiment model; expected one of "
                           f"{sorted(MODEL_IDS)}")
    return model


def model_sizes(model: str, dropout: float | None = None) -> dict[str, Any]:
    """The architecture of ``model`` as plain values (the model classes take these)."""
    check_model(model)
    if dropout is not None and not 0.0 <= dropout < 1.0:
        raise MlsplabError(f"--dropout {dropout}; expected 0 <= dropout < 1")
    if model == "transformer":
        return {"embed_dim": EMBED_DIM, "d_model": D_MODEL, "n_heads": N_HEADS, "ff_dim": FF_DIM,
                "dropout": TRANSFORMER_DROPOUT if dropout is None else dropout,
                "attention_dropout": 0.0, "ff_dropout": 0.0, "norm_first": True}
    return {"embed_dim": EMBED_DIM, "hidden_dim": LSTM_HIDDEN, "num_layers": LSTM_LAYERS,
            "pooling": "attention" if model == "lstm-attention" else "mean",
            "attention_dim": ATTENTION_DIM,
            "dropout": LSTM_DROPOUT if dropout is None else dropout}


@dataclass
class SentimentConfig:
    """One Q1(b-d) model as run: what determines its numbers, and how it is run.

    :meth:`identity` (everything but ``device``, ``data_dir`` and the seeds' count) keys
    resume and skip of each seed's training; the precision decided for the run is added to it
    by the runner.
    """

    model: str
    epochs: int = EPOCHS
    batch_size: int = BATCH_SIZE
    optimizer: str = "adam"
    lr: float = 1e-3
    grad_clip: float = GRAD_CLIP
    max_tokens: int = MAX_TOKENS
    train_eval_reviews: int = TRAIN_EVAL_REVIEWS
    model_config: dict[str, Any] = field(default_factory=dict)
    seed: int = 0  # the first seed; seeds are seed, seed + 1, ...
    seeds: int = 1  # --imdb-seeds
    quick: bool = False
    subset: dict[str, int] | None = None  # reviews per split in quick mode
    pretrained: str | None = None  # word-vector file instead of word2vec trained here
    device: str = "auto"
    data_dir: str | None = None

    @property
    def experiment_id(self) -> str:
        return MODEL_IDS[self.model]

    @property
    def seed_list(self) -> tuple[int, ...]:
        """The seeds themselves: seed, seed + 1, ... (``seeds`` is their count)."""
        return seed_list(self.seed, self.seeds, "--imdb-seeds")

    def identity(self, seed: int) -> dict[str, Any]:
        """What determines the numbers of the training with ``seed`` (its config hash)."""
        d = asdict(self)
        for k in ("device", "data_dir", "seeds"):
            d.pop(k)
        d["seed"] = seed
        return d

    @classmethod
    def from_options(cls, options: RunOptions, *, model: str, lr: float | None = None,
                     dropout: float | None = None) -> SentimentConfig:
        """The config of ``model`` under ``options`` (``lr``/``dropout``: sweep overrides)."""
        check_model(model)
        if options.epochs is not None and options.epochs < 1:
            raise MlsplabError(f"--epochs {options.epochs}; expected >= 1")
        if options.max_tokens is not None and options.max_tokens < 1:
            raise MlsplabError(f"--max-tokens {options.max_tokens}; expected >= 1")
        if lr is not None and not (lr > 0 and math.isfinite(lr)):
            raise MlsplabError(f"--lr {lr}; expected a positive number")
        seed_list(options.seed, options.imdb_seeds, "--imdb-seeds")  # checks the count
        quick = options.quick
        return cls(
            model=model,
            epochs=options.epochs or (QUICK["epochs"] if quick else EPOCHS),
            lr=LEARNING_RATES[model] if lr is None else lr,
            max_tokens=options.max_tokens or (QUICK["max_tokens"] if quick else MAX_TOKENS),
            train_eval_reviews=QUICK["n_val"] if quick else TRAIN_EVAL_REVIEWS,
            model_config=model_sizes(model, dropout),
            seed=options.seed, seeds=options.imdb_seeds, quick=quick,
            pretrained=None if options.pretrained is None else str(options.pretrained),
            subset={k: QUICK[f"n_{k}"] for k in ("train", "val", "test")} if quick else None,
            device=options.device,
            data_dir=None if options.data_dir is None else str(options.data_dir),
        )


@dataclass
class BaselineConfig:
    """The TF-IDF word n-gram + logistic-regression baseline on the same seeded split."""

    seed: int = 0
    quick: bool = False
    subset: dict[str, int] | None = None
    ngram_range: tuple[int, int] = BASELINE_NGRAMS
    min_df: int = BASELINE_MIN_DF
    c_grid: tuple[float, ...] = BASELINE_C_GRID
    max_iter: int = BASELINE_MAX_ITER
    selection: str = SELECTION_RULE  # how C is chosen on validation (selection.py)
    data_dir: str | None = None

    def identity(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("data_dir")
        return d

    @classmethod
    def from_options(cls, options: RunOptions) -> BaselineConfig:
        quick = options.quick
        return cls(seed=options.seed, quick=quick,
                   subset={k: QUICK[f"n_{k}"] for k in ("train", "val", "test")} if quick
                   else None,
                   data_dir=None if options.data_dir is None else str(options.data_dir))


@dataclass
class NbsvmConfig(BaselineConfig):
    """NBSVM (log-count-ratio features, logistic regression) on the same seeded split."""

    c_grid: tuple[float, ...] = NBSVM_C_GRID
    alpha: float = NBSVM_ALPHA


@dataclass
class EnsembleConfig:
    """q1x-ensemble: the Q1 models of one seed, combined (it reads them; nothing is trained)."""

    seed: int = 0
    quick: bool = False  # the members' mode (their splits must match)
    members: tuple[str, ...] = (*MODEL_IDS.values(), BASELINE_ID, NBSVM_ID)
    folds: int = WEIGHT_CV_FOLDS  # out-of-fold validation of the weights, as in Q3(c)

    def identity(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_options(cls, options: RunOptions) -> EnsembleConfig:
        return cls(seed=options.seed, quick=options.quick)


@dataclass
class ComparisonConfig:
    """The comparison of the finished Q1 results (it reads them; nothing is trained)."""

    ids: tuple[str, ...] = (*MODEL_IDS.values(), BASELINE_ID)

    @classmethod
    def from_options(cls, options: RunOptions) -> ComparisonConfig:
        return cls()
