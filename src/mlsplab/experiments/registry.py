"""The one list of the assignment's parts and of the experiments that answer them.

Everything that needs an experiment id, a part's title or what the assignment asks reads it
here: the CLI (``reproduce --only``), ``mlsplab reproduce`` (which runs :data:`STEPS` in order)
and the report (one section per :data:`PARTS` entry, in the assignment's order). Runners,
configs and report builders are named by import path (``"module:attribute"``) and imported only
when used, so ``mlsplab --help`` stays instant and this module imports nothing heavy.

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

import importlib
from dataclasses import dataclass, field
from typing import Any

from mlsplab.errors import MlsplabError


@dataclass(frozen=True)
class Part:
    """A part of the assignment, one section of the report."""

    key: str  # "q1a", ..., "q4ii"; "q1x"/"q3x" are beyond the assignment
    title: str  # the report's heading
    asks: str  # what the assignment asks, in a line or two
    experiment_ids: tuple[str, ...]  # the results the section reads
    report: str  # "module:function" building its PartReport
    beyond: bool = False  # not asked by the assignment


@dataclass(frozen=True)
class Step:
    """One unit of work of ``mlsplab reproduce``: a runner writing one or more results."""

    key: str  # the name --only accepts
    ids: tuple[str, ...]  # the result folders <out>/<id>/ it writes
    part: str  # the Part it belongs to (the first one when it serves several)
    title: str
    runner: str  # "module:function"
    config: str  # "module:Dataclass" with the defaults
    params: dict[str, Any] = field(default_factory=dict)  # passed to runner and config
    estimate: str | None = None  # "module:function(options, **params) -> seconds | None"
    beyond: bool = False


Q1 = "mlsplab.experiments.q1"
Q3 = "mlsplab.experiments.q3"

PARTS: tuple[Part, ...] = (
    Part("q1a", "Q1(a) Word embeddings and their PCA projection",
         "100-d word2vec embeddings; PCA 100\u21922 fitted on the training words; a scatter plot "
         "of the words of 10 validation sentences; report any semantic clustering.",
         ("q1a-embeddings",), "mlsplab.experiments.q1a.summary:part_report"),
    Part("q1b", "Q1(b) Two-layer LSTM with average pooling",
         "2-layer LSTM (256 cells), average pooling, one classification layer, BCE; 25 epochs, "
         "batch 32, Adam; train and validation loss curves; test accuracy.",
         ("q1b-lstm-avg", "q1-tfidf-baseline"), f"{Q1}.summary:part_report"),
    Part("q1c", "Q1(c) Two-layer LSTM with attention pooling",
         "Attention pooling instead of average pooling; same training; curves and test accuracy; "
         "compare and contrast performance and behaviour with (b).",
         ("q1c-lstm-attention", "q1b-lstm-avg"), f"{Q1}.summary:part_report"),
    Part("q1d", "Q1(d) One transformer encoder layer",
         "One transformer encoder layer (256 hidden dimensions), average pooling, BCE; curves and "
         "test accuracy; contrast with (b) and (c).",
         ("q1d-transformer", "q1b-lstm-avg", "q1c-lstm-attention", "q1-comparison",
          "q1-tfidf-baseline"), f"{Q1}.summary:part_report"),
    Part("q1x", "Beyond Q1: NBSVM and ensembles of every IMDB model",
         "Not asked by the assignment: NBSVM (naive-Bayes log-count-ratio features with a "
         "linear classifier) and ensembles of the three networks and the two linear models, "
         "chosen out of fold on validation: what beats the linear baseline on this split.",
         ("q1x-ensemble", "q1x-nbsvm", "q1-tfidf-baseline"),
         f"{Q1}.summary_beyond:part_report", beyond=True),
    Part("q2", "Q2 Time-delay neural network: parameters and backpropagation",
         "The number of learnable parameters of the TDNN (ReLU hidden units without bias, softmax "
         "outputs) and the backpropagation update of every parameter for the loss "
         "\u2211\u209c CE(y\u209c, z\u209c).",
         ("q2-tdnn",), "mlsplab.experiments.q2.summary:part_report"),
    Part("q3a", "Q3(a) ESC-10: optimizers",
         "The CNN trained with SGD, SGD with momentum 0.9, RMSprop (default parameters) and Adam: "
         "training and validation loss curves, and test accuracy of each.",
         ("q3a-sgd", "q3a-sgd-momentum", "q3a-rmsprop", "q3a-rmsprop-lr1e-3", "q3a-adam"),
         f"{Q3}.summary:part_report"),
    Part("q3b", "Q3(b) ESC-10: normalization",
         "No norm, LayerNorm and BatchNorm at the flattened output and at the inputs of the two "
         "fully connected layers, all with Adam: training and validation loss curves.",
         ("q3b-none", "q3b-layernorm", "q3b-batchnorm"), f"{Q3}.summary:part_report"),
    Part("q3c", "Q3(c) ESC-10: ensembles",
         "SGD without norm, RMSprop with LayerNorm, Adam with BatchNorm, combined by averaging "
         "their posteriors and by optimal linear weights fitted on validation; comment on the "
         "gains.",
         ("q3c-ensemble",), f"{Q3}.summary:part_report"),
    Part("q3x", "Beyond Q3: augmentation, ensembles with it, five-fold cross-validation",
         "Not asked by the assignment: data augmentation, ensembles that include augmented "
         "models, and the ESC-10 five-fold cross-validation that published results use.",
         ("q3x-augmented", "q3x-ensemble", "q3x-cv"), f"{Q3}.summary:part_report",
         beyond=True),
    Part("q3x-deep",
         "Beyond Q3 (deeper CNN): a deeper ESC-10 CNN under five-fold cross-validation",
         "Not asked by the assignment: a deeper CNN trained from scratch with augmentation, "
         "mixup and a learning-rate schedule, under the same five folds as the assignment's CNN.",
         ("q3x-deep-cnn", "q3x-cv"), f"{Q3}.deep_summary:part_report", beyond=True),
    Part("q4i", "Q4(i) Cost and memory: CNN layer against dense layer",
         "The computational complexity and memory of a general CNN layer against a feed-forward "
         "(dense) layer.",
         ("q4-conv-dense",), "mlsplab.experiments.q4.summary:part_report"),
    Part("q4ii", "Q4(ii) A CNN layer as a dense layer, and a dense layer as a CNN layer",
         "Show a CNN layer as a feed-forward layer with weight sharing and sparse connections; "
         "construct a CNN layer that acts as a dense layer.",
         ("q4-conv-dense",), "mlsplab.experiments.q4.summary:part_report"),
)

STEPS: tuple[Step, ...] = (
    Step("q1a", ("q1a-embeddings",), "q1a", "word2vec, PCA and clustering",
         "mlsplab.experiments.q1a.run:run", "mlsplab.experiments.q1a.config:EmbeddingsConfig"),
    Step("q1b", ("q1b-lstm-avg",), "q1b", "LSTM + average pooling",
         f"{Q1}.train:run", f"{Q1}.config:SentimentConfig", {"model": "lstm-avg"},
         estimate=f"{Q1}.estimate:estimate_seconds"),
    Step("q1c", ("q1c-lstm-attention",), "q1c", "LSTM + attention pooling",
         f"{Q1}.train:run", f"{Q1}.config:SentimentConfig", {"model": "lstm-attention"},
         estimate=f"{Q1}.estimate:estimate_seconds"),
    Step("q1d", ("q1d-transformer",), "q1d", "transformer encoder layer",
         f"{Q1}.train:run", f"{Q1}.config:SentimentConfig", {"model": "transformer"},
         estimate=f"{Q1}.estimate:estimate_seconds"),
    Step("q1-baseline", ("q1-tfidf-baseline",), "q1b", "TF-IDF + logistic regression baseline",
         f"{Q1}.baseline:run", f"{Q1}.config:BaselineConfig"),
    Step("q1x-nbsvm", ("q1x-nbsvm",), "q1x", "NBSVM (log-count ratio + logistic regression)",
         f"{Q1}.nbsvm:run", f"{Q1}.config:NbsvmConfig", beyond=True),
    Step("q1-comparison", ("q1-comparison",), "q1d", "comparison of the IMDB models",
         f"{Q1}.compare:run", f"{Q1}.config:ComparisonConfig"),
    Step("q1x-ensemble", ("q1x-ensemble",), "q1x", "ensembles of the IMDB models",
         f"{Q1}.ensemble:run", f"{Q1}.config:EnsembleConfig", beyond=True),
    Step("q2", ("q2-tdnn",), "q2", "TDNN parameters and backpropagation",
         "mlsplab.experiments.q2.run:run", "mlsplab.experiments.q2.config:Q2Config"),
    Step("q3", ("q3a-sgd", "q3a-sgd-momentum", "q3a-rmsprop", "q3a-rmsprop-lr1e-3", "q3a-adam",
                "q3b-none", "q3b-layernorm", "q3b-batchnorm", "q3c-ensemble", "q3x-augmented",
                "q3x-ensemble"),
         "q3a", "ESC-10 optimizers, norms, ensembles (and beyond)",
         f"{Q3}.run:run", f"{Q3}.config:Q3Config"),
    Step("q3x-cv", ("q3x-cv",), "q3x", "ESC-10 five-fold cross-validation",
         f"{Q3}.cv:run", f"{Q3}.config:CrossValidationConfig", beyond=True),
    Step("q3x-deep-cnn", ("q3x-deep-cnn",), "q3x-deep", "ESC-10 deeper CNN, five folds",
         f"{Q3}.deep_cv:run", f"{Q3}.deep_config:DeepCvConfig", beyond=True),
    Step("q4", ("q4-conv-dense",), "q4i", "conv vs dense",
         "mlsplab.experiments.q4.run:run", "mlsplab.experiments.q4.config:Q4Config"),
)

# results written by commands other than reproduce that a step or the report reads: `mlsplab
# bench sentiment` times the three IMDB models under the same conditions (q1-comparison copies
# its numbers); `mlsplab esc10 --pilot` records the curves behind Q3's epoch horizon
BENCH_ID = "bench-sentiment"
PILOT_ID = "q3-pilot"
AUXILIARY_IDS: tuple[str, ...] = (BENCH_ID, PILOT_ID)

# --only also accepts these names; each selects the step(s) producing them
ALIASES: dict[str, tuple[str, ...]] = {
    "q1": ("q1a", "q1b", "q1c", "q1d", "q1-baseline", "q1-comparison"),
    "q1x": ("q1x-nbsvm", "q1x-ensemble"),
    "q3a": ("q3",), "q3b": ("q3",), "q3c": ("q3",), "q3x": ("q3", "q3x-cv"),
}


def resolve(path: str) -> Any:
    """The object named by ``"module:attribute"``."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


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
