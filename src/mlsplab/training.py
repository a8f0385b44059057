"""The one trainer: epochs, validation, atomic checkpoints, resume after a kill, history.

Used by every experiment (IMDB sentiment models and ESC-10 CNNs). The experiment supplies

* ``train_batches(epoch)``: the list of batches of one epoch, a pure function of the epoch
  number (and the run's seed), so that a resumed run sees exactly the batches it would have;
* ``train_step(model, batch)``: returns ``(summed_loss, n_items)`` for a batch, on which the
  trainer calls ``backward``;
* ``evaluate(model)``: returns ``{"loss": ..., "accuracy": ...}`` on the validation set.

Checkpoints are written atomically at the end of every epoch and, inside long epochs, every
``checkpoint_every_s`` seconds; they hold the model, optimizer, RNG state, position inside the
epoch, running sums and history, so a run killed at any point and started again ends with the
same history as an uninterrupted run. The best-validation-loss weights are kept in a second
file. Both load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from mlsplab.errors import MlsplabError
from mlsplab.io import atomic_write

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "mlsplab-checkpoint-v1"
OPTIMIZERS = ("sgd", "sgd-momentum", "rmsprop", "adam")


@dataclass
class TrainConfig:
    """How to train. Stored in every checkpoint; a resume with a different config is refused."""

    epochs: int = 25
    optimizer: str = "adam"  # one of OPTIMIZERS
    lr: float = 1e-3
    momentum: float = 0.9  # used by sgd-momentum only
    weight_decay: float = 0.0
    grad_clip: float | None = None  # max global grad norm; None: no clipping
    checkpoint_every_s: float = 300.0  # mid-epoch checkpoint interval (long epochs)
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
    raise MlsplabError(f"optimizer={config.optimizer!r}; expected one of {OPTIMIZERS}")


@dataclass
class TrainResult:
    """What :func:`fit` returns."""

    history: list[dict[str, float]]  # one dict per epoch: epoch, train_loss, val_loss, ...
    best_epoch: int  # epoch (1-based) with the lowest validation loss
    best_state: dict[str, torch.Tensor]  # model weights at best_epoch
    stopped_early: bool
    finished: bool = True  # False: stopped at the deadline; the checkpoint resumes the run


class _StopRequested(Exception):
    """Raised inside the loop when SIGTERM/SIGINT asks for a clean stop."""


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a trainer checkpoint with ``weights_only=True``, checking that it is one of ours.

    Raises
    ------
    MlsplabError
        If the file is corrupt, not a torch file, or not an mlsplab checkpoint.
    """
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for corrupt/foreign files
        raise MlsplabError(
            f"{path}: not a readable checkpoint ({type(e).__name__}: {str(e)[:120]}); "
            "delete it to start this run from scratch"
        ) from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise MlsplabError(
            f"{path}: not an mlsplab checkpoint (format tag missing); delete it or use "
            "another --out")
    return ckpt


def save_torch(path: str | Path, obj: Any) -> None:
    """``torch.save`` through a temporary file and rename."""
    atomic_write(path, lambda tmp: torch.save(obj, tmp))


def fit(
    model: torch.nn.Module,
    *,
    config: TrainConfig,
    train_batches: Callable[[int], Sequence[Any]],
    train_step: Callable[[torch.nn.Module, Any], tuple[torch.Tensor, int]],
    evaluate: Callable[[torch.nn.Module], dict[str, float]],
    checkpoint_path: str | Path | None,
    run_config: dict[str, Any] | None = None,
    seed: int = 0,
    progress: bool = True,
    desc: str = "train",
    deadline: float | None = None,
) -> TrainResult:
    """Train ``model`` for ``config.epochs`` epochs, resuming from ``checkpoint_path`` if present.

    Parameters
    ----------
    model : torch.nn.Module
        Already on its device.
    config : TrainConfig
    train_batches : callable, epoch (1-based) -> sequence of batches
        Must be deterministic in ``epoch``: a resumed run skips the batches already done.
    train_step : callable, (model, batch) -> (summed loss tensor, n_items)
    evaluate : callable, model -> dict with ``loss`` and ``accuracy``
        Called with the model in eval mode under ``torch.no_grad()``.
    checkpoint_path : path or None
        Where the resumable state lives (``<path>`` and ``<path>.best``); None: no checkpoints.
    run_config : dict, optional
        The experiment's config; a checkpoint from a different one is refused.
    seed : int
        Seeds torch's RNG (dropout) at the start of a fresh run.
    deadline : float, optional
        Wall-clock time (``time.time()``) at which to stop: the state is checkpointed and the
        result comes back with ``finished=False``; calling again resumes where it stopped.

    Returns
    -------
    TrainResult
    """
    ckpt_path = Path(checkpoint_path) if checkpoint_path else None
    best_path = ckpt_path.with_name(ckpt_path.name + ".best") if ckpt_path else None
    identity = {"train": asdict(config), "run": run_config or {}}
    # checkpoint interval and patience do not change the numbers, so they may differ on resume
    identity["train"].pop("checkpoint_every_s")
    optimizer = make_optimizer(config, model.parameters())

    history: list[dict[str, float]] = []
    start_epoch, start_batch = 1, 0
    sums = {"loss": 0.0, "n": 0, "seconds": 0.0}
    best = {"epoch": 0, "val_loss": math.inf}
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    torch.manual_seed(seed)

    if ckpt_path and ckpt_path.exists():
        ckpt = load_checkpoint(ckpt_path)
        if ckpt["identity"] != identity:
            raise MlsplabError(
                f"{ckpt_path}: checkpoint is from a different configuration; delete it or use "
                "another --out to start afresh"
            )
        try:
            model.load_state_dict(ckpt["model"])
        except RuntimeError as e:
            raise MlsplabError(f"{ckpt_path}: weights do not fit this model ({e})") from e
        optimizer.load_state_dict(ckpt["optimizer"])
        torch.set_rng_state(ckpt["rng"])
        history, sums, best = ckpt["history"], ckpt["sums"], ckpt["best"]
        start_epoch, start_batch = ckpt["epoch"], ckpt["batch"]
        if best_path is not None and best_path.exists() and best["epoch"] > 0:
            best_state = load_checkpoint(best_path)["model"]
        log.info("resumed %s at epoch %d, batch %d", ckpt_path, start_epoch, start_batch)

    def save(epoch: int, batch: int) -> None:
        if ckpt_path is None:
            return
        save_torch(ckpt_path, {
            "format": CHECKPOINT_FORMAT, "identity": identity,
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "rng": torch.get_rng_state(), "history": history, "sums": sums, "best": best,
            "epoch": epoch, "batch": batch,
        })

    stop = {"requested": False}

    def on_signal(signum: int, frame: Any) -> None:
        stop["requested"] = True

    # Ctrl-C / SIGTERM finish the current batch, save, and exit cleanly (main thread only).
    in_main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)} \
        if in_main else {}
    stopped_early = False
    past_deadline = False
    try:
        for epoch in range(start_epoch, config.epochs + 1):
            if _patience_exhausted(history, best, config):
                stopped_early = True
                break
            batches = train_batches(epoch)
            if len(batches) == 0:
                raise MlsplabError("the training split is empty: no batches to train on")
            model.train()
            last_save = time.monotonic()
            t0 = time.monotonic()
            bar = tqdm(total=len(batches), initial=start_batch, disable=not progress,
                       desc=f"{desc} epoch {epoch}/{config.epochs}", unit="batch", leave=False)
            for b in range(start_batch, len(batches)):
                optimizer.zero_grad(set_to_none=True)
                loss_sum, n = train_step(model, batches[b])
                (loss_sum / n).backward()
                if config.grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                optimizer.step()
                sums["loss"] += float(loss_sum.detach())
                sums["n"] += int(n)
                bar.update(1)
                bar.set_postfix(loss=f"{sums['loss'] / max(sums['n'], 1):.4f}")
                now = time.monotonic()
                past_deadline = deadline is not None and time.time() >= deadline
                if stop["requested"] or past_deadline or (
                        now - last_save > config.checkpoint_every_s):
                    sums["seconds"] += now - t0
                    t0 = now
                    save(epoch, b + 1)
                    last_save = now
                    if stop["requested"]:
                        raise _StopRequested
                    if past_deadline:
                        break
            bar.close()
            if past_deadline:
                if b + 1 < len(batches):
                    log.info("%s: deadline reached in epoch %d at batch %d/%d; checkpoint "
                             "saved", desc, epoch, b + 1, len(batches))
                    break
                past_deadline = False  # it was the epoch's last batch: finish the epoch
            sums["seconds"] += time.monotonic() - t0
            val = _evaluate(model, evaluate)
            row = {
                "epoch": epoch,
                "train_loss": sums["loss"] / max(sums["n"], 1),
                "val_loss": float(val["loss"]),
                "val_accuracy": float(val["accuracy"]),
                "seconds": sums["seconds"],
            }
            history.append(row)
            if row["val_loss"] < best["val_loss"]:
                best = {"epoch": epoch, "val_loss": row["val_loss"]}
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                if best_path is not None:
                    save_torch(best_path, {"format": CHECKPOINT_FORMAT, "model": best_state})
            log.info("%s epoch %d: train loss %.4f, val loss %.4f, val acc %.4f, %.1fs", desc,
                     epoch, row["train_loss"], row["val_loss"], row["val_accuracy"],
                     row["seconds"])
            if progress:
                tqdm.write(f"{desc} epoch {epoch}/{config.epochs}: train loss "
                           f"{row['train_loss']:.4f}, val loss {row['val_loss']:.4f}, "
                           f"val acc {row['val_accuracy']:.4f} ({row['seconds']:.0f}s)")
            sums = {"loss": 0.0, "n": 0, "seconds": 0.0}
            start_batch = 0
            save(epoch + 1, 0)
            if stop["requested"]:
                raise _StopRequested
            if deadline is not None and time.time() >= deadline and epoch < config.epochs:
                past_deadline = True
                log.info("%s: deadline reached after epoch %d; checkpoint saved", desc, epoch)
                break
    except _StopRequested:
        raise MlsplabError(
            f"training stopped by signal; progress saved in {ckpt_path}: run the same command "
            "again to resume"
        ) from None
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    finished = not past_deadline
    return TrainResult(history, best["epoch"], best_state, stopped_early, finished)


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
