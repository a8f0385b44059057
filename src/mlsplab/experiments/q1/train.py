"""The runner of steps q1b, q1c and q1d: one sentiment model, ``options.imdb_seeds`` seeds.

Each seed is one independent training: a :class:`~mlsplab.training.TrainingJob` with a
:class:`SentimentRecipe`, run by :func:`~mlsplab.training.run_job` through
``options.executor``: its own split, word vectors, initialisation and batch order, its own
checkpoint under ``<out>/<id>/seed-<s>/`` (resume after a kill, best-validation weights) and
its own ``result.json`` there, so a finished seed is reused when another is resumed. The runner
then writes ``<out>/<id>/metrics.json``: each seed's measurements and the mean and standard
deviation of the test accuracy (``test_accuracy`` is the mean). The first seed also writes
``<out>/<id>/model.pt`` (best weights, config and vocabulary) for ``mlsplab predict``. Each
seed records its validation and test posteriors (:mod:`.posteriors`); a finished result
without them (an older run) is trained again so that ensembles can read them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.special import expit
from torch import nn

from mlsplab.data.batching import bucket_batches, collate
from mlsplab.data.files import IMDB_ZIP, locate, provenance
from mlsplab.errors import MlsplabError
from mlsplab.executors import SerialExecutor, Task
from mlsplab.experiments.common import experiment_dir, finished_metrics, write_metrics
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1 import evaluate as ev
from mlsplab.experiments.q1 import posteriors
from mlsplab.experiments.q1.aggregate import aggregate
from mlsplab.experiments.q1.config import (
    ATTENTION_EXAMPLE_WORDS,
    ATTENTION_EXAMPLES,
    ATTENTION_MIN_COUNT,
    ATTENTION_POSITION_BINS,
    ATTENTION_TOP_FRACTION,
    ATTENTION_TOP_WORDS,
    EMBED_DIM,
    LENGTH_BUCKETS,
    SENTIMENT_KIND,
    SentimentConfig,
)
from mlsplab.experiments.q1.data import SentimentData, load_data
from mlsplab.features.word_vectors import word2vec_params
from mlsplab.io import read_json
from mlsplab.models.lstm_classifier import LSTMClassifier, LSTMConfig
from mlsplab.models.transformer_classifier import TransformerClassifier, TransformerConfig
from mlsplab.runtime import Precision, decide_precision, select_device
from mlsplab.training import Context, Recipe, Steps, TrainConfig, TrainingJob, run_job

log = logging.getLogger(__name__)


def run(options: RunOptions, *, model: str, lr: float | None = None,
        dropout: float | None = None, progress: bool = True) -> dict[str, Any]:
    """Train (or resume, or skip if finished) one Q1 model for every seed; write its metrics.

    Parameters
    ----------
    options : RunOptions
        ``seed`` is the first seed and ``imdb_seeds`` their number; ``quick``, ``epochs``,
        ``max_tokens``, ``device``, ``precision``, ``pretrained``, ``deadline``, ``executor``.
    model : {"lstm-avg", "lstm-attention", "transformer"}
    lr, dropout : float, optional
        Overrides of the model's Adam step size and main dropout rate (validation sweeps);
        they are part of the config, so they key resume and skip.

    Returns
    -------
    dict
        The metrics document as written to ``<out>/<id>/metrics.json``.
    """
    cfg = SentimentConfig.from_options(options, model=model, lr=lr, dropout=dropout)
    out = Path(options.out)
    exp_dir = experiment_dir(out, cfg.experiment_id)
    device = select_device(cfg.device)
    # decided once per run (reproduce decides before its first step; cached per machine)
    precision = decide_precision(options)
    data_sha = provenance(locate(IMDB_ZIP, cfg.data_dir))["sha256"]
    # the resolved device type and precision change the numbers, so they key resume and skip;
    # so do the word2vec settings (a checkpoint of other vectors must not be resumed)
    run_keys = {"device": device.type, "precision": precision.name, "data_sha256": data_sha,
                "word2vec": None if cfg.pretrained else asdict(word2vec_params(quick=cfg.quick))}
    config = {**cfg.identity(cfg.seed), "seeds": cfg.seed_list, **run_keys}
    done = finished_metrics(exp_dir, config)
    if done is not None and all(map(posteriors.has_posteriors, done.get("per_seed", [{}]))):
        return done
    if done is not None:  # a result from before posteriors were recorded: train it again
        log.info("%s has no posteriors (an older run); retraining to record them",
                 cfg.experiment_id)
    jobs = [sentiment_job(cfg, s, out, {**cfg.identity(s), **run_keys}, device, precision,
                          deadline=options.deadline, progress=progress,
                          keep_checkpoint_precision=options.precision == "auto")
            for s in cfg.seed_list]
    tasks = [Task(j.name, run_job, {"job": j}, cpus=torch.get_num_threads(),
                  gpus=1.0 if device.type == "cuda" else 0.0) for j in jobs]
    t0 = time.perf_counter()
    results = (options.executor or SerialExecutor()).map(tasks)
    metrics = aggregate(cfg, results)
    metrics["wall_seconds_this_call"] = time.perf_counter() - t0
    write_metrics(exp_dir, cfg.experiment_id, config, metrics)
    return read_json(exp_dir / "metrics.json")


def seed_dir(out: str | Path, experiment_id: str, seed: int) -> Path:
    """``<out>/<id>/seed-<seed>/``: one seed's checkpoint and result."""
    return Path(out) / experiment_id / f"seed-{seed}"


def sentiment_job(cfg: SentimentConfig, seed: int, out: Path, identity: dict[str, Any],
                  device: torch.device, precision: Precision, *, deadline: float | None = None,
                  progress: bool = True, keep_checkpoint_precision: bool = False
                  ) -> TrainingJob:
    """The training of ``cfg``'s model with ``seed``; the first seed keeps ``model.pt``.
    ``keep_checkpoint_precision``: ``--precision auto``, so a resumed run keeps its own."""
    return TrainingJob(
        name=f"{cfg.experiment_id} seed {seed}",
        run_dir=str(seed_dir(out, cfg.experiment_id, seed)), identity=identity, seed=seed,
        train=TrainConfig(epochs=cfg.epochs, optimizer=cfg.optimizer, lr=cfg.lr,
                          grad_clip=cfg.grad_clip),
        device=str(device), precision=precision,
        recipe=SentimentRecipe(cfg, str(out)),
        model_path=str(out / cfg.experiment_id / "model.pt") if seed == cfg.seed else None,
        deadline=deadline, progress=progress,
        keep_checkpoint_precision=keep_checkpoint_precision)


@dataclass(frozen=True)
class SentimentRecipe(Recipe):
    """One IMDB model: its seeded split and word vectors, the network, the bucketed batches
    and the test-time measurements (accuracy, by length, without training twins, attention,
    posteriors)."""

    config: SentimentConfig
    out: str  # the results folder (word vectors are cached under it)
    kind: str = SENTIMENT_KIND

    def load_data(self, ctx: Context) -> SentimentData:
        cfg = self.config
        return load_data(out=Path(self.out), data_dir=cfg.data_dir, seed=ctx.job.seed,
                         subset=cfg.subset, max_tokens=cfg.max_tokens,
                         train_eval_reviews=cfg.train_eval_reviews, quick=cfg.quick,
                         pretrained=cfg.pretrained)

    def build_model(self, ctx: Context) -> torch.nn.Module:
        vectors = torch.from_numpy(ctx.data.vocab.vectors)
        return build_model(self.config.model, self.config.model_config, vectors, ctx.device)

    def steps(self, ctx: Context, model: torch.nn.Module) -> Steps:
        data, device, prec = ctx.data, ctx.device, ctx.precision
        train_lengths = np.array([len(r) for r in data.ids["train"]])

        def train_batches(epoch: int) -> list[np.ndarray]:
            return bucket_batches(train_lengths, self.config.batch_size, seed=ctx.job.seed,
                                  epoch=epoch)

        def train_step(m: torch.nn.Module, rows: np.ndarray) -> tuple[torch.Tensor, int]:
            batch = collate(data.ids["train"], data.labels["train"], rows)
            losses, _, _ = ev.forward_losses(m, batch, device, prec)
            return losses.sum(), len(rows)

        return Steps(train_batches, train_step, ev.epoch_evaluator(data, device, prec))

    def measure(self, ctx: Context, model: torch.nn.Module, weights: str) -> dict[str, Any]:
        """The test set, read once with the best-validation weights (and once with the last
        epoch's): accuracy on all reviews (the headline) and on those without a twin in
        training, by length bucket, attention statistics, posteriors."""
        data = ctx.data
        if weights == "last":
            last = ev.evaluate(model, data.ids["test"], data.labels["test"], ctx.device,
                               ctx.precision)
            return {"test_accuracy_last": last["accuracy"], "test_loss_last": last["loss"]}
        return _test_measurements(self.config, model, data, ctx.device, ctx.precision)

    def record(self, ctx: Context, model: torch.nn.Module, result: Any) -> dict[str, Any]:
        doc = {"lstm_input": lstm_input(model), **_data_facts(ctx.data)}
        if result.history:
            doc.update(_speed(result.history, ctx.data))
        return doc

    def model_file(self, ctx: Context) -> dict[str, Any]:
        """Config and vocabulary: what ``mlsplab predict`` needs beside the weights."""
        cfg = self.config
        return {"model": cfg.model, "experiment": cfg.experiment_id,
                "model_config": cfg.model_config, "max_tokens": cfg.max_tokens,
                "words": list(ctx.data.vocab.words),
                "vectors": torch.from_numpy(ctx.data.vocab.vectors)}

    def reusable(self, result: dict[str, Any]) -> bool:
        return posteriors.has_posteriors(result)


def build_model(model_name: str, model_config: dict[str, Any], embeddings: torch.Tensor,
                device: torch.device | None = None) -> nn.Module:
    """The classifier ``model_name`` with sizes ``model_config`` over frozen ``embeddings``.

    Parameters
    ----------
    model_name : {"lstm-avg", "lstm-attention", "transformer"}
    model_config : dict
        From :func:`mlsplab.experiments.q1.config.model_sizes`.
    embeddings : Tensor of shape (vocab_size, 100)
    device : torch.device, default=CPU
        LSTMs use a PackedSequence on CUDA (cuDNN) and the dense LSTM + masking on the CPU
        (oneDNN); both give the same outputs (docs/sentiment.md).

    Raises
    ------
    MlsplabError
        If the word vectors are not 100-d.
    """
    if embeddings.ndim != 2 or embeddings.shape[1] != EMBED_DIM:
        raise MlsplabError(f"embeddings of shape {tuple(embeddings.shape)}; expected "
                           f"(vocab_size, {EMBED_DIM}): use {EMBED_DIM}-d word vectors")
    device = device or torch.device("cpu")
    if model_name == "transformer":
        model: nn.Module = TransformerClassifier(TransformerConfig(**model_config), embeddings)
    else:
        config = LSTMConfig(**model_config)
        config.packed = device.type == "cuda"
        model = LSTMClassifier(config, embeddings)
    return model.to(device)


def lstm_input(model: nn.Module) -> str | None:
    """How the LSTM reads its batch (an implementation choice with identical outputs)."""
    if not isinstance(model, LSTMClassifier):
        return None
    return "packed sequences" if model.config.packed else "dense + masking"


def _data_facts(data: SentimentData) -> dict[str, Any]:
    return {"data": data.provenance, "sizes": {k: len(v) for k, v in data.ids.items()},
            "lengths": data.lengths, "unknown_token_rate": data.unknown_rate,
            "vocab_size": len(data.vocab), "duplicate_audit": data.duplicate_audit,
            "train_eval_reviews": len(data.train_eval_rows),
            "word_vectors": {k: data.vectors.get(k) for k in
                             ("source", "vocab_size", "corpus_tokens", "cache_path",
                              "warnings")}}


def _test_measurements(cfg: SentimentConfig, model: torch.nn.Module, data: SentimentData,
                       device: torch.device, prec: Precision) -> dict[str, Any]:
    """The best weights on the test set (and validation posteriors, for ensembles)."""
    test_ids, test_labels = data.ids["test"], data.labels["test"]
    attention = cfg.model == "lstm-attention"
    p = ev.predict(model, test_ids, test_labels, device, prec, attention=attention)
    pv = ev.predict(model, data.ids["val"], data.labels["val"], device, prec)  # for ensembles
    twin = data.train_twin["test"]
    edges = ev.length_edges(data.full_lengths["test"], LENGTH_BUCKETS)
    doc: dict[str, Any] = {
        "test_accuracy": p.accuracy, "test_loss": p.mean_loss,
        # the last epoch's, measured before the best weights were loaded; None while the
        # run is stopped inside an epoch (training.run_job)
        "test_accuracy_last": None, "test_loss_last": None,
        "test_accuracy_no_train_twin": ev.accuracy_where(p.correct, ~twin),
        "test_accuracy_train_twin": ev.accuracy_where(p.correct, twin),
        "n_test_no_train_twin": int((~twin).sum()),
        "test_correct": "".join("1" if c else "0" for c in p.correct),  # per test row, in order
        "length_buckets": ev.length_buckets(data.full_lengths["test"], p.correct,
                                            cfg.max_tokens, edges),
        **posteriors.record({"val": expit(pv.logit), "test": expit(p.logit)},  # P(positive)
                            {"val": data.labels["val"], "test": test_labels}),
    }
    if attention:
        assert p.attention is not None
        doc["attention"] = ev.attention_statistics(
            p.attention, test_ids, data.vocab.words,
            min_count=3 if cfg.quick else ATTENTION_MIN_COUNT,
            top_fraction=ATTENTION_TOP_FRACTION, bins=ATTENTION_POSITION_BINS,
            top_k=ATTENTION_TOP_WORDS)
        doc["attention_examples"] = ev.attention_examples(
            model, data, device, n_examples=ATTENTION_EXAMPLES,
            word_range=ATTENTION_EXAMPLE_WORDS)
    return doc


def _speed(history: list[dict[str, Any]], data: SentimentData) -> dict[str, Any]:
    """Seconds per epoch (training steps only), tokens per second, and the cost of the
    end-of-epoch passes (validation; eval-mode training loss on its subset)."""
    train_tokens = sum(len(r) for r in data.ids["train"])
    seconds = sum(h["seconds"] for h in history)

    def mean_of(key: str) -> float | None:
        vals = [h[key] for h in history if h.get(key) is not None]
        return float(np.mean(vals)) if vals else None

    return {"seconds_per_epoch": seconds / len(history),
            "tokens_per_second": train_tokens * len(history) / max(seconds, 1e-9),
            "val_seconds_per_epoch": mean_of("val_seconds"),
            "train_eval_seconds_per_epoch": mean_of("train_eval_seconds")}
