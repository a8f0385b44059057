"""``mlsplab bench sentiment``: training-step speed of the Q1 models, ours vs a naive baseline.

Naive: fp32, random batches of 32 with every review padded or cut to 256 tokens, the model run
over all 256 positions (padding computed like words), dropout masks drawn by ``torch.nn``
(``bernoulli_``). Ours: length-bucketed batches
(:func:`mlsplab.data.batching.bucket_batches`, reviews up to 400 tokens), padding masked, the
precision a training run uses (:func:`mlsplab.runtime.resolve_precision`), the dense oneDNN
LSTM on the CPU (packed on CUDA), dropout masks from :mod:`mlsplab.models.dropout`.

Both run full training steps (forward, backward, Adam) of the same models on the real review
lengths (word ids are random: speed does not depend on which words). Reported per model:
ms per batch, real (unpadded) tokens per second, and FLOP/s as a fraction of this machine's
attainable FLOP/s, measured in the same run by a 1024^3 matmul in the row's precision (fp32 for
the baseline; bf16 too when ours runs in bf16, whose matmul peak is higher). "useful" counts
only the real tokens; "executed" also counts the padded positions the step computed.
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from mlsplab.cli_options import (
    add_data_dir,
    add_device,
    add_out,
    add_precision,
    add_seed,
    examples,
    positive_int,
)
from mlsplab.data.batching import bucket_batches, collate
from mlsplab.errors import MlsplabError
from mlsplab.experiments.common import experiment_dir, write_metrics
from mlsplab.experiments.ids import BENCH_SENTIMENT
from mlsplab.experiments.q1.config import MAX_TOKENS
from mlsplab.formatting import count
from mlsplab.runtime import (
    Precision,
    autocast,
    cpu_name,
    matmul_flops,
    resolve_precision,
    select_device,
)
from mlsplab.seeding import set_seed

BENCHMARKS = {"sentiment": "our IMDB training step against a naive padded one, and against "
                           "this machine's matrix-multiply speed; about a minute"}

log = logging.getLogger(__name__)

NAIVE_LEN = 256  # the naive baseline pads or cuts every review to this many tokens
OURS_MAX = MAX_TOKENS  # our length cap (as in the experiment)
MODELS = ("lstm-avg", "lstm-attention", "transformer")


def _flops(model: nn.Module, name: str, lengths: np.ndarray, T: int, executed: bool) -> float:
    """Training-step FLOPs (3x forward) of one batch: real ``lengths`` or all B x T positions."""
    per_row = np.full(len(lengths), T) if executed else np.asarray(lengths)
    if name.startswith("lstm"):
        return 3 * model.flops_per_token() * float(per_row.sum())
    c = model.config
    fixed = 2 * c.embed_dim * c.d_model + 8 * c.d_model ** 2 + 4 * c.d_model * c.ff_dim
    # attention: scores and weighted sum, 2 x 2 x keys x d_model per query
    keys = np.full(len(lengths), T) if executed else np.asarray(lengths)
    return 3 * float((per_row * (fixed + 4 * keys * c.d_model)).sum())


def _with_torch_dropout(model: nn.Module) -> nn.Module:
    """``model`` with ``torch.nn``'s dropout, as a naive implementation would have it."""
    from mlsplab.models.dropout import Dropout
    from mlsplab.models.stacked_lstm import StackedLSTM

    for module in list(model.modules()):
        if isinstance(module, StackedLSTM):
            module.__class__ = nn.LSTM  # same parameters; dropout between layers inside torch
        for name, child in module.named_children():
            if isinstance(child, Dropout):
                setattr(module, name, nn.Dropout(child.p))
    return model


def _make_step(model: nn.Module, device: torch.device, precision: Precision, naive: bool):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(b) -> float:
        t0 = time.perf_counter()
        b = b.to(device)
        lengths = torch.full_like(b.lengths, b.ids.shape[1]) if naive else b.lengths
        opt.zero_grad(set_to_none=True)
        with autocast(device, precision):
            logits = model(b.ids, lengths)
        nn.functional.binary_cross_entropy_with_logits(logits.float(), b.labels).backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    return step


def bench_sentiment(*, data_dir=None, n_batches: int = 8, device: str = "auto",
                    precision: str = "auto", seed: int = 0) -> dict[str, Any]:
    """Run the benchmark; returns the rows and the machine facts (see module docstring).

    The batches of "ours" are drawn at random from a real epoch's bucketed batches of the whole
    training split; the naive batches are random groups of 32 training reviews. Naive and ours
    steps alternate, so that load from other processes hits both alike.
    """
    from mlsplab.data.files import IMDB_ZIP, locate
    from mlsplab.data.imdb import load_imdb, split_imdb
    from mlsplab.experiments.q1.config import model_sizes
    from mlsplab.experiments.q1.train import build_model
    from mlsplab.features.tokenizer import tokenize

    if n_batches < 1:
        raise MlsplabError(f"--batches {n_batches}; expected >= 1")
    dev = select_device(device)
    set_seed(seed)
    reviews = load_imdb(locate(IMDB_ZIP, data_dir))
    train = split_imdb(len(reviews), seed).train
    full_len = np.array([max(1, len(tokenize(reviews.texts[i]))) for i in train])
    rng = np.random.default_rng(seed)
    vocab = 1000
    ids = [rng.integers(2, vocab, size=min(n, OURS_MAX)).astype(np.int32) for n in full_len]
    labels = rng.integers(0, 2, size=len(ids))
    epoch = bucket_batches(np.array([len(x) for x in ids]), 32, seed=seed, epoch=1)
    pick = rng.choice(len(epoch), size=min(n_batches + 1, len(epoch)), replace=False)
    ours_batches = [collate(ids, labels, epoch[i]) for i in pick]
    perm = rng.permutation(len(ids))
    naive_batches = [collate(ids, labels, perm[32 * i:32 * (i + 1)], max_tokens=NAIVE_LEN)
                     for i in range(len(ours_batches))]
    for b in naive_batches:  # pad every naive batch to exactly NAIVE_LEN positions
        if b.ids.shape[1] < NAIVE_LEN:
            b.ids = nn.functional.pad(b.ids, (0, NAIVE_LEN - b.ids.shape[1]))
    prec = resolve_precision(precision, dev)
    baseline = Precision("fp32", "baseline")
    # each mode is measured against a matmul in its own precision (bf16 peaks are higher)
    precisions = {p.name: p for p in (baseline, prec)}

    def matmul_peak(p: Precision) -> float:
        return matmul_flops(dev, dtype=p.autocast_dtype or torch.float32)

    peak = {name: matmul_peak(p) for name, p in precisions.items()}
    emb = torch.randn(vocab, 100)
    rows = []
    for name in MODELS:
        modes = {"naive": (naive_batches, baseline), "ours": (ours_batches, prec)}
        steps, secs = {}, {"naive": 0.0, "ours": 0.0}
        for mode, (_, p) in modes.items():
            torch.manual_seed(seed)
            model = build_model(name, model_sizes(name), emb, dev).train()
            if mode == "naive":
                model = _with_torch_dropout(model)
            steps[mode] = _make_step(model, dev, p, naive=mode == "naive")
        for i in range(len(ours_batches)):  # batch 0 of each is the warm-up, not timed
            for mode, (batches, _) in modes.items():
                dt = steps[mode](batches[i])
                secs[mode] += dt if i > 0 else 0.0
        for name_p, p in precisions.items():  # the machine's best, before and after
            peak[name_p] = max(peak[name_p], matmul_peak(p))
        model = build_model(name, model_sizes(name), emb, dev)
        for mode, (batches, p) in modes.items():
            timed = batches[1:]
            real = sum(b.n_tokens for b in timed)
            executed = sum(b.ids.numel() for b in timed)
            f_useful = sum(_flops(model, name, b.lengths.numpy(), b.ids.shape[1], False)
                           for b in timed)
            f_exec = sum(_flops(model, name, b.lengths.numpy(), b.ids.shape[1], True)
                         for b in timed)
            rows.append({
                "model": name, "mode": mode, "precision": p.name,
                "ms_per_batch": 1e3 * secs[mode] / len(timed),
                "real_tokens_per_batch": real / len(timed),
                "real_tokens_per_s": real / secs[mode],
                "padding_fraction": 1 - real / executed,
                "useful_flops_per_s": f_useful / secs[mode],
                "executed_flops_per_s": f_exec / secs[mode],
            })
            log.info("%s %s: %.0f ms/batch, %.0f tokens/s", name, mode,
                     rows[-1]["ms_per_batch"], rows[-1]["real_tokens_per_s"])
    for r in rows:
        r["useful_flops_fraction"] = r["useful_flops_per_s"] / peak[r["precision"]]
        r["executed_flops_fraction"] = r["executed_flops_per_s"] / peak[r["precision"]]
    for name in MODELS:
        naive, ours = [r for r in rows if r["model"] == name]
        ours["speedup_tokens_per_s"] = ours["real_tokens_per_s"] / naive["real_tokens_per_s"]
    return {"rows": rows, "matmul_gflops": {k: v / 1e9 for k, v in peak.items()},
            "device": str(dev), "cpu": cpu_name(),
            "threads": torch.get_num_threads(), "precision": prec.name,
            "precision_reason": prec.reason, "n_batches_timed": len(ours_batches) - 1,
            "naive_len": NAIVE_LEN, "ours_max_tokens": OURS_MAX,
            "epoch_padding_fraction": 1 - sum(len(x) for x in ids) / sum(
                len(b) * max(len(ids[j]) for j in b) for b in epoch)}


def format_table(result: dict[str, Any]) -> str:
    probes = ", ".join(f"{k} {v:.1f}" for k, v in result["matmul_gflops"].items())
    lines = [(f"device {result['device']} ({result['cpu']}); matmul probe GFLOP/s: {probes} "
             f"(%peak is against the probe of the row's precision); ours in {result['precision']} "
             f"({result['precision_reason']}); {count(result['threads'], 'thread')}; "
             f"{result['n_batches_timed']} timed batches per mode; a whole bucketed epoch pads "
             f"{100 * result['epoch_padding_fraction']:.1f} %"),
             (f"naive: fp32, every review padded or cut to {result['naive_len']} tokens, "
              f"torch.nn's dropout; ours: length-bucketed batches of reviews up to "
              f"{result['ours_max_tokens']} tokens, padding masked, mlsplab's dropout masks"),
             (f"{'model':<15}{'mode':<7}{'ms/batch':>10}{'real tok/s':>12}{'pad %':>7}"
             f"{'useful %peak':>14}{'exec %peak':>12}{'speedup':>9}")]
    for r in result["rows"]:
        sp = f"{r['speedup_tokens_per_s']:.2f}x" if "speedup_tokens_per_s" in r else ""
        lines.append(f"{r['model']:<15}{r['mode']:<7}{r['ms_per_batch']:>10.0f}"
                     f"{r['real_tokens_per_s']:>12.0f}{100 * r['padding_fraction']:>7.1f}"
                     f"{100 * r['useful_flops_fraction']:>14.1f}"
                     f"{100 * r['executed_flops_fraction']:>12.1f}{sp:>9}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", nargs="?", choices=BENCHMARKS, metavar="BENCHMARK",
                        help="which benchmark: " + "; ".join(f"{k}: {v}"
                                                             for k, v in BENCHMARKS.items()))
    add_out(parser, what=f"<out>/{BENCH_SENTIMENT}/metrics.json")
    add_data_dir(parser)
    add_seed(parser, drives="reviews timed and initialisation")
    parser.add_argument("--batches", type=positive_int, default=8, metavar="N",
                        help="training batches of 32 timed per model and mode")
    add_device(parser)
    add_precision(parser, applies_to="our training step (the naive baseline is always fp32)")
    parser.epilog = examples(
        ("mlsplab bench sentiment", "time the IMDB models' training step (about a minute)"),
        ("mlsplab bench sentiment --precision fp32", "the same in fp32"),
    )


def main(args: argparse.Namespace) -> int:
    if args.what is None:
        raise MlsplabError("name a benchmark: " + "; ".join(
            f"`mlsplab bench {k}` ({v})" for k, v in BENCHMARKS.items()))
    result = bench_sentiment(data_dir=args.data_dir, n_batches=args.batches, device=args.device,
                             precision=args.precision, seed=args.seed)
    print(format_table(result))
    exp_dir = experiment_dir(args.out, BENCH_SENTIMENT)
    write_metrics(exp_dir, BENCH_SENTIMENT, {"batches": args.batches, "seed": args.seed,
                                      "precision": args.precision}, result)
    print(f"results: {exp_dir / 'metrics.json'}")
    return 0
