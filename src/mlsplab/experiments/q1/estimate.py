"""How long a full Q1 model will take on this machine, from timing a few real-length steps."""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from mlsplab.data.files import IMDB_ZIP, locate
from mlsplab.data.imdb import load_imdb
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q1.config import EMBED_DIM, SentimentConfig
from mlsplab.experiments.q1.data import split_rows
from mlsplab.experiments.q1.train import build_model
from mlsplab.runtime import Precision, autocast, decide_precision, select_device

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=2)
def _split_lengths(zip_path: str, size: int, mtime_ns: int, seed: int) -> dict[str, np.ndarray]:
    """Token counts of each split's reviews (cached: the three estimates tokenize once)."""
    from mlsplab.features.tokenizer import tokenize

    reviews = load_imdb(zip_path)
    rows = split_rows(len(reviews), seed, None)
    return {k: np.array([len(tokenize(reviews.texts[i])) for i in r]) for k, r in rows.items()}


def estimate_seconds(options: RunOptions, *, model: str, probe_seconds: float = 6.0,
                     **_: Any) -> float:
    """Seconds the training of ``model`` under ``options`` will take here (all seeds).

    Tokenizes the real reviews once per process (for their lengths; ~7 s), then times training
    steps on batches of 32 random word ids at two real lengths, the training split's first
    quartile and its 90th percentile, in the precision the run will use. A step's time is taken
    as linear in the batch's length between them: a fixed part (the optimizer, the pooling and
    the output layer) plus a part per position. Attention grows faster than linearly with the
    length, and the line through the two probes lies above that curve between them, so long
    batches are not under-counted the way a cost per token measured at the median length
    under-counts them. The bucketed batches pad little, so an epoch is the number of its
    batches times the fixed part plus its real tokens times the part per position; the
    validation set and the eval-mode training subset are forward passes (about a third of a
    step) every epoch, the test set once at the end.
    """
    cfg = SentimentConfig.from_options(options, model=model)
    dev = select_device(cfg.device)
    precision = decide_precision(options)  # the run's, decided once
    zip_path = locate(IMDB_ZIP, cfg.data_dir)
    st = zip_path.stat()
    lengths = {k: np.minimum(v, cfg.max_tokens) for k, v in
               _split_lengths(str(zip_path), st.st_size, st.st_mtime_ns, cfg.seed).items()}
    torch.manual_seed(0)
    net = build_model(model, cfg.model_config, torch.randn(1000, EMBED_DIM), dev)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    short, long = (max(1, int(q)) for q in np.percentile(lengths["train"], [25, 90]))
    long = max(long, short + 1)
    t_short = _step_seconds(net, opt, cfg.batch_size, short, dev, precision, probe_seconds / 2)
    t_long = _step_seconds(net, opt, cfg.batch_size, long, dev, precision, probe_seconds / 2)
    per_position = max(0.0, (t_long - t_short) / (long - short))
    fixed = max(0.0, t_short - per_position * short)

    def steps(n_reviews: int, tokens: float) -> float:
        return steps_seconds(n_reviews, tokens, cfg.batch_size, fixed, per_position)

    n_eval = min(len(lengths["train"]), cfg.train_eval_reviews)
    eval_tokens = lengths["train"].sum() * n_eval / len(lengths["train"])
    per_epoch = (steps(len(lengths["train"]), lengths["train"].sum())
                 + (steps(len(lengths["val"]), lengths["val"].sum()) + steps(n_eval, eval_tokens)) / 3)
    test = steps(len(lengths["test"]), lengths["test"].sum()) / 3
    log.info("%s: %.0f ms per step of %d x %d tokens, %.0f ms at %d, in %s -> ~%.0f s per epoch",
             model, 1e3 * t_short, cfg.batch_size, short, 1e3 * t_long, long, precision.name,
             per_epoch)
    return float(cfg.seeds * (cfg.epochs * per_epoch + test))


def steps_seconds(n_reviews: int, tokens: float, batch_size: int, fixed: float,
                  per_position: float) -> float:
    """Seconds of the training steps over ``n_reviews`` reviews of ``tokens`` tokens in all, in
    batches of ``batch_size`` that pad little: each batch costs ``fixed`` seconds plus
    ``per_position`` seconds per position (a batch of length T: ``fixed + per_position * T``)."""
    return -(-n_reviews // batch_size) * fixed + per_position * tokens / batch_size


def _step_seconds(net: nn.Module, opt: torch.optim.Optimizer, batch_size: int, length: int,
                  dev: torch.device, precision: Precision, probe_seconds: float) -> float:
    """Mean seconds of one training step on a batch of ``batch_size`` x ``length`` random word
    ids (after one warm-up step; at least 2 steps, at most 20 or ``probe_seconds``)."""
    ids = torch.randint(2, 1000, (batch_size, length), device=dev)
    lens = torch.full((batch_size,), length)
    y = torch.ones(batch_size, device=dev)

    def step() -> None:
        opt.zero_grad()
        with autocast(dev, precision):
            logits = net(ids, lens)
        nn.functional.binary_cross_entropy_with_logits(logits.float(), y).backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()

    step()  # warm-up
    t0, n = time.perf_counter(), 0
    while n < 2 or (time.perf_counter() - t0 < probe_seconds and n < 20):
        step()
        n += 1
    return (time.perf_counter() - t0) / n
