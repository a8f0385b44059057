"""A tiny real training for the fault tests: run as a script so a test can ``kill -9`` it.

``python tests/train_worker.py CHECKPOINT RESULT [--step-sleep S]`` trains a small model with
:func:`mlsplab.fit_loop.fit`, checkpointing after every batch (``checkpoint_every_s=0``), and
writes the history and final weights to RESULT (a torch file). ``--step-sleep`` slows each
step so that a test can kill it mid-epoch. :func:`train` is the same run in-process.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import torch

from mlsplab.training import TrainConfig, fit, save_torch

N, F, B = 96, 6, 8  # samples, features, batch size -> 12 batches per epoch
EPOCHS = 3
SEED = 7


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(N, F, generator=torch.Generator().manual_seed(0))
    return x, (x[:, 0] - x[:, 1] > 0).float()


def train(checkpoint: Path | None, step_sleep: float = 0.0) -> dict[str, Any]:
    """Train the tiny model; returns ``history``, ``best_epoch``, ``best_state``, ``final``."""
    x, y = _data()
    torch.manual_seed(1)
    # dropout: the result depends on torch's RNG state, which a resume must restore
    model = torch.nn.Sequential(torch.nn.Linear(F, 16), torch.nn.ReLU(), torch.nn.Dropout(0.3),
                                torch.nn.Linear(16, 1))

    def batches(epoch: int) -> list[torch.Tensor]:
        perm = torch.randperm(N, generator=torch.Generator().manual_seed(100 + epoch))
        return [perm[i:i + B] for i in range(0, N, B)]

    def step(m: torch.nn.Module, idx: torch.Tensor) -> tuple[torch.Tensor, int]:
        time.sleep(step_sleep)
        logits = m(x[idx]).squeeze(1)  # (B, 1) -> (B,)
        return torch.nn.functional.binary_cross_entropy_with_logits(
            logits, y[idx], reduction="sum"), len(idx)

    def evaluate(m: torch.nn.Module) -> dict[str, float]:
        logits = m(x).squeeze(1)  # (N, 1) -> (N,)
        return {"loss": float(torch.nn.functional.binary_cross_entropy_with_logits(logits, y)),
                "accuracy": float(((logits > 0).float() == y).float().mean())}

    config = TrainConfig(epochs=EPOCHS, optimizer="adam", lr=0.01, checkpoint_every_s=0.0)
    torch.manual_seed(SEED)  # the dropout stream: fit does not seed (run_job seeds once)
    result = fit(model, config=config, train_batches=batches, train_step=step,
                 evaluate=evaluate, checkpoint_path=checkpoint, progress=False)
    return {"history": result.history, "best_epoch": result.best_epoch,
            "best_state": result.best_state, "final": model.state_dict()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("result", type=Path)
    parser.add_argument("--step-sleep", type=float, default=0.0, help="seconds per step")
    args = parser.parse_args()
    torch.set_num_threads(1)  # the same arithmetic as the in-process reference
    save_torch(args.result, train(args.checkpoint, args.step_sleep))


if __name__ == "__main__":
    main()
