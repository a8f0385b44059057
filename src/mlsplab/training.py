"""One training job, from its settings to its ``result.json``: the unit every executor runs.

A :class:`TrainingJob` is a frozen, picklable description of one training: what determines
its numbers (``identity``, hashed into the key under which a finished result is reused), the
seed, the trainer's settings (epochs, optimizer), the device and precision decided by the run,
the folder it writes, and a :class:`Recipe`: the few functions that differ between questions
(load the data, build the model, the training step and validation, the test measurements).
:func:`run_job` does everything else, the same way for every question:

1. reuse: a ``result.json`` of a finished run under the same config hash is returned as it
   is (and a leftover checkpoint removed);
2. seeding, once: :func:`~mlsplab.seeding.set_seed` with the job's seed; the data and the
   model are built on forks of the seeded generators, so that the initialisation and then the
   training (dropout) each start from the seed whatever the stage before drew;
3. :func:`~mlsplab.fit_loop.fit`, resuming from ``checkpoint.pt`` when there is one;
4. the test measurements of the last epoch's weights, then of the best (lowest validation
   loss) weights;
5. ``model.pt`` (format :data:`MODEL_FORMAT`, with a ``kind``; checked to load back with
   ``weights_only=True``) and ``result.json``;
6. only then the resume checkpoint is deleted.

Executors (serial, process, Ray) run ``Task(name, run_job, {"job": job})``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mlsplab.checkpoints import (  # noqa: F401  (re-exported: callers import them from here)
    CHECKPOINT_FORMAT,
    load_checkpoint,
    remove_checkpoint,
    save_torch,
)
from mlsplab.errors import MlsplabError
from mlsplab.executors import where
from mlsplab.fit_loop import (  # noqa: F401  (re-exported)
    OPTIMIZERS,
    TrainConfig,
    TrainResult,
    fit,
    make_optimizer,
)
from mlsplab.io import atomic_write_json, config_hash, read_json
from mlsplab.runtime import Precision, cpu_name
from mlsplab.seeding import forked_rngs, set_seed

log = logging.getLogger(__name__)

MODEL_FORMAT = "mlsplab-model-v2"  # model.pt of every question; "kind" says which model
RESULT_FILE = "result.json"
CHECKPOINT_FILE = "checkpoint.pt"
OLD_CHECKPOINT_FILES = ("ckpt.pt",)  # names of earlier versions, resumed from (Q3)


@dataclass(frozen=True)
class TrainingJob:
    """Everything one training needs; plain picklable values (no tensors, no open files)."""

    name: str  # in logs and progress bars, e.g. "q1b-lstm-avg seed 0"
    run_dir: str  # checkpoint.pt and result.json live here
    identity: dict[str, Any]  # what determines the numbers; its hash keys reuse and resume
    seed: int  # seeds this training, once
    train: TrainConfig  # epochs, optimizer, learning rate, clipping
    device: str  # as decided by the run: "cpu", "cuda", "cuda:1"
    precision: Precision  # as decided by the run (fp32 or bf16, with its reason)
    recipe: Recipe  # what differs by question
    model_path: str | None = None  # where model.pt goes; None: not kept
    deadline: float | None = None  # time.time() at which training stops, checkpointed
    threads: int | None = None  # torch threads while it trains; None: as they are
    progress: bool = False  # a progress bar per epoch
    keep_checkpoint_precision: bool = False  # --precision auto: a resume keeps its own

    @property
    def checkpoint(self) -> Path:
        return Path(self.run_dir) / CHECKPOINT_FILE


@dataclass
class Steps:
    """How the recipe trains and validates: what :func:`~mlsplab.fit_loop.fit` takes."""

    train_batches: Callable[[int], Sequence[Any]]  # epoch -> its batches, pure in the epoch
    train_step: Callable[[torch.nn.Module, Any], tuple[torch.Tensor, int]]  # summed loss, n
    evaluate: Callable[[torch.nn.Module], dict[str, Any]]  # validation loss, accuracy, ...
    lr_schedule: Callable[[int, int, int], float] | None = None  # (epoch, batch, n) -> factor


@dataclass
class Context:
    """What :func:`run_job` hands a recipe: the job, and what it decided and loaded."""

    job: TrainingJob
    device: torch.device
    precision: Precision
    data: Any = None


class Recipe:
    """What differs between questions. A subclass is a frozen dataclass of plain values (the
    job is pickled with it) and defines the first three methods; the others are optional."""

    kind: str = "model"  # model.pt's "kind"

    def load_data(self, ctx: Context) -> Any:
        """The data of this training (splits, vocabulary, features)."""
        raise NotImplementedError

    def build_model(self, ctx: Context) -> torch.nn.Module:
        """The freshly initialised model on ``ctx.device``."""
        raise NotImplementedError

    def steps(self, ctx: Context, model: torch.nn.Module) -> Steps:
        """The batches, the training step and the validation pass."""
        raise NotImplementedError

    def measure(self, ctx: Context, model: torch.nn.Module, weights: str) -> dict[str, Any]:
        """Measurements of the model's current weights: ``weights`` is "last" (the last
        epoch's) or "best" (the lowest validation loss's)."""
        return {}

    def record(self, ctx: Context, model: torch.nn.Module, result: TrainResult
               ) -> dict[str, Any]:
        """Facts of the training recorded in ``result.json`` (data sizes, speed, ...)."""
        return {}

    def model_file(self, ctx: Context) -> dict[str, Any]:
        """What ``model.pt`` holds beside the weights: what reading it back needs."""
        return {}

    def reusable(self, result: dict[str, Any]) -> bool:
        """Whether a finished ``result.json`` of this identity still serves."""
        return True


def run_job(job: TrainingJob) -> dict[str, Any]:
    """Train (or resume, or reuse) one model; evaluate it at its last and best epoch.

    Returns
    -------
    dict
        The content of ``result.json`` (``reused: True`` added when it was reused): the config
        and its hash, ``history``, ``best_epoch``, ``complete`` (False: stopped at the
        deadline; the next call resumes), where and how it ran (host, device, threads,
        precision), and the recipe's measurements and records.
    """
    previous_threads = torch.get_num_threads()
    if job.threads:
        torch.set_num_threads(job.threads)
    try:
        return _run(job)
    finally:
        torch.set_num_threads(previous_threads)


def _run(job: TrainingJob) -> dict[str, Any]:
    run_dir = Path(job.run_dir)
    if (done := reusable_result(job)) is not None:
        return done
    run_dir.mkdir(parents=True, exist_ok=True)
    _adopt_old_checkpoint(run_dir)
    precision, identity = _resumed_precision(job)
    ctx = Context(job, torch.device(job.device), precision)
    t0 = time.perf_counter()
    set_seed(job.seed)  # the one seeding of this training
    with forked_rngs(ctx.device):  # the split, word vectors, ...: drawn from the seed
        ctx.data = job.recipe.load_data(ctx)
    with forked_rngs(ctx.device):  # the initialisation: drawn from the seed too
        model = job.recipe.build_model(ctx)
    log.info("%s: %d parameters on %s, precision %s (%s)", job.name, n_parameters(model),
             ctx.device, precision.name, precision.reason)
    steps = job.recipe.steps(ctx, model)
    t_train = time.perf_counter()
    result = fit(model, config=job.train, train_batches=steps.train_batches,
                 train_step=steps.train_step, evaluate=steps.evaluate,
                 checkpoint_path=job.checkpoint, run_config=identity, progress=job.progress,
                 desc=job.name, deadline=job.deadline, lr_schedule=steps.lr_schedule)
    doc = _describe(job, ctx, identity, model, result)
    doc.update(job.recipe.record(ctx, model, result))
    if result.history:
        doc.update(_measure(ctx, model, result))
        if job.model_path:
            doc["disk"] = _save_model(ctx, model, result.best_epoch)
    doc["train_wall_seconds"] = time.perf_counter() - t_train
    doc["wall_seconds"] = time.perf_counter() - t0
    atomic_write_json(run_dir / RESULT_FILE, doc)
    if result.finished:  # results (and model.pt) are on disk: the resume state is not needed
        remove_checkpoint(job.checkpoint)
    log.info("%s: best epoch %s, %d epoch(s)", job.name, doc["best_epoch"],
             len(result.history))
    return doc


def reusable_result(job: TrainingJob) -> dict[str, Any] | None:
    """The finished ``result.json`` of this very job (same config hash, complete, its model
    file present, accepted by the recipe), marked ``reused``; else None."""
    path = Path(job.run_dir) / RESULT_FILE
    if not path.exists() or (job.model_path and not Path(job.model_path).exists()):
        return None
    try:
        old = read_json(path)
    except MlsplabError as e:
        log.warning("%s; training again", e)
        return None
    # "identity_hash": the key of Q1 results written before the one training job
    key = old.get("config_hash", old.get("identity_hash"))
    if key != config_hash(job.identity) or old.get("complete") is False:
        return None
    if not job.recipe.reusable(old):
        log.info("%s: its result lacks what this version records; training again", job.name)
        return None
    log.info("%s: finished; reusing %s", job.name, path)
    remove_checkpoint(job.checkpoint)  # a kill may have come between the writes
    return {**old, "reused": True}  # marked for this call only, not in the file


def n_parameters(model: torch.nn.Module) -> int:
    """Learnable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _adopt_old_checkpoint(run_dir: Path) -> None:
    """A checkpoint under an earlier version's name resumes under the current one."""
    new = run_dir / CHECKPOINT_FILE
    for name in OLD_CHECKPOINT_FILES:
        old = run_dir / name
        if old.exists() and not new.exists():
            best = run_dir / (name + ".best")
            if best.exists():
                best.replace(run_dir / (CHECKPOINT_FILE + ".best"))
            old.replace(new)
            log.info("%s: resuming from %s (the earlier name)", run_dir, old.name)


def _resumed_precision(job: TrainingJob) -> tuple[Precision, dict[str, Any]]:
    """The precision an interrupted run was trained in, when ``--precision auto`` resumes it,
    and the identity that goes with it.

    A resumed run keeps its precision so that it ends with the numbers of an uninterrupted one
    (a checkpoint from before the run's decision may hold another); an explicit ``fp32`` or
    ``bf16`` that differs is refused by the trainer ("different configuration").
    """
    if not job.keep_checkpoint_precision or not job.checkpoint.exists():
        return job.precision, job.identity
    name = load_checkpoint(job.checkpoint)["identity"]["run"].get("precision")
    if not name or name == job.precision.name:
        return job.precision, job.identity
    kept = Precision(name, "kept from the interrupted run's checkpoint",
                     {"source": f"checkpoint {job.checkpoint}"})
    return kept, {**job.identity, "precision": name}


def _describe(job: TrainingJob, ctx: Context, identity: dict[str, Any],
              model: torch.nn.Module, result: TrainResult) -> dict[str, Any]:
    """What every result.json holds: the config, the history, where and how it ran."""
    return {"name": job.name, "config": identity, "config_hash": config_hash(identity),
            "seed": job.seed, "complete": result.finished, "epochs_planned": job.train.epochs,
            "epochs_completed": len(result.history), "history": result.history,
            "best_epoch": result.best_epoch or None, "n_parameters": n_parameters(model),
            "host": where(), "device": str(ctx.device), "cpu": cpu_name(),
            "threads": torch.get_num_threads(), "precision": ctx.precision.name,
            "precision_reason": ctx.precision.reason,
            "precision_decision": ctx.precision.evidence,
            "train_seconds": sum(r["seconds"] for r in result.history)}


def _measure(ctx: Context, model: torch.nn.Module, result: TrainResult) -> dict[str, Any]:
    """The recipe's measurements with the last epoch's weights, then with the best weights
    (left in ``model``). A run stopped at its deadline holds weights from inside an unfinished
    epoch, so it has no last-epoch measurements yet."""
    last = ctx.job.recipe.measure(ctx, model, "last") if result.finished else {}
    model.load_state_dict(result.best_state)
    return {**ctx.job.recipe.measure(ctx, model, "best"), **last}


def _save_model(ctx: Context, model: torch.nn.Module, best_epoch: int) -> dict[str, int]:
    """Write ``model.pt`` (the best weights) atomically, check that it loads back with
    ``weights_only=True``; the bytes it takes and the bytes of resume state to be deleted."""
    job = ctx.job
    path = Path(job.model_path or "")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    save_torch(path, {"format": MODEL_FORMAT, "kind": job.recipe.kind, "state_dict": state,
                      "seed": job.seed, "best_epoch": best_epoch,
                      **job.recipe.model_file(ctx)})
    loaded = torch.load(path, map_location="cpu", weights_only=True)
    if set(loaded["state_dict"]) != set(state):
        raise MlsplabError(f"{path}: the saved weights do not read back; delete "
                           f"{job.run_dir} and run the same command again")
    removable = [job.checkpoint, job.checkpoint.with_name(CHECKPOINT_FILE + ".best")]
    return {"model_bytes": path.stat().st_size,
            "resume_checkpoint_bytes_deleted": sum(p.stat().st_size for p in removable
                                                   if p.exists())}
