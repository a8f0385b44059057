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
from mlsplab.runtime import autocast, decide_precision, select_device

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

    Tokenizes the real reviews once per process (for their lengths; ~7 s), times training
    steps on batches of 32 at the median training length with random word ids, in the
    precision the run will use, and extrapolates by real tokens: per epoch the training split,
    plus forward passes over the validation set and the eval-mode training subset (a forward
    pass costs about a third of a step), plus the test set once at the end.
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
    T = int(np.median(lengths["train"]))
    ids = torch.randint(2, 1000, (cfg.batch_size, T), device=dev)
    lens = torch.full((cfg.batch_size,), T)
    y = torch.ones(cfg.batch_size, device=dev)

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
    per_token = (time.perf_counter() - t0) / n / (cfg.batch_size * T)
    train_tokens = lengths["train"].sum()
    eval_tokens = lengths["val"].sum() + train_tokens * min(
        1.0, cfg.train_eval_reviews / len(lengths["train"]))
    per_epoch = per_token * (train_tokens + eval_tokens / 3)
    test = per_token * lengths["test"].sum() / 3
    log.info("%s: %.2f ms per step of %d x %d tokens in %s -> ~%.0f s per epoch", model,
             per_token * 1e3 * cfg.batch_size * T, cfg.batch_size, T, precision.name, per_epoch)
    return float(cfg.seeds * (cfg.epochs * per_epoch + test))
