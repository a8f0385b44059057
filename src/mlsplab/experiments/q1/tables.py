"""Q1(b-d) tables for the report: settings as run, the comparison, the appendix."""

from __future__ import annotations

from typing import Any

from mlsplab.experiments.q1 import phrases as ph
from mlsplab.experiments.q1.config import BASELINE_ID
from mlsplab.formatting import count
from mlsplab.report.document import Heading, Paragraph, Table


def _architecture(m: dict[str, Any]) -> tuple[str, str]:
    """The layers and where dropout sits, as run."""
    c = m.get("model_config", {})
    if "d_model" in c:
        layers = (f"Linear {c['embed_dim']}\u2192{c['d_model']} + LayerNorm + sinusoidal "
                  f"positions; 1 pre-norm encoder layer, {c['n_heads']} heads, feed-forward "
                  f"{c['ff_dim']} (GELU); masked mean; Linear {c['d_model']}\u21921")
        dropout = (f"{c['dropout']} on word + position sum, sub-layer outputs, pooled vector; "
                   f"attention weights {c['attention_dropout']}, feed-forward inside "
                   f"{c['ff_dropout']}")
        return layers, dropout
    pool = "attention (additive, scorer width " + str(c.get("attention_dim")) + ")" \
        if c.get("pooling") == "attention" else "masked mean"
    layers = (f"{c.get('num_layers')}-layer LSTM({c.get('hidden_dim')}) over frozen "
              f"{c.get('embed_dim')}-d word vectors; pooling: {pool}; Linear "
              f"{c.get('hidden_dim')}\u21921")
    return layers, f"{c.get('dropout')} on embeddings, between LSTM layers, before the classifier"


def settings_rows(m: dict[str, Any]) -> list[tuple[str, str]]:
    """The configuration a reader needs to rerun this model, as run."""
    cfg = m.get("config", {})
    seeds = cfg.get("seeds") or [cfg.get("seed")]
    layers, dropout = _architecture(m)
    return [
        ("architecture", layers),
        ("trainable parameters", f"{m.get('n_parameters', 0):,}"),
        ("dropout", dropout),
        ("optimizer", (f"Adam, learning rate {cfg.get('lr'):g}, gradient-norm clip "
                      f"{cfg.get('grad_clip')}, batch {cfg.get('batch_size')}")),
        ("epochs", (f"{m.get('epochs_completed')} of {cfg.get('epochs')} run; the "
                   "lowest-validation-loss epoch's weights are tested")),
        ("length cap", f"first {cfg.get('max_tokens')} tokens of a review"),
        ("eval-mode training loss", (f"{m.get('train_eval_reviews', 0):,} fixed training "
                                    "reviews, each epoch's end")),
        ("seeds", ", ".join(str(s) for s in seeds)),
        ("precision", f"{m.get('precision')} ({m.get('precision_reason')})"),
        ("word vectors", str((m.get("word_vectors") or {}).get("source"))),
    ]


def comparison_table(results: dict[str, dict[str, Any]]) -> Table:
    """One row per result: test accuracy (all, without twins), epochs, parameters."""
    rows = []
    for exp_id, m in results.items():
        std = m.get("test_accuracy_std")
        rows.append([
            ph.NAMES.get(exp_id, exp_id), ph.pct(m["test_accuracy"], std),
            ph.pct(m.get("test_accuracy_no_train_twin")),
            f"C = {m['chosen_c']:g}" if exp_id == BASELINE_ID else
            f"{m.get('best_epoch')} of {m.get('epochs_completed')}",
            "\u2014" if m.get("n_parameters") is None else f"{m['n_parameters']:,}",
            str(len(m.get("test_accuracy_values") or [1])),
        ])
    return Table(["model", "test accuracy", "without a training twin",
                  "tested epoch (of run) / chosen C", "parameters", "seeds"], rows,
                 caption="Q1 models on the same test split (mean \u00b1 standard deviation "
                         "over seeds where there are several).")


def top_words_table(a: dict[str, Any]) -> Table:
    top, low = a.get("top_words", [])[:10], a.get("bottom_words", [])[:10]
    rows = [[t["word"], f"{t['weight_ratio']:.2f}", f"{t['count']:,}",
             lw["word"] if lw else "", f"{lw['weight_ratio']:.2f}" if lw else "",
             f"{lw['count']:,}" if lw else ""]
            for t, lw in zip(top, low + [None] * (len(top) - len(low)))]
    return Table(["most weighted", "weight \u00d7 length", "count", "least weighted",
                  "weight \u00d7 length", "count"], rows,
                 caption=f"Mean attention weight relative to uniform, over the test reviews, "
                         f"of words seen at least {a.get('min_count')} times there.")


def _vocabulary(m: dict[str, Any]) -> str:
    """The embedding table's rows: the word vectors plus the model's own tokens."""
    rows, words = m.get("vocab_size") or 0, (m.get("word_vectors") or {}).get("vocab_size")
    if words and rows > words:
        return (f"embedding table of {rows:,} rows: {words:,} word vectors and "
                f"{count(rows - words, 'special token')} (padding, unknown)")
    return f"vocabulary {rows:,} words"


def appendix(exp_id: str, m: dict[str, Any]) -> list[Any]:
    """Per-seed results, the first seed's epochs, and provenance of ``exp_id``."""
    blocks: list[Any] = [Heading(f"{ph.NAMES[exp_id]} ({exp_id})", level=3)]
    per_seed = m.get("per_seed") or []
    if per_seed:
        blocks.append(Table(
            ["seed", "host", "epochs", "best epoch", "test", "test, last epoch",
             "test without twin", "test twins"],
            [[str(p["seed"]), str(p.get("where")), str(p.get("epochs_completed")),
              str(p.get("best_epoch")), ph.pct(p.get("test_accuracy")),
              ph.pct(p.get("test_accuracy_last")), ph.pct(p.get("test_accuracy_no_train_twin")),
              str((p.get("duplicate_audit") or {}).get("test_rows_with_train_twin", "\u2014"))]
             for p in per_seed], caption="Each seed (its own split, word vectors and "
                                         "initialisation)."))
    h = m.get("history") or []
    if h:
        blocks.append(Table(
            ["epoch", "train loss (train mode)", "train loss (eval mode)", "val loss",
             "val accuracy", "s training", "s eval-mode train loss"],
            [[str(r["epoch"]), f"{r['train_loss']:.4f}",
              "\u2014" if r.get("train_eval_loss") is None else f"{r['train_eval_loss']:.4f}",
              f"{r['val_loss']:.4f}", ph.pct(r["val_accuracy"]), f"{r['seconds']:.0f}",
              "\u2014" if r.get("train_eval_seconds") is None else f"{r['train_eval_seconds']:.1f}"]
             for r in h], caption="Every epoch of the first seed."))
    dec = m.get("precision_decision") or {}
    blocks.append(Paragraph(
        f"Precision {m.get('precision')}: {m.get('precision_reason')} (source: "
        f"{dec.get('source', 'requested')}; machine: {dec.get('machine', m.get('cpu'))}). "
        f"Ran on {', '.join(m.get('where') or []) or 'this host'} ({m.get('device')}, "
        f"{count(m.get('threads') or 0, 'thread')}); config hash {m.get('config_hash')}; "
        "data sha256 "
        f"{(m.get('data') or {}).get('sha256', '?')[:16]}\u2026; {_vocabulary(m)}, unknown-token rate "
        f"{100 * (m.get('unknown_token_rate') or 0):.2f} %.", style="note"))
    return blocks
