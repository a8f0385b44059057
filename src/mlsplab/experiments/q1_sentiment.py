"""Q1(b-d): IMDB sentiment with frozen word2vec features: LSTM + average pooling, LSTM +
attention pooling, one transformer encoder layer.

Each model trains for the assignment's 25 epochs, batch 32, Adam, with the shared trainer
(:func:`mlsplab.training.fit`: atomic checkpoints, resume after a kill, best-validation weights)
and writes ``<out>/<id>/metrics.json``, ``loss_curves.png`` (and ``attention.png`` for Q1c).
:func:`compare` tabulates whichever of the three are finished. Design notes: docs/sentiment.md.
"""

from __future__ import annotations

import argparse
import copy
import functools
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mlsplab.data.batching import (
    Vocabulary, bucket_batches, collate, encode, length_stats, unknown_rate,
    vocabulary_from_keyed_vectors,
)
from mlsplab.data.files import IMDB_ZIP, locate, provenance
from mlsplab.data.imdb import load_imdb, split_imdb
from mlsplab.errors import MlsplabError
from mlsplab.experiments.common import (
    add_common_args, budget_deadline, experiment_dir, finished_metrics, write_metrics,
)
from mlsplab.io import read_json
from mlsplab.models.lstm_classifier import LSTMClassifier, LSTMConfig
from mlsplab.models.transformer_classifier import TransformerClassifier, TransformerConfig
from mlsplab.runtime import PRECISIONS, Precision, autocast, choose_precision, cpu_name, \
    select_device
from mlsplab.seeding import set_seed
from mlsplab.training import TrainConfig, fit, load_checkpoint

log = logging.getLogger(__name__)

MODEL_IDS = {"lstm-avg": "q1b-lstm-avg", "lstm-attention": "q1c-lstm-attention",
             "transformer": "q1d-transformer"}
COMPARISON_ID = "q1-comparison"
EMBED_DIM = 100  # the assignment's 100-d word2vec vectors
EPOCHS = 25  # the assignment's training length
BATCH_SIZE = 32  # the assignment's batch size
MAX_TOKENS = 400  # keep the first 400 tokens: cuts 12.9 % of reviews, ~4 % of all tokens
EVAL_BATCH_SIZE = 64  # evaluation only; no effect on the numbers beyond float rounding
# Adam step sizes: the default 1e-3 for the LSTMs; 3e-4 for the transformer, chosen on the
# validation split over {1e-3, 3e-4} (and dropout {0.1, 0.3}): docs/sentiment.md
LEARNING_RATES = {"lstm-avg": 1e-3, "lstm-attention": 1e-3, "transformer": 3e-4}
GRAD_CLIP = 1.0  # max global gradient norm: guards the LSTMs against exploding gradients
QUICK = {"n_train": 2000, "n_val": 500, "n_test": 500, "max_tokens": 128, "epochs": 2}


# ---------------------------------------------------------------------------------------------
# data


@dataclass
class SentimentData:
    """Token ids and labels of each split, and what was measured about them."""

    vocab: Vocabulary
    ids: dict[str, list[np.ndarray]]  # split -> list of (length_i,) int32 arrays
    labels: dict[str, np.ndarray]  # split -> (n,) int64
    texts_val: list[str]
    lengths: dict[str, Any]  # length_stats of the training split
    unknown_rate: float
    provenance: dict[str, Any]
    vectors: dict[str, Any]  # word-vector info from get_word_vectors


def get_word_vectors(train_texts, **kwargs):
    """Indirection to :func:`mlsplab.features.word_vectors.get_word_vectors` (tests patch it)."""
    from mlsplab.features.word_vectors import get_word_vectors as _get

    return _get(train_texts, **kwargs)


def _split_rows(n_reviews: int, seed: int, quick: bool) -> dict[str, np.ndarray]:
    split = split_imdb(n_reviews, seed)
    rows = {"train": split.train, "val": split.val, "test": split.test}
    if quick:  # the split is random, so its first rows are a random subset
        rows = {k: v[:QUICK[f"n_{k}"]] for k, v in rows.items()}
    return rows


def load_data(*, out: Path, data_dir: Path | None, seed: int, quick: bool,
              max_tokens: int | None) -> SentimentData:
    """Load the reviews, split them, get word vectors (train text only) and encode every split.

    Raises
    ------
    MlsplabError
        For a missing/corrupt data file, an empty split, or word vectors that are not 100-d.
    """
    zip_path = locate(IMDB_ZIP, data_dir)
    reviews = load_imdb(zip_path)
    rows = _split_rows(len(reviews), seed, quick)
    for name, r in rows.items():
        if len(r) == 0:
            raise MlsplabError(f"{zip_path}: the {name} split is empty ({len(reviews)} reviews); "
                               "use a file with more reviews")
    kv, info = get_word_vectors([reviews.texts[i] for i in rows["train"]],
                                cache_dir=Path(out) / "cache", data_dir=data_dir, seed=seed,
                                quick=quick)
    vocab = vocabulary_from_keyed_vectors(kv, expected_dim=EMBED_DIM,
                                          source=str(info.get("cache_path", "word vectors")))
    ids, labels, full = {}, {}, {}
    for name, r in rows.items():
        ids[name], full[name] = encode([reviews.texts[i] for i in r], vocab,
                                       max_tokens=max_tokens)
        labels[name] = reviews.labels[r]
    stats = length_stats(full["train"], max_tokens)
    log.info("train reviews: mean %.0f tokens, %.1f %% cut at %s tokens; %d-word vocabulary",
             stats["mean"], 100 * stats["fraction_reviews_truncated"], max_tokens, len(vocab))
    return SentimentData(vocab, ids, labels, [reviews.texts[i] for i in rows["val"]], stats,
                         unknown_rate(ids["train"]), provenance(zip_path), info)


# ---------------------------------------------------------------------------------------------
# models


def model_config(model_name: str, dropout: float | None = None) -> LSTMConfig | TransformerConfig:
    """The hyperparameters of ``model_name`` (see docs/sentiment.md for how they were chosen);
    ``dropout`` overrides the model's main dropout rate."""
    if dropout is not None and not 0.0 <= dropout < 1.0:
        raise MlsplabError(f"--dropout {dropout}; expected 0 <= dropout < 1")
    extra = {} if dropout is None else {"dropout": dropout}
    if model_name == "lstm-avg":
        return LSTMConfig(embed_dim=EMBED_DIM, pooling="mean", **extra)
    if model_name == "lstm-attention":
        return LSTMConfig(embed_dim=EMBED_DIM, pooling="attention", **extra)
    if model_name == "transformer":
        return TransformerConfig(embed_dim=EMBED_DIM, **extra)
    raise MlsplabError(f"--model {model_name!r} is not a sentiment model; expected one of "
                       f"{sorted(MODEL_IDS)}")


def build_model(model_name: str, embeddings: torch.Tensor,
                device: torch.device = torch.device("cpu"), *,
                dropout: float | None = None) -> nn.Module:
    """The classifier ``model_name`` over frozen ``embeddings`` (vocab_size, 100), on ``device``.

    LSTMs use a PackedSequence on CUDA (cuDNN) and the dense LSTM + masking on the CPU (oneDNN);
    both give the same outputs (docs/sentiment.md).
    """
    config = model_config(model_name, dropout)
    if embeddings.ndim != 2 or embeddings.shape[1] != EMBED_DIM:
        raise MlsplabError(f"embeddings of shape {tuple(embeddings.shape)}; expected "
                           f"(vocab_size, {EMBED_DIM}): use {EMBED_DIM}-d word vectors")
    if isinstance(config, LSTMConfig):
        config.packed = device.type == "cuda"
        model: nn.Module = LSTMClassifier(config, embeddings)
    else:
        model = TransformerClassifier(config, embeddings)
    return model.to(device)


def _config_dict(config: LSTMConfig | TransformerConfig) -> dict[str, Any]:
    d = asdict(config)
    d.pop("packed", None)  # an implementation choice with identical outputs, not a setting
    return d


def n_parameters(model: nn.Module) -> int:
    """Trainable parameters (the frozen word vectors are buffers, not counted)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ---------------------------------------------------------------------------------------------
# train / evaluate


def _forward(model: nn.Module, batch, device: torch.device,
             precision: Precision) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-review BCE losses (B,) and logits (B,) of a :class:`Batch`."""
    b = batch.to(device)
    with autocast(device, precision):
        logits = model(b.ids, b.lengths)  # (B,)
    return nn.functional.binary_cross_entropy_with_logits(
        logits.float(), b.labels, reduction="none"), logits.float()


def evaluate(model: nn.Module, ids: list[np.ndarray], labels: np.ndarray, device: torch.device,
             precision: Precision) -> dict[str, float]:
    """Mean BCE loss and accuracy of ``model`` on one split (eval mode, no grad)."""
    was_training = model.training
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for rows in bucket_batches(np.array([len(r) for r in ids]), EVAL_BATCH_SIZE, seed=0,
                                   epoch=0, shuffle=False):
            batch = collate(ids, labels, rows)
            losses, logits = _forward(model, batch, device, precision)
            loss += float(losses.sum())
            correct += int(((logits > 0).cpu().float() == batch.labels).sum())
    model.train(was_training)
    return {"loss": loss / len(ids), "accuracy": correct / len(ids)}


def _probe_factory(model: nn.Module, data: SentimentData):
    def make_step(device: torch.device):
        probe = copy.deepcopy(model)
        rows = np.arange(min(8, len(data.ids["train"])))
        batch = collate(data.ids["train"], data.labels["train"], rows, max_tokens=64).to(device)

        def step() -> None:
            probe(batch.ids, batch.lengths).float().sum().backward()

        return step

    return make_step


def experiment_config(model_name: str, *, seed: int, quick: bool, epochs: int | None,
                      max_tokens: int | None, vectors: dict[str, Any] | None = None,
                      lr: float | None = None, dropout: float | None = None) -> dict[str, Any]:
    """Everything that determines the numbers of a run (its hash keys resume and skip)."""
    mcfg = model_config(model_name, dropout)
    return {
        "model": model_name,
        "model_config": _config_dict(mcfg),
        "epochs": epochs if epochs is not None else (QUICK["epochs"] if quick else EPOCHS),
        "batch_size": BATCH_SIZE,
        "optimizer": "adam",
        "lr": LEARNING_RATES[model_name] if lr is None else lr,
        "grad_clip": GRAD_CLIP,
        "max_tokens": max_tokens if max_tokens is not None else (
            QUICK["max_tokens"] if quick else MAX_TOKENS),
        "seed": seed,
        "quick": quick,
        "subset": {k: QUICK[f"n_{k}"] for k in ("train", "val", "test")} if quick else None,
        "word_vectors": None if vectors is None else {
            "source": vectors.get("source"), "params": vectors.get("params"),
            "cache": Path(str(vectors.get("cache_path", ""))).name or None},
    }


def _deviations(config: dict[str, Any], data: SentimentData) -> list[str]:
    dev = []
    if config["epochs"] != EPOCHS:
        n = config["epochs"]
        dev.append(f"trained {n} epoch{'s' if n != 1 else ''} instead of the assignment's "
                   f"{EPOCHS}")
    if config["quick"]:
        s = config["subset"]
        dev.append(f"quick mode: {s['train']} train / {s['val']} validation / {s['test']} test "
                   "reviews instead of 40000 / 5000 / 5000, and quick (poor) word vectors")
    frac = data.lengths["fraction_reviews_truncated"]
    if frac > 0:
        dev.append(f"reviews cut to their first {config['max_tokens']} tokens "
                   f"({100 * frac:.1f} % of training reviews, "
                   f"{100 * data.lengths['fraction_tokens_dropped']:.1f} % of training tokens)")
    src = str(data.vectors.get("source", ""))
    if src.startswith("word2vec trained"):
        dev.append(f"word vectors: {src}, not a downloaded pretrained word2vec (offline)")
    return dev


def run(model_name: str, out: str | Path, *, data_dir: str | Path | None = None, seed: int = 0,
        quick: bool = False, epochs: int | None = None, max_tokens: int | None = None,
        device: str = "auto", precision: str = "auto", progress: bool = True,
        deadline: float | None = None, lr: float | None = None,
        dropout: float | None = None) -> dict[str, Any]:
    """Train (or resume, or skip if finished) one Q1 sentiment model and write its results.

    Parameters
    ----------
    model_name : {"lstm-avg", "lstm-attention", "transformer"}
    out : path
        Results folder; writes ``<out>/<MODEL_IDS[model_name]>/``.
    data_dir : path, optional
        Where the IMDB zip (and unlabelled reviews) are; see ``data.files.locate``.
    seed : int, default=0
        Drives split, word vectors, init, dropout and batch order.
    quick : bool, default=False
        Small subsets (``QUICK``) for a smoke test; recorded as a deviation.
    epochs, max_tokens : int, optional
        Overrides of 25 epochs / 400 tokens (recorded in config and deviations).
    device : str, default="auto"
        ``auto`` uses CUDA when present.
    precision : {"auto", "fp32", "bf16"}
        ``auto``: bf16 autocast only where a probe shows it runs and is faster.
    deadline : float, optional
        ``time.time()`` at which to stop; metrics are then written with ``"complete": false``
        and the next call resumes.
    lr, dropout : float, optional
        Overrides of the model's Adam step size (``LEARNING_RATES``) and main dropout rate,
        for validation sweeps (recorded in the config, so they key resume and skip).

    Returns
    -------
    dict
        The metrics document (as written to ``metrics.json``).
    """
    if model_name not in MODEL_IDS:
        raise MlsplabError(f"--model {model_name!r} is not a sentiment model; expected one of "
                           f"{sorted(MODEL_IDS)}")
    if precision not in PRECISIONS:
        raise MlsplabError(f"--precision={precision!r}; expected one of {PRECISIONS}")
    if epochs is not None and epochs < 1:
        raise MlsplabError(f"--epochs {epochs}; expected >= 1")
    if lr is not None and not (lr > 0 and math.isfinite(lr)):
        raise MlsplabError(f"--lr {lr}; expected a positive number")
    exp_id = MODEL_IDS[model_name]
    out = Path(out)
    exp_dir = experiment_dir(out, exp_id)
    dev = select_device(device)
    set_seed(seed)
    base = experiment_config(model_name, seed=seed, quick=quick, epochs=epochs,
                             max_tokens=max_tokens, lr=lr, dropout=dropout)
    data = load_data(out=out, data_dir=data_dir, seed=seed, quick=quick,
                     max_tokens=base["max_tokens"])
    config = experiment_config(model_name, seed=seed, quick=quick, epochs=epochs,
                               max_tokens=max_tokens, vectors=data.vectors, lr=lr,
                               dropout=dropout)
    if (done := finished_metrics(exp_dir, config)) is not None:
        return done

    set_seed(seed)
    model = build_model(model_name, torch.from_numpy(data.vocab.vectors), dev, dropout=dropout)
    ckpt_path = exp_dir / "checkpoint.pt"
    prec = _resumed_precision(ckpt_path, precision) or choose_precision(
        precision, dev, make_step=_probe_factory(model, data))
    log.info("%s: %d parameters on %s, precision %s (%s)", exp_id, n_parameters(model), dev,
             prec.name, prec.reason)
    set_seed(seed)
    train_lengths = np.array([len(r) for r in data.ids["train"]])

    def train_batches(epoch: int) -> list[np.ndarray]:
        return bucket_batches(train_lengths, BATCH_SIZE, seed=seed, epoch=epoch)

    def train_step(m: nn.Module, rows: np.ndarray) -> tuple[torch.Tensor, int]:
        losses, _ = _forward(m, collate(data.ids["train"], data.labels["train"], rows), dev, prec)
        return losses.sum(), len(rows)

    train_cfg = TrainConfig(epochs=config["epochs"], optimizer="adam", lr=config["lr"],
                            grad_clip=GRAD_CLIP)
    t0 = time.perf_counter()
    result = fit(model, config=train_cfg, train_batches=train_batches, train_step=train_step,
                 evaluate=lambda m: evaluate(m, data.ids["val"], data.labels["val"], dev, prec),
                 checkpoint_path=ckpt_path, run_config={**config, "precision": prec.name},
                 seed=seed,
                 progress=progress, desc=exp_id, deadline=deadline)
    wall = time.perf_counter() - t0
    history = result.history
    metrics: dict[str, Any] = {
        "complete": result.finished,
        "epochs_planned": config["epochs"],
        "epochs_completed": len(history),
        "history": history,
        "best_epoch": result.best_epoch or None,
        "n_parameters": n_parameters(model),
        "device": str(dev),
        "cpu": cpu_name(),
        "threads": torch.get_num_threads(),
        "precision": prec.name,
        "precision_reason": prec.reason,
        "lstm_input": ("packed sequences" if getattr(model.config, "packed", False)
                       else "dense + masking") if model_name != "transformer" else None,
        "data": data.provenance,
        "sizes": {k: len(v) for k, v in data.ids.items()},
        "lengths": data.lengths,
        "unknown_token_rate": data.unknown_rate,
        "vocab_size": len(data.vocab),
        "word_vectors": {k: data.vectors.get(k) for k in
                         ("source", "vocab_size", "corpus_tokens", "cache_path", "warnings")},
        "deviations": _deviations(config, data),
    }
    if history:
        train_tokens = sum(len(r) for r in data.ids["train"])
        train_seconds = sum(h["seconds"] for h in history)
        metrics["seconds_per_epoch"] = train_seconds / len(history)
        metrics["tokens_per_second"] = train_tokens * len(history) / max(train_seconds, 1e-9)
        # "last" means the last finished epoch; a run stopped at its deadline holds weights
        # from inside an unfinished epoch, so it has no last-epoch test number yet
        last = (evaluate(model, data.ids["test"], data.labels["test"], dev, prec)
                if result.finished else {"accuracy": None, "loss": None})
        model.load_state_dict(result.best_state)
        best = evaluate(model, data.ids["test"], data.labels["test"], dev, prec)
        metrics.update(test_accuracy=best["accuracy"], test_loss=best["loss"],
                       test_accuracy_last=last["accuracy"], test_loss_last=last["loss"])
        if model_name == "lstm-attention":
            metrics["attention_examples"] = _attention_examples(model, data, dev, exp_dir)
        _plot_losses({exp_id: history}, exp_dir / "loss_curves.png",
                     title=f"{exp_id}: BCE loss per epoch")
    metrics["wall_seconds_this_call"] = wall
    metrics["summary"] = _summary(exp_id, metrics)
    write_metrics(exp_dir, exp_id, config, metrics)
    return read_json(exp_dir / "metrics.json")


def _resumed_precision(ckpt_path: Path, requested: str) -> Precision | None:
    """The precision an interrupted run was trained in, when ``--precision auto`` resumes it.

    The probe's verdict can change from call to call (a busy machine, a bf16 speedup near the
    threshold); a resumed run keeps its precision so that it ends with the numbers of an
    uninterrupted one. An explicit ``fp32``/``bf16`` that differs is refused by the trainer.
    """
    if requested != "auto" or not ckpt_path.exists():
        return None
    name = load_checkpoint(ckpt_path)["identity"]["run"].get("precision")
    return Precision(name, "kept from the interrupted run's checkpoint") if name else None


def _summary(exp_id: str, m: dict[str, Any]) -> list[str]:
    s = []
    h = m["history"]
    if not h:
        return [f"{exp_id}: no epoch finished yet (stopped at the time budget)."]
    if not m["complete"]:
        s.append(f"The run stopped at its time budget after {len(h)} epoch(s) of "
                 f"{m.get('epochs_planned', '?')}; the numbers are for that partial run.")
    b = h[m["best_epoch"] - 1]
    s.append(f"{exp_id} ({m['n_parameters']:,} trainable parameters) reached "
             f"{100 * m['test_accuracy']:.2f} % test accuracy with the best-validation model "
             f"(epoch {m['best_epoch']}, validation loss {b['val_loss']:.4f}, validation "
             f"accuracy {100 * b['val_accuracy']:.2f} %)"
             + (f" and {100 * m['test_accuracy_last']:.2f} % with the last-epoch model."
                if m.get("test_accuracy_last") is not None else "."))
    gap = h[-1]["val_loss"] - h[-1]["train_loss"]
    trend = ""
    if len(h) > 1:
        trend = ("; validation loss rose after its minimum, a sign of overfitting"
                 if m["best_epoch"] < len(h) and h[-1]["val_loss"] > b["val_loss"] + 0.02
                 else "; validation loss did not rise materially after its minimum")
    s.append(f"At the last epoch the training loss was {h[-1]['train_loss']:.4f} and the "
             f"validation loss {h[-1]['val_loss']:.4f} (gap {gap:+.4f}){trend}.")
    s.append(f"An epoch took {m['seconds_per_epoch']:.0f} s on {m['device']} ({m['cpu']}) in "
             f"{m['precision']} ({m['tokens_per_second']:.0f} training tokens/s).")
    return s


# ---------------------------------------------------------------------------------------------
# figures


def _plot_losses(histories: dict[str, list[dict[str, float]]], path: Path, *, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from mlsplab.io import atomic_write

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, (name, hist) in enumerate(histories.items()):
        ep = [h["epoch"] for h in hist]
        color = f"C{i}"
        ax.plot(ep, [h["train_loss"] for h in hist], "-", color=color, label=f"{name} train")
        ax.plot(ep, [h["val_loss"] for h in hist], "--", color=color, label=f"{name} validation")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_xlabel("epoch")
    ax.set_ylabel("BCE loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)


def _attention_examples(model: nn.Module, data: SentimentData, device: torch.device,
                        exp_dir: Path, n_examples: int = 4, max_words: int = 40
                        ) -> list[dict[str, Any]]:
    """Attention weights of the best model over the words of a few short validation reviews;
    draws ``attention.png`` and returns the examples (words, weights, label, probability)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mlsplab.features.tokenizer import tokenize
    from mlsplab.io import atomic_write

    lengths = np.array([len(r) for r in data.ids["val"]])
    # the first validation reviews short enough to read on one line, of both labels
    rows = [i for i in range(len(lengths)) if 8 <= lengths[i] <= max_words][:n_examples]
    if not rows:
        rows = list(range(min(n_examples, len(lengths))))
    model.eval()
    examples = []
    with torch.no_grad():
        for r in rows:
            ids = torch.from_numpy(data.ids["val"][r].astype(np.int64))[None].to(device)  # (1,T)
            lens = torch.tensor([ids.shape[1]])
            logit, alpha = model(ids, lens, return_attention=True)  # (1,), (1, T)
            words = tokenize(data.texts_val[r])[:ids.shape[1]] or ["<unk>"]
            examples.append({"row": int(r), "label": int(data.labels["val"][r]),
                             "p_positive": float(torch.sigmoid(logit)[0]),
                             "words": words, "weights": alpha[0].cpu().tolist()})
    fig, axes = plt.subplots(len(examples), 1, figsize=(12, 1.9 * len(examples)), squeeze=False)
    for ax, ex in zip(axes[:, 0], examples):
        w = np.array(ex["weights"])
        # colour spans this review's own min..max weight; the title gives the scale
        ax.imshow(w[None, :], aspect="auto", cmap="Reds", vmin=w.min(), vmax=w.max())
        ax.set_xticks(range(len(ex["words"])))
        ax.set_xticklabels(ex["words"], rotation=60, fontsize=8)
        ax.set_yticks([])
        ax.set_title(f"validation review {ex['row']}: label "
                     f"{'positive' if ex['label'] else 'negative'}, "
                     f"p(positive) = {ex['p_positive']:.2f}; weights {w.min():.3f}-{w.max():.3f} "
                     f"(uniform would be {1 / len(w):.3f})", fontsize=9)
    fig.suptitle("Attention weights over the words of validation reviews (darker = more weight)")
    fig.tight_layout()
    atomic_write(exp_dir / "attention.png", lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)
    return examples


# ---------------------------------------------------------------------------------------------
# comparison


def compare(out: str | Path) -> dict[str, Any]:
    """Table of the finished Q1(b-d) runs and generated sentences; writes
    ``<out>/q1-comparison/metrics.json`` and ``loss_curves.png``.

    Raises
    ------
    MlsplabError
        If none of the three has a metrics.json with results.
    """
    out = Path(out)
    rows, histories, sources = [], {}, {}
    for name, exp_id in MODEL_IDS.items():
        path = out / exp_id / "metrics.json"
        if not path.exists():
            continue
        m = read_json(path)
        h = m.get("history") or []
        if not h or "test_accuracy" not in m:
            continue
        b = h[m["best_epoch"] - 1]
        rows.append({
            "experiment": exp_id, "model": name, "n_parameters": m["n_parameters"],
            "seconds_per_epoch": m["seconds_per_epoch"], "epochs_completed": len(h),
            "complete": m.get("complete", True), "best_epoch": m["best_epoch"],
            "best_val_loss": b["val_loss"], "best_val_accuracy": b["val_accuracy"],
            "test_accuracy": m["test_accuracy"], "test_accuracy_last": m["test_accuracy_last"],
            "train_val_gap_at_best": b["val_loss"] - b["train_loss"],
            "train_val_gap_last": h[-1]["val_loss"] - h[-1]["train_loss"],
            "precision": m.get("precision"), "device": m.get("device"),
        })
        histories[exp_id] = h
        # a resumed run keeps its config hash but gains epochs: both identify the input
        sources[exp_id] = [m.get("config_hash"), len(h), m.get("complete", True)]
    if not rows:
        raise MlsplabError(f"no finished Q1(b-d) results under {out}; run `mlsplab sentiment "
                           "--model ...` first")
    exp_dir = experiment_dir(out, COMPARISON_ID)
    finished = finished_metrics(exp_dir, {"inputs": sources})
    if finished is not None:
        return finished
    _plot_losses(histories, exp_dir / "loss_curves.png",
                 title="Q1(b-d): training (solid) and validation (dashed) BCE loss")
    metrics = {"table": rows, "missing": [i for i in MODEL_IDS.values() if i not in histories],
               "summary": _compare_sentences(rows)}
    write_metrics(exp_dir, COMPARISON_ID, {"inputs": sources}, metrics)
    return read_json(exp_dir / "metrics.json")


def _compare_sentences(rows: list[dict[str, Any]]) -> list[str]:
    s = []
    best = max(rows, key=lambda r: r["test_accuracy"])
    worst = min(rows, key=lambda r: r["test_accuracy"])
    s.append(f"Highest test accuracy: {best['experiment']} at "
             f"{100 * best['test_accuracy']:.2f} %" + (
                 f"; lowest: {worst['experiment']} at {100 * worst['test_accuracy']:.2f} % "
                 f"({100 * (best['test_accuracy'] - worst['test_accuracy']):.2f} points apart)."
                 if len(rows) > 1 else "."))
    fast = min(rows, key=lambda r: r["seconds_per_epoch"])
    slow = max(rows, key=lambda r: r["seconds_per_epoch"])
    if len(rows) > 1:
        s.append(f"{fast['experiment']} was the fastest at {fast['seconds_per_epoch']:.0f} s per "
                 f"epoch, {slow['seconds_per_epoch'] / fast['seconds_per_epoch']:.1f}x faster than "
                 f"{slow['experiment']} ({slow['seconds_per_epoch']:.0f} s); parameters: "
                 + ", ".join(f"{r['experiment']} {r['n_parameters']:,}" for r in rows) + ".")
    for r in rows:
        where = ("early" if r["best_epoch"] <= max(1, r["epochs_completed"] // 3) else
                 "late" if r["best_epoch"] >= r["epochs_completed"] - 1 else "midway")
        s.append(f"{r['experiment']}: validation loss was lowest at epoch {r['best_epoch']} of "
                 f"{r['epochs_completed']} ({where}); at the last epoch validation loss exceeded "
                 f"training loss by {r['train_val_gap_last']:+.3f}"
                 + (" (overfitting after the best epoch)" if r["train_val_gap_last"] > 0.1
                    and r["best_epoch"] < r["epochs_completed"] else "") + ".")
    if any(not r["complete"] for r in rows):
        s.append("Runs marked incomplete stopped at a time budget; their numbers are partial.")
    return s


# ---------------------------------------------------------------------------------------------
# time estimate


@functools.lru_cache(maxsize=2)
def _split_lengths(zip_path: str, size: int, mtime_ns: int) -> dict[str, np.ndarray]:
    """Token counts of each split's reviews (cached: the three estimates tokenize once)."""
    from mlsplab.features.tokenizer import tokenize

    reviews = load_imdb(zip_path)
    rows = _split_rows(len(reviews), 0, False)
    return {k: np.array([len(tokenize(reviews.texts[i])) for i in r]) for k, r in rows.items()}


def estimate_seconds(model_name: str, *, data_dir: str | Path | None = None, epochs: int = EPOCHS,
                     max_tokens: int | None = None, device: str = "auto",
                     probe_seconds: float = 6.0) -> float:
    """Seconds a full run of ``model_name`` will take here, from timing a few real-length batches.

    Tokenizes the real reviews once per process (for their lengths; ~7 s), times fp32 steps on
    batches of 32 at the median training length with random word ids, and extrapolates by
    real tokens: ``epochs * (train + val/test forward passes)``.
    """
    if model_name not in MODEL_IDS:
        raise MlsplabError(f"--model {model_name!r} is not a sentiment model; expected one of "
                           f"{sorted(MODEL_IDS)}")
    max_tokens = max_tokens or MAX_TOKENS
    dev = select_device(device)
    zip_path = locate(IMDB_ZIP, data_dir)
    st = zip_path.stat()
    lengths = {k: np.minimum(v, max_tokens) for k, v in
               _split_lengths(str(zip_path), st.st_size, st.st_mtime_ns).items()}
    torch.manual_seed(0)
    model = build_model(model_name, torch.randn(1000, EMBED_DIM), dev)
    opt = torch.optim.Adam(model.parameters(), lr=LEARNING_RATES[model_name])
    T = int(np.median(lengths["train"]))
    ids = torch.randint(2, 1000, (BATCH_SIZE, T), device=dev)
    lens = torch.full((BATCH_SIZE,), T)
    y = torch.ones(BATCH_SIZE, device=dev)

    def step() -> None:
        opt.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(model(ids, lens), y)
        loss.backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()

    step()  # warm-up
    t0, n = time.perf_counter(), 0
    while n < 2 or (time.perf_counter() - t0 < probe_seconds and n < 20):
        step()
        n += 1
    per_token = (time.perf_counter() - t0) / n / (BATCH_SIZE * T)
    eval_tokens = lengths["val"].sum() + lengths["test"].sum() / epochs  # test once at the end
    per_epoch = per_token * (lengths["train"].sum() + eval_tokens / 3)  # forward ~1/3 of a step
    log.info("%s: %.2f ms per training token-batch step -> ~%.0f s per epoch", model_name,
             per_token * 1e3 * BATCH_SIZE * T, per_epoch)
    return float(epochs * per_epoch)


# ---------------------------------------------------------------------------------------------
# CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help=f"one of {sorted(MODEL_IDS)}")
    add_common_args(parser)
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"override the assignment's {EPOCHS} epochs (recorded as a deviation)")
    parser.add_argument("--max-tokens", type=int, default=None,
                        help=f"keep at most this many tokens per review (default {MAX_TOKENS}; "
                             f"quick {QUICK['max_tokens']})")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test on small subsets (2000/500/500 reviews, 2 epochs)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="auto: bf16 autocast only where a probe shows it runs and is faster")
    parser.add_argument("--lr", type=float, default=None,
                        help="Adam step size (default: the model's, see docs/sentiment.md)")
    parser.add_argument("--dropout", type=float, default=None,
                        help="the model's main dropout rate (default: the model's)")
    parser.add_argument("--time-budget", type=float, default=None, metavar="HOURS",
                        help="stop after this many hours with a checkpoint; rerun to resume")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--compare", action="store_true",
                        help="afterwards, write the q1-comparison table of finished models")


def main(args: argparse.Namespace) -> int:
    m = run(args.model, args.out, data_dir=args.data_dir, seed=args.seed, quick=args.quick,
            epochs=args.epochs, max_tokens=args.max_tokens, device=args.device,
            precision=args.precision, progress=not args.no_progress,
            deadline=budget_deadline(args.time_budget),
            lr=args.lr, dropout=args.dropout)
    for line in m.get("summary", []):
        print(line)
    print(f"results: {Path(args.out) / MODEL_IDS[args.model]}")
    if args.compare:
        for line in compare(args.out)["summary"]:
            print(line)
    if not m.get("complete", True):
        return 3
    return 0 if not math.isnan(m.get("test_accuracy", 0.0)) else 1
