"""The runner of steps q1b, q1c and q1d: one sentiment model, ``options.imdb_seeds`` seeds.

Each seed is one independent training (:func:`train_seed`, a :class:`~mlsplab.executors.Task`
run by ``options.executor``): its own split, word vectors, initialisation and batch order, its
own checkpoint under ``<out>/<id>/seed-<s>/`` (resume after a kill, best-validation weights)
and its own ``result.json`` there, so a finished seed is skipped when another is resumed. The
runner then writes ``<out>/<id>/metrics.json``: each seed's measurements and the mean and
standard deviation of the test accuracy (``test_accuracy`` is the mean). The first seed also
writes ``<out>/<id>/model.pt`` (best weights, config and vocabulary) for ``mlsplab predict``.
Each seed records its validation and test posteriors (:mod:`.posteriors`); a finished result
without them (an older run) is trained again so that ensembles can read them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.special import expit

from mlsplab.data.batching import bucket_batches, collate
from mlsplab.data.files import IMDB_ZIP, locate, provenance
from mlsplab.executors import SerialExecutor, Task, where
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
    LENGTH_BUCKETS,
    MODEL_FILE_FORMAT,
    SentimentConfig,
)
from mlsplab.experiments.q1.data import SentimentData, load_data
from mlsplab.experiments.q1.model import build_model, lstm_input, n_parameters
from mlsplab.features.word_vectors import word2vec_params
from mlsplab.io import atomic_write_json, config_hash, read_json
from mlsplab.runtime import Precision, cpu_name, resolve_precision, select_device
from mlsplab.seeding import set_seed
from mlsplab.training import TrainConfig, fit, load_checkpoint, remove_checkpoint, save_torch

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
    # one decision per machine (cached), so every IMDB model of a run uses the same precision
    precision = resolve_precision(cfg.precision_requested, device)
    data_sha = provenance(locate(IMDB_ZIP, cfg.data_dir))["sha256"]
    # the resolved device type and precision change the numbers, so they key resume and skip;
    # so do the word2vec settings (a checkpoint of other vectors must not be resumed)
    run_keys = {"device": device.type, "precision": precision.name, "data_sha256": data_sha,
                "word2vec": None if cfg.pretrained else asdict(word2vec_params(quick=cfg.quick))}
    identities = {s: {**cfg.identity(s), **run_keys} for s in cfg.seed_list}
    config = {**cfg.identity(cfg.seed), "seeds": cfg.seed_list, **run_keys}
    done = finished_metrics(exp_dir, config)
    if done is not None and all(map(posteriors.has_posteriors, done.get("per_seed", [{}]))):
        return done
    if done is not None:  # a result from before posteriors were recorded: train it again
        log.info("%s has no posteriors (an older run); retraining to record them",
                 cfg.experiment_id)
    tasks = [Task(f"{cfg.experiment_id} seed {s}", train_seed, {
        "config": asdict(cfg), "identity": identities[s], "seed": s, "out": str(out),
        "precision": {"name": precision.name, "reason": precision.reason,
                      "evidence": precision.evidence},
        "deadline": options.deadline, "progress": progress, "save_model": s == cfg.seed},
        cpus=torch.get_num_threads(), gpus=1.0 if device.type == "cuda" else 0.0)
        for s in cfg.seed_list]
    t0 = time.perf_counter()
    results = (options.executor or SerialExecutor()).map(tasks)
    metrics = aggregate(cfg, results)
    metrics["wall_seconds_this_call"] = time.perf_counter() - t0
    write_metrics(exp_dir, cfg.experiment_id, config, metrics)
    return read_json(exp_dir / "metrics.json")


def seed_dir(out: str | Path, experiment_id: str, seed: int) -> Path:
    """``<out>/<id>/seed-<seed>/``: one seed's checkpoint and result."""
    return Path(out) / experiment_id / f"seed-{seed}"


def _kept_precision(ckpt_path: Path, requested: str, resolved: Precision) -> Precision:
    """The precision an interrupted run was trained in, when ``auto`` resumes it.

    A resumed run keeps its precision so that it ends with the numbers of an uninterrupted
    one (a checkpoint from before the cached decision may hold another); an explicit
    ``fp32``/``bf16`` that differs is refused by the trainer ("different configuration").
    """
    if requested != "auto" or not ckpt_path.exists():
        return resolved
    name = load_checkpoint(ckpt_path)["identity"]["run"].get("precision")
    if not name or name == resolved.name:
        return resolved
    return Precision(name, "kept from the interrupted run's checkpoint",
                     {"source": f"checkpoint {ckpt_path}"})


def train_seed(*, config: dict[str, Any], identity: dict[str, Any], seed: int, out: str,
               precision: dict[str, Any], deadline: float | None = None,
               progress: bool = True, save_model: bool = False) -> dict[str, Any]:
    """One seed's training and test-time measurements (a Task: picklable arguments).

    Skips a seed whose ``result.json`` holds a finished run of this identity; otherwise trains
    (resuming from its checkpoint), evaluates the best-validation weights on the test set once,
    and writes ``result.json``. Returns that result.
    """
    cfg = SentimentConfig(**config)
    sdir = seed_dir(out, cfg.experiment_id, seed)
    sdir.mkdir(parents=True, exist_ok=True)
    result_path = sdir / "result.json"
    if result_path.exists():
        old = read_json(result_path)
        if (old.get("identity_hash") == config_hash(identity) and old.get("complete")
                and posteriors.has_posteriors(old)):
            log.info("%s seed %d: finished; skipping", cfg.experiment_id, seed)
            remove_checkpoint(sdir / "checkpoint.pt")  # a kill may have come between writes
            return old
    device = select_device(cfg.device)
    ckpt_path = sdir / "checkpoint.pt"
    prec = _kept_precision(ckpt_path, cfg.precision_requested, Precision(**precision))
    identity = {**identity, "precision": prec.name}
    set_seed(seed)  # the one place this training is seeded (split, vectors, init, dropout)
    data = load_data(out=Path(out), data_dir=cfg.data_dir, seed=seed, subset=cfg.subset,
                     max_tokens=cfg.max_tokens, train_eval_reviews=cfg.train_eval_reviews,
                     quick=cfg.quick, pretrained=cfg.pretrained)
    set_seed(seed)
    model = build_model(cfg.model, cfg.model_config, torch.from_numpy(data.vocab.vectors), device)
    log.info("%s seed %d: %d parameters on %s, precision %s (%s)", cfg.experiment_id, seed,
             n_parameters(model), device, prec.name, prec.reason)
    train_lengths = np.array([len(r) for r in data.ids["train"]])

    def train_batches(epoch: int) -> list[np.ndarray]:
        return bucket_batches(train_lengths, cfg.batch_size, seed=seed, epoch=epoch)

    def train_step(m: torch.nn.Module, rows: np.ndarray) -> tuple[torch.Tensor, int]:
        batch = collate(data.ids["train"], data.labels["train"], rows)
        losses, _, _ = ev.forward_losses(m, batch, device, prec)
        return losses.sum(), len(rows)

    t0 = time.perf_counter()
    result = fit(model, config=TrainConfig(epochs=cfg.epochs, optimizer=cfg.optimizer,
                                           lr=cfg.lr, grad_clip=cfg.grad_clip),
                 train_batches=train_batches, train_step=train_step,
                 evaluate=ev.epoch_evaluator(data, device, prec), checkpoint_path=ckpt_path,
                 run_config=identity, seed=seed, progress=progress,
                 desc=f"{cfg.experiment_id} seed {seed}", deadline=deadline)
    out_doc = {"seed": seed, "identity_hash": config_hash(identity), "where": where(),
               "complete": result.finished, "epochs_planned": cfg.epochs,
               "epochs_completed": len(result.history), "history": result.history,
               "best_epoch": result.best_epoch or None, "n_parameters": n_parameters(model),
               "device": str(device), "cpu": cpu_name(), "threads": torch.get_num_threads(),
               "precision": prec.name, "precision_reason": prec.reason,
               "precision_decision": prec.evidence, "lstm_input": lstm_input(model),
               **_data_facts(data)}
    if result.history:
        out_doc.update(_test_measurements(cfg, model, result, data, device, prec))
        out_doc.update(_speed(result.history, data))
        if save_model:
            _save_model(Path(out) / cfg.experiment_id / "model.pt", cfg, seed, model, data)
    out_doc["train_wall_seconds_this_call"] = time.perf_counter() - t0
    atomic_write_json(result_path, out_doc)
    if result.finished:  # results (and model.pt) are on disk: the resume state is not needed
        remove_checkpoint(ckpt_path)
    return out_doc


def _data_facts(data: SentimentData) -> dict[str, Any]:
    return {"data": data.provenance, "sizes": {k: len(v) for k, v in data.ids.items()},
            "lengths": data.lengths, "unknown_token_rate": data.unknown_rate,
            "vocab_size": len(data.vocab), "duplicate_audit": data.duplicate_audit,
            "train_eval_reviews": len(data.train_eval_rows),
            "word_vectors": {k: data.vectors.get(k) for k in
                             ("source", "vocab_size", "corpus_tokens", "cache_path",
                              "warnings")}}


def _test_measurements(cfg: SentimentConfig, model: torch.nn.Module, result: Any,
                       data: SentimentData, device: torch.device,
                       prec: Precision) -> dict[str, Any]:
    """The test set, read once with the best-validation weights (and once with the last
    epoch's, when the run finished): accuracy on all reviews (the headline) and on those
    without a twin in training, by length bucket, and attention statistics."""
    test_ids, test_labels = data.ids["test"], data.labels["test"]
    # "last" is the last finished epoch; a run stopped at its deadline holds weights from
    # inside an unfinished epoch, so it has no last-epoch test number yet
    last = ev.evaluate(model, test_ids, test_labels, device, prec) if result.finished else {}
    model.load_state_dict(result.best_state)
    attention = cfg.model == "lstm-attention"
    p = ev.predict(model, test_ids, test_labels, device, prec, attention=attention)
    pv = ev.predict(model, data.ids["val"], data.labels["val"], device, prec)  # for ensembles
    twin = data.train_twin["test"]
    edges = ev.length_edges(data.full_lengths["test"], LENGTH_BUCKETS)
    doc: dict[str, Any] = {
        "test_accuracy": p.accuracy, "test_loss": p.mean_loss,
        "test_accuracy_last": last.get("accuracy"), "test_loss_last": last.get("loss"),
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


def _save_model(path: Path, cfg: SentimentConfig, seed: int, model: torch.nn.Module,
                data: SentimentData) -> None:
    """Best weights, config and vocabulary in one file that loads with ``weights_only=True``."""
    save_torch(path, {
        "format": MODEL_FILE_FORMAT, "model": cfg.model, "experiment": cfg.experiment_id,
        "model_config": cfg.model_config, "max_tokens": cfg.max_tokens, "seed": seed,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "words": list(data.vocab.words), "vectors": torch.from_numpy(data.vocab.vectors),
    })
