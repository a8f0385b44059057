"""The training loop: epochs, validation, atomic checkpoints, resume after a kill, history.

:func:`fit` is the one loop every training goes through (the training job of
:mod:`mlsplab.training` calls it). The caller supplies

* ``train_batches(epoch)``: the list of batches of one epoch, a pure function of the epoch
  number (and the run's seed), so that a resumed run sees exactly the batches it would have;
* ``train_step(model, batch)``: returns ``(summed_loss, n_items)`` for a batch, on which the
  loop calls ``backward``;
* ``evaluate(model)``: returns ``{"loss": ..., "accuracy": ...}`` on the validation set, plus
  any other measurements to record in the history (e.g. ``train_eval_loss``).

Checkpoints are written atomically every ``checkpoint_every_s`` seconds (inside an epoch or
at its end, whichever comes first once the interval has passed), at the end of the last epoch,
and when a signal or the deadline stops the run; they hold the model, optimizer, RNG state,
position inside the epoch, running sums and history, so a run killed at any point (Ctrl-C,
``kill``, ``kill -9``) and started again ends with the same history as an uninterrupted run. A
run of many short epochs (ESC-10: about 1.5 s each) therefore writes a few checkpoints, not
one per epoch. The best-validation-loss weights are kept in a second file, written just before
the checkpoint that refers to them, so the two always agree. Both load with
``torch.load(weights_only=True)``. A checkpoint that cannot be written (full disk) leaves the
previous one in place and stops the run with a message saying where the next run resumes; a
truncated one is refused on resume with a message naming the file and how to start that run
again.

The stages of :func:`fit` are named functions: :func:`_resume` (fresh or from the checkpoint),
:meth:`_Run.train_epoch` (the batches of one epoch), :meth:`_Run.end_epoch` (validation, best
weights, history row, checkpoint) and :meth:`_Run.save` (checkpoint and best-weights files).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from mlsplab.checkpoints import CHECKPOINT_FORMAT, load_checkpoint, save_torch
from mlsplab.errors import MlsplabError
from mlsplab.io import WriteError
from mlsplab.progress import progress_bar
from mlsplab.stopping import StopFlag, StopRequested

log = logging.getLogger(__name__)

OPTIMIZERS = ("sgd", "sgd-momentum", "rmsprop", "adam", "adamw")


@dataclass
class TrainConfig:
    """How to train. Stored in every checkpoint; a resume with a different config is refused."""

    epochs: int = 25
    optimizer: str = "adam"  # one of OPTIMIZERS
    lr: float = 1e-3
    momentum: float = 0.9  # used by sgd-momentum only
    weight_decay: float = 0.0
    grad_clip: float | None = None  # max global grad norm; None: no clipping
    checkpoint_every_s: float = 300.0  # seconds between checkpoints (0: after every batch)
    early_stop_patience: int | None = None  # stop after this many epochs without val improvement


def make_optimizer(config: TrainConfig, params: Any) -> torch.optim.Optimizer:
    """The optimizer named by ``config.optimizer`` (torch defaults for everything not set)."""
    wd = config.weight_decay
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, weight_decay=wd)
    if config.optimizer == "sgd-momentum":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=wd)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=config.lr, weight_decay=wd)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=wd)
    if config.optimizer == "adamw":  # decoupled weight decay (Loshchilov & Hutter, ICLR 2019)
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=wd)
    raise MlsplabError(f"optimizer={config.optimizer!r}; expected one of {OPTIMIZERS}")


@dataclass
class TrainResult:
    """What :func:`fit` returns."""

    history: list[dict[str, float]]  # one dict per epoch: epoch, train_loss, val_loss, ...
    best_epoch: int  # epoch (1-based) with the lowest validation loss
    best_state: dict[str, torch.Tensor]  # model weights at best_epoch
    stopped_early: bool
    finished: bool = True  # False: stopped at the deadline; the checkpoint resumes the run


Batches = Callable[[int], Sequence[Any]]
Step = Callable[[torch.nn.Module, Any], tuple[torch.Tensor, int]]
Evaluate = Callable[[torch.nn.Module], dict[str, Any]]
Schedule = Callable[[int, int, int], float]


def fit(
    model: torch.nn.Module,
    *,
    config: TrainConfig,
    train_batches: Batches,
    train_step: Step,
    evaluate: Evaluate,
    checkpoint_path: str | Path | None,
    run_config: dict[str, Any] | None = None,
    progress: bool = True,
    desc: str = "train",
    deadline: float | None = None,
    lr_schedule: Schedule | None = None,
) -> TrainResult:
    """Train ``model`` for ``config.epochs`` epochs, resuming from ``checkpoint_path`` if present.

    A fixed number of epochs is ``config.early_stop_patience=None`` (the default). ``fit``
    does not seed: a fresh run draws from torch's RNG as the caller left it (the training job
    seeds once, :func:`mlsplab.training.run_job`); a resumed run restores the RNG state of its
    checkpoint.

    Parameters
    ----------
    model : torch.nn.Module
        Already on its device.
    config : TrainConfig
        ``checkpoint_every_s=0`` checkpoints after every batch and every epoch.
    train_batches : callable, epoch (1-based) -> sequence of batches
        Must be deterministic in ``epoch``: a resumed run skips the batches already done.
    train_step : callable, (model, batch) -> (summed loss tensor, n_items)
    evaluate : callable, model -> dict with ``loss``, ``accuracy`` and any other measurements
        Called with the model in eval mode under ``torch.no_grad()``. ``loss``/``accuracy``
        become the history's ``val_loss``/``val_accuracy``; every other key (e.g.
        ``train_eval_loss``) is recorded under its own name (numbers as Python numbers).
    checkpoint_path : path or None
        Where the resumable state lives (``<path>`` and ``<path>.best``); None: no checkpoints.
    run_config : dict, optional
        The experiment's config; a checkpoint from a different one is refused.
    deadline : float, optional
        Wall-clock time (``time.time()``) at which to stop: the state is checkpointed and the
        result comes back with ``finished=False``; calling again resumes where it stopped.
    lr_schedule : callable, (epoch, batch, n_batches) -> factor, optional
        The learning rate of each step is ``config.lr`` times this factor: a pure function of
        the position, so a resumed run follows the same schedule (no scheduler state).

    Returns
    -------
    TrainResult

    Raises
    ------
    StopRequested
        On SIGINT/SIGTERM/SIGHUP, after the batch has finished and a checkpoint is written
        (its ``saved`` says where); the handlers found at the start are back by then.
    MlsplabError
        An unreadable or mismatched checkpoint, or a checkpoint that cannot be written (the
        previous one is kept).
    """
    ckpt_path = Path(checkpoint_path) if checkpoint_path else None
    identity = {"train": asdict(config), "run": run_config or {}}
    # the checkpoint interval does not change the numbers, so it may differ on resume
    identity["train"].pop("checkpoint_every_s")
    optimizer = make_optimizer(config, model.parameters())
    run = _Run(model, optimizer, config, ckpt_path, identity, deadline, lr_schedule, progress,
               desc)
    run.state = _resume(ckpt_path, run.best_path, identity, model, optimizer)
    stop = StopFlag().install()  # on a signal: finish the batch, save, exit cleanly
    try:
        for epoch in range(run.state.epoch, config.epochs + 1):
            if _patience_exhausted(run.state.history, run.state.best, config):
                run.stopped_early = True
                break
            if not run.train_epoch(epoch, train_batches(epoch), train_step, stop):
                break  # the deadline came inside the epoch: checkpointed there
            if not run.end_epoch(epoch, evaluate, stop):
                break  # the deadline came at the epoch's end: checkpointed
    finally:
        stop.restore()
    s = run.state
    return TrainResult(s.history, s.best["epoch"], s.best_state, run.stopped_early,
                       finished=not run.past_deadline)


@dataclass
class _State:
    """What a checkpoint holds besides weights: the position and the running record."""

    history: list[dict[str, Any]]
    sums: dict[str, float]  # loss, items and seconds of the epoch so far
    best: dict[str, Any]  # epoch and val_loss of the best epoch so far
    epoch: int  # where the run (re)starts: epoch (1-based) and batch inside it
    batch: int
    best_state: dict[str, torch.Tensor]
    # where the checkpoint on disk resumes from ({} while there is none), for error messages
    saved: dict[str, int] = field(default_factory=dict)


class _Run:
    """One call of :func:`fit`: the model, the optimizer, the checkpoint files and the loop's
    stages (an epoch's batches, its end, a checkpoint)."""

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 config: TrainConfig, ckpt_path: Path | None, identity: dict[str, Any],
                 deadline: float | None, lr_schedule: Schedule | None, progress: bool,
                 desc: str) -> None:
        self.model, self.optimizer, self.config = model, optimizer, config
        self.ckpt_path, self.identity = ckpt_path, identity
        self.best_path = ckpt_path.with_name(ckpt_path.name + ".best") if ckpt_path else None
        self.deadline, self.lr_schedule = deadline, lr_schedule
        self.progress, self.desc = progress, desc
        self.state: _State
        self.stopped_early = False
        self.past_deadline = False
        self.last_save = time.monotonic()
        # best weights found since the last checkpoint: written with the next one, so that a
        # kill in between leaves a checkpoint and a .best file that agree
        self.best_unsaved = False

    def save(self, epoch: int, batch: int) -> None:
        """Checkpoint the run at (epoch, batch), the best weights first when they changed."""
        s = self.state
        if self.ckpt_path is None:
            return
        if self.best_unsaved:
            _save_best(self.best_path, s.best_state, s.saved)
            self.best_unsaved = False
        ckpt = {"format": CHECKPOINT_FORMAT, "identity": self.identity,
                "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "rng": torch.get_rng_state(), "history": s.history, "sums": s.sums,
                "best": s.best, "epoch": epoch, "batch": batch}
        try:
            save_torch(self.ckpt_path, ckpt)
        except WriteError as e:
            raise MlsplabError(_write_failed(e, s.saved)) from e
        s.saved.update(epoch=epoch, batch=batch)

    def train_epoch(self, epoch: int, batches: Sequence[Any], train_step: Step,
                    stop: StopFlag) -> bool:
        """The training steps of one epoch from the run's position; False when the deadline
        stopped it inside the epoch (checkpointed there)."""
        s, config, optimizer = self.state, self.config, self.optimizer
        if len(batches) == 0:
            raise MlsplabError("the training split is empty: no batches to train on")
        self.model.train()
        t0 = time.monotonic()
        bar = progress_bar(total=len(batches), initial=s.batch, disable=not self.progress,
                           desc=f"{self.desc} epoch {epoch}/{config.epochs}", unit="batch",
                           leave=False)
        b = s.batch - 1
        for b in range(s.batch, len(batches)):
            optimizer.zero_grad(set_to_none=True)
            if self.lr_schedule is not None:
                for group in optimizer.param_groups:
                    group["lr"] = config.lr * self.lr_schedule(epoch, b, len(batches))
            loss_sum, n = train_step(self.model, batches[b])
            (loss_sum / n).backward()
            if config.grad_clip:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.grad_clip)
            optimizer.step()
            s.sums["loss"] += float(loss_sum.detach())
            s.sums["n"] += int(n)
            bar.update(1)
            # shown at the bar's next redraw, not a redraw of its own per batch
            bar.set_postfix(loss=f"{s.sums['loss'] / max(s.sums['n'], 1):.4f}", refresh=False)
            now = time.monotonic()
            self.past_deadline = self.deadline is not None and time.time() >= self.deadline
            if stop.signum or self.past_deadline or (
                    now - self.last_save >= config.checkpoint_every_s):
                s.sums["seconds"] += now - t0
                t0 = now
                self.save(epoch, b + 1)
                self.last_save = now
                if stop.signum:
                    raise _stopped(stop.signum, self.ckpt_path)
                if self.past_deadline:
                    break
        bar.close()
        if self.past_deadline:
            if b + 1 < len(batches):
                log.info("%s: deadline reached in epoch %d at batch %d/%d; checkpoint saved",
                         self.desc, epoch, b + 1, len(batches))
                return False
            self.past_deadline = False  # it was the epoch's last batch: finish the epoch
        s.sums["seconds"] += time.monotonic() - t0
        return True

    def end_epoch(self, epoch: int, evaluate: Evaluate, stop: StopFlag) -> bool:
        """Validation, the history row, the best weights and the checkpoint at an epoch's end;
        False when the deadline ends the run here."""
        s, config = self.state, self.config
        row = _history_row(epoch, s.sums, _evaluate(self.model, evaluate))
        s.history.append(row)
        if row["val_loss"] < s.best["val_loss"]:
            s.best = {"epoch": epoch, "val_loss": row["val_loss"]}
            s.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self.best_unsaved = True
        _log_epoch(self.desc, row, config.epochs, self.progress)
        s.sums = {"loss": 0.0, "n": 0, "seconds": 0.0}
        s.batch = 0
        at_deadline = (self.deadline is not None and time.time() >= self.deadline
                       and epoch < config.epochs)
        if (stop.signum or at_deadline or epoch == config.epochs
                or _patience_exhausted(s.history, s.best, config)
                or time.monotonic() - self.last_save >= config.checkpoint_every_s):
            self.save(epoch + 1, 0)
            self.last_save = time.monotonic()
        if stop.signum:
            raise _stopped(stop.signum, self.ckpt_path)
        if at_deadline:
            self.past_deadline = True
            log.info("%s: deadline reached after epoch %d; checkpoint saved", self.desc, epoch)
            return False
        return True


def _resume(ckpt_path: Path | None, best_path: Path | None, identity: dict[str, Any],
            model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> _State:
    """The run's state: loaded from ``ckpt_path`` into ``model``/``optimizer``/torch's RNG if
    it exists, else a fresh start."""
    fresh = _State(history=[], sums={"loss": 0.0, "n": 0, "seconds": 0.0},
                   best={"epoch": 0, "val_loss": math.inf}, epoch=1, batch=0,
                   best_state={k: v.detach().clone() for k, v in model.state_dict().items()})
    if ckpt_path is None or not ckpt_path.exists():
        return fresh
    restart = f"delete {ckpt_path} and {best_path} to start that run again"
    ckpt = load_checkpoint(ckpt_path, restart=restart)
    if ckpt["identity"] != identity:
        raise MlsplabError(
            f"{ckpt_path}: checkpoint is from a different configuration; delete it or use "
            "another --out to start afresh")
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as e:
        raise MlsplabError(f"{ckpt_path}: weights do not fit this model ({e})") from e
    optimizer.load_state_dict(ckpt["optimizer"])
    torch.set_rng_state(ckpt["rng"])
    state = _State(ckpt["history"], ckpt["sums"], ckpt["best"], ckpt["epoch"], ckpt["batch"],
                   fresh.best_state, saved={"epoch": ckpt["epoch"], "batch": ckpt["batch"]})
    if state.best["epoch"] > 0:
        assert best_path is not None
        if not best_path.exists():
            raise MlsplabError(
                f"{best_path}: missing, but {ckpt_path.name} says epoch {state.best['epoch']} "
                f"had the best weights; restore it, or {restart}")
        state.best_state = load_checkpoint(best_path, restart=restart)["model"]
    log.info("resumed %s at epoch %d, batch %d", ckpt_path, state.epoch, state.batch)
    return state


def _stopped(signum: int, ckpt_path: Path | None) -> StopRequested:
    """The stop of a training whose state was just checkpointed at ``ckpt_path``."""
    return StopRequested(signum, f"progress saved in {ckpt_path}" if ckpt_path
                         else "no checkpoint file, so nothing was saved")


def _position(saved: dict[str, int]) -> str:
    """Where a checkpoint saved at ``saved`` resumes, in words."""
    epoch, batch = saved["epoch"], saved["batch"]
    if batch:
        return f"epoch {epoch} after {batch} batch{'es' if batch > 1 else ''}"
    return f"the end of epoch {epoch - 1}" if epoch > 1 else "the start"


def _write_failed(e: WriteError, saved: dict[str, int], *, best: bool = False) -> str:
    """The one-line message for a checkpoint (or, ``best``, best-weights file) not written."""
    if saved:
        resume = f"the same command resumes from {_position(saved)}"
    else:
        resume = "no checkpoint was written yet, so the same command starts the run again"
    if best:
        kept = "the previous best weights are kept unchanged; " if e.existed else ""
        return f"cannot write the best weights {e.path} ({e.reason}); {kept}{resume}; {e.fix}"
    kept = "the previous checkpoint is kept unchanged, and " if saved else ""
    return f"cannot write the checkpoint {e.path} ({e.reason}); {kept}{resume}; {e.fix}"


def _save_best(best_path: Path | None, best_state: dict[str, torch.Tensor],
               saved: dict[str, int]) -> None:
    if best_path is None:
        return
    try:
        save_torch(best_path, {"format": CHECKPOINT_FORMAT, "model": best_state})
    except WriteError as e:
        raise MlsplabError(_write_failed(e, saved, best=True)) from e


def _history_row(epoch: int, sums: dict[str, float], val: dict[str, Any]) -> dict[str, Any]:
    """One history row: ``evaluate``'s ``loss``/``accuracy`` as ``val_loss``/``val_accuracy``,
    its other keys under their own names, then the epoch's training seconds."""
    row: dict[str, Any] = {"epoch": epoch, "train_loss": sums["loss"] / max(sums["n"], 1),
                           "val_loss": float(val["loss"]),
                           "val_accuracy": float(val["accuracy"])}
    for key, value in val.items():
        if key in ("loss", "accuracy"):
            continue
        if key in row or key == "seconds":
            raise ValueError(f"evaluate() returned {key!r}, a name the history uses already; "
                             "rename it")
        row[key] = _plain(value)
    row["seconds"] = sums["seconds"]
    return row


def _plain(value: Any) -> Any:
    """numpy scalars and one-element tensors as Python numbers (JSON-able, and loadable from a
    checkpoint with ``weights_only=True``); anything else unchanged."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 or isinstance(value, np.generic):
        return value.item()
    return value


def _log_epoch(desc: str, row: dict[str, Any], epochs: int, progress: bool) -> None:
    log.info("%s epoch %d: train loss %.4f, val loss %.4f, val acc %.4f, %.1fs", desc,
             row["epoch"], row["train_loss"], row["val_loss"], row["val_accuracy"],
             row["seconds"])
    if progress:
        tqdm.write(f"{desc} epoch {row['epoch']}/{epochs}: train loss "
                   f"{row['train_loss']:.4f}, val loss {row['val_loss']:.4f}, "
                   f"val acc {row['val_accuracy']:.4f} ({row['seconds']:.0f}s)")


def _patience_exhausted(history: list[dict[str, float]], best: dict[str, float],
                        config: TrainConfig) -> bool:
    if config.early_stop_patience is None or not history:
        return False
    return history[-1]["epoch"] - best["epoch"] >= config.early_stop_patience


def _evaluate(model: torch.nn.Module,
              evaluate: Callable[[torch.nn.Module], dict[str, float]]) -> dict[str, float]:
    model.eval()
    with torch.no_grad():
        out = evaluate(model)
    model.train()
    return out
