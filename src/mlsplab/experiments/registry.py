"""The one list of the assignment's parts and of the experiments that answer them.

Everything that needs an experiment id, a part's title or what the assignment asks reads it
here: the CLI (``reproduce --only``), ``mlsplab reproduce`` (which runs :data:`STEPS` in order)
and the report (one section per :data:`PARTS` entry, in the assignment's order). The ids are the
constants of :mod:`mlsplab.experiments.ids`. Runners, estimates and report builders are the
functions of :mod:`mlsplab.experiments.entrypoints` (each imports its heavy module when called)
and configs are the config classes themselves (their modules import nothing heavy), so
``mlsplab --help`` stays instant and this module imports nothing heavy.

Contracts
---------
runner : ``run(options: RunOptions, **step.params) -> None``
    Writes ``<options.out>/<id>/metrics.json`` for every id of the step (measurements only:
    numbers, curves, confusion matrices, figure coordinates; no prose).
config : a dataclass with the experiment's defaults and ``from_options(options, **params)``.
report : ``part_report(part_key, results, out, fig_dir) -> PartReport``
    Builds the part's answer, evidence, settings and appendix from the results at report time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlsplab.errors import MlsplabError
from mlsplab.experiments import entrypoints as ep
from mlsplab.experiments.ids import (
    BENCH_SENTIMENT,
    Q1_COMPARISON,
    Q1_TFIDF_BASELINE,
    Q1A_EMBEDDINGS,
    Q1B_LSTM_AVG,
    Q1C_LSTM_ATTENTION,
    Q1D_TRANSFORMER,
    Q1X_ENSEMBLE,
    Q1X_NBSVM,
    Q2_TDNN,
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
    Q3X_DEEP_CNN,
    Q3X_ENSEMBLE,
    Q4_CONV_DENSE,
)
from mlsplab.experiments.q1.config import (
    BaselineConfig,
    ComparisonConfig,
    EnsembleConfig,
    NbsvmConfig,
    SentimentConfig,
)
from mlsplab.experiments.q1a.config import EmbeddingsConfig
from mlsplab.experiments.q2.config import Q2Config
from mlsplab.experiments.q3.config import CrossValidationConfig, Q3Config
from mlsplab.experiments.q3.deep_config import DeepCvConfig
from mlsplab.experiments.q4.config import Q4Config


@dataclass(frozen=True)
class Part:
    """A part of the assignment, one section of the report."""

    key: str  # "q1a", ..., "q4ii"; "q1x"/"q3x" are beyond the assignment
    title: str  # the report's heading
    asks: str  # what the assignment asks, in a line or two
    experiment_ids: tuple[str, ...]  # the results the section reads
    report: Callable[..., Any]  # part_report(part_key, results, out, fig_dir) -> PartReport
    beyond: bool = False  # not asked by the assignment


@dataclass(frozen=True)
class Step:
    """One unit of work of ``mlsplab reproduce``: a runner writing one or more results."""

    key: str  # the name --only accepts
    ids: tuple[str, ...]  # the result folders <out>/<id>/ it writes
    part: str  # the Part it belongs to (the first one when it serves several)
    title: str
    runner: Callable[..., Any]  # run(options, **params): writes <out>/<id>/metrics.json
    config: type  # the config dataclass: config.from_options(options, **params)
    params: dict[str, Any] = field(default_factory=dict)  # passed to runner and config
    estimate: Callable[..., float | None] | None = None  # (options, **params) -> seconds
    beyond: bool = False


PARTS: tuple[Part, ...] = (
    Part("q1a", "Q1(a) Word embeddings and their PCA projection",
         "100-d word2vec embeddings; PCA 100\u21922 fitted on the training words; a scatter plot "
         "of the words of 10 validation sentences; report any semantic clustering.",
         (Q1A_EMBEDDINGS,), ep.report_q1a),
    Part("q1b", "Q1(b) Two-layer LSTM with average pooling",
         "2-layer LSTM (256 cells), average pooling, one classification layer, BCE; 25 epochs, "
         "batch 32, Adam; train and validation loss curves; test accuracy.",
         (Q1B_LSTM_AVG, Q1_TFIDF_BASELINE), ep.report_q1),
    Part("q1c", "Q1(c) Two-layer LSTM with attention pooling",
         "Attention pooling instead of average pooling; same training; curves and test accuracy; "
         "compare and contrast performance and behaviour with (b).",
         (Q1C_LSTM_ATTENTION, Q1B_LSTM_AVG), ep.report_q1),
    Part("q1d", "Q1(d) One transformer encoder layer",
         "One transformer encoder layer (256 hidden dimensions), average pooling, BCE; curves and "
         "test accuracy; contrast with (b) and (c).",
         (Q1D_TRANSFORMER, Q1B_LSTM_AVG, Q1C_LSTM_ATTENTION, Q1_COMPARISON,
          Q1_TFIDF_BASELINE), ep.report_q1),
    Part("q1x", "Beyond Q1: NBSVM and ensembles of every IMDB model",
         "Not asked by the assignment: NBSVM (naive-Bayes log-count-ratio features with a "
         "linear classifier) and ensembles of the three networks and the two linear models, "
         "chosen out of fold on validation: what beats the linear baseline on this split.",
         (Q1X_ENSEMBLE, Q1X_NBSVM, Q1_TFIDF_BASELINE),
         ep.report_q1_beyond, beyond=True),
    Part("q2", "Q2 Time-delay neural network: parameters and backpropagation",
         "The number of learnable parameters of the TDNN (ReLU hidden units without bias, softmax "
         "outputs) and the backpropagation update of every parameter for the loss "
         "\u2211\u209c CE(y\u209c, z\u209c).",
         (Q2_TDNN,), ep.report_q2),
    Part("q3a", "Q3(a) ESC-10: optimizers",
         "The CNN trained with SGD, SGD with momentum 0.9, RMSprop (default parameters) and Adam: "
         "training and validation loss curves, and test accuracy of each.",
         (Q3A_SGD, Q3A_SGD_MOMENTUM, Q3A_RMSPROP, Q3A_RMSPROP_LR1E3, Q3A_ADAM),
         ep.report_q3),
    Part("q3b", "Q3(b) ESC-10: normalization",
         "No norm, LayerNorm and BatchNorm at the flattened output and at the inputs of the two "
         "fully connected layers, all with Adam: training and validation loss curves.",
         (Q3B_NONE, Q3B_LAYERNORM, Q3B_BATCHNORM), ep.report_q3),
    Part("q3c", "Q3(c) ESC-10: ensembles",
         "SGD without norm, RMSprop with LayerNorm, Adam with BatchNorm, combined by averaging "
         "their posteriors and by optimal linear weights fitted on validation; comment on the "
         "gains.",
         (Q3C_ENSEMBLE,), ep.report_q3),
    Part("q3x", "Beyond Q3: augmentation, ensembles with it, five-fold cross-validation",
         "Not asked by the assignment: data augmentation, ensembles that include augmented "
         "models, and the ESC-10 five-fold cross-validation that published results use.",
         (Q3X_AUGMENTED, Q3X_ENSEMBLE, Q3X_CV), ep.report_q3,
         beyond=True),
    Part("q3x-deep",
         "Beyond Q3 (deeper CNN): a deeper ESC-10 CNN under five-fold cross-validation",
         "Not asked by the assignment: a deeper CNN trained from scratch with augmentation, "
         "mixup and a learning-rate schedule, under the same five folds as the assignment's CNN.",
         (Q3X_DEEP_CNN, Q3X_CV), ep.report_q3_deep, beyond=True),
    Part("q4i", "Q4(i) Cost and memory: CNN layer against dense layer",
         "The computational complexity and memory of a general CNN layer against a feed-forward "
         "(dense) layer.",
         (Q4_CONV_DENSE,), ep.report_q4),
    Part("q4ii", "Q4(ii) A CNN layer as a dense layer, and a dense layer as a CNN layer",
         "Show a CNN layer as a feed-forward layer with weight sharing and sparse connections; "
         "construct a CNN layer that acts as a dense layer.",
         (Q4_CONV_DENSE,), ep.report_q4),
)

STEPS: tuple[Step, ...] = (
    Step("q1a", (Q1A_EMBEDDINGS,), "q1a", "word2vec, PCA and clustering",
         ep.run_embeddings, EmbeddingsConfig),
    Step("q1b", (Q1B_LSTM_AVG,), "q1b", "LSTM + average pooling",
         ep.run_sentiment, SentimentConfig, {"model": "lstm-avg"},
         estimate=ep.estimate_sentiment),
    Step("q1c", (Q1C_LSTM_ATTENTION,), "q1c", "LSTM + attention pooling",
         ep.run_sentiment, SentimentConfig, {"model": "lstm-attention"},
         estimate=ep.estimate_sentiment),
    Step("q1d", (Q1D_TRANSFORMER,), "q1d", "transformer encoder layer",
         ep.run_sentiment, SentimentConfig, {"model": "transformer"},
         estimate=ep.estimate_sentiment),
    Step("q1-baseline", (Q1_TFIDF_BASELINE,), "q1b", "TF-IDF + logistic regression baseline",
         ep.run_baseline, BaselineConfig),
    Step(Q1X_NBSVM, (Q1X_NBSVM,), "q1x", "NBSVM (log-count ratio + logistic regression)",
         ep.run_nbsvm, NbsvmConfig, beyond=True),
    Step(Q1_COMPARISON, (Q1_COMPARISON,), "q1d", "comparison of the IMDB models",
         ep.run_q1_comparison, ComparisonConfig),
    Step(Q1X_ENSEMBLE, (Q1X_ENSEMBLE,), "q1x", "ensembles of the IMDB models",
         ep.run_q1_ensemble, EnsembleConfig, beyond=True),
    Step("q2", (Q2_TDNN,), "q2", "TDNN parameters and backpropagation",
         ep.run_tdnn, Q2Config),
    Step("q3", (Q3A_SGD, Q3A_SGD_MOMENTUM, Q3A_RMSPROP, Q3A_RMSPROP_LR1E3, Q3A_ADAM,
                Q3B_NONE, Q3B_LAYERNORM, Q3B_BATCHNORM, Q3C_ENSEMBLE, Q3X_AUGMENTED,
                Q3X_ENSEMBLE),
         "q3a", "ESC-10 optimizers, norms, ensembles (and beyond)",
         ep.run_esc10, Q3Config),
    Step(Q3X_CV, (Q3X_CV,), "q3x", "ESC-10 five-fold cross-validation",
         ep.run_esc10_cv, CrossValidationConfig, beyond=True),
    Step(Q3X_DEEP_CNN, (Q3X_DEEP_CNN,), "q3x-deep", "ESC-10 deeper CNN, five folds",
         ep.run_esc10_deep_cv, DeepCvConfig, beyond=True),
    Step("q4", (Q4_CONV_DENSE,), "q4i", "conv vs dense",
         ep.run_conv_dense, Q4Config),
)

# results written by commands other than reproduce that a step or the report reads (see ids.py)
AUXILIARY_IDS: tuple[str, ...] = (BENCH_SENTIMENT, Q3_PILOT)

# --only also accepts these names; each selects the step(s) producing them
ALIASES: dict[str, tuple[str, ...]] = {
    "q1": ("q1a", "q1b", "q1c", "q1d", "q1-baseline", Q1_COMPARISON),
    "q1x": (Q1X_NBSVM, Q1X_ENSEMBLE),
    "q3a": ("q3",), "q3b": ("q3",), "q3c": ("q3",), "q3x": ("q3", Q3X_CV),
}


def all_ids() -> tuple[str, ...]:
    """Every experiment id, in report order."""
    seen: dict[str, None] = {}
    for part in PARTS:
        seen.update(dict.fromkeys(part.experiment_ids))
    for step in STEPS:
        seen.update(dict.fromkeys(step.ids))
    return tuple(seen)


def part(key: str) -> Part:
    for p in PARTS:
        if p.key == key:
            return p
    raise KeyError(key)


def step(key: str) -> Step:
    for s in STEPS:
        if s.key == key:
            return s
    raise KeyError(key)


def step_of(experiment_id: str) -> Step:
    """The step that writes ``experiment_id``."""
    for s in STEPS:
        if experiment_id in s.ids:
            return s
    raise KeyError(experiment_id)


def select_steps(only: str | None) -> list[Step]:
    """The steps named by ``--only``: step keys, part keys, aliases or experiment ids."""
    if not only:
        return list(STEPS)
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    chosen: set[str] = set()
    unknown = []
    for name in wanted:
        keys = (ALIASES.get(name)
                or tuple(s.key for s in STEPS if name == s.key or name in s.ids)
                or tuple(s.key for p in PARTS if p.key == name  # a part: its first result
                         for s in STEPS if p.experiment_ids[0] in s.ids))
        if not keys:
            unknown.append(name)
        chosen.update(keys)
    if unknown:
        names = ", ".join(s.key for s in STEPS)
        raise MlsplabError(f"--only: unknown experiment(s) {unknown}; expected any of: {names} "
                           f"(or {', '.join(ALIASES)}, or ids such as q1b-lstm-avg)")
    return [s for s in STEPS if s.key in chosen]
