"""``mlsplab predict``: label reviews of your own with the trained IMDB sentiment models.

Each trained model of a results folder (``<out>/<id>/model.pt``, written by the first seed of
``mlsplab sentiment`` / ``reproduce``) holds its best-validation weights, its configuration and
its vocabulary with the word vectors, and loads with ``torch.load(weights_only=True)``. For
every review and model the command prints the label and its probability; for LSTM + attention
also the most-weighted words, and ``--html FILE`` writes the reviews with each word
highlighted by its attention weight.

    mlsplab predict "A wonderful, moving film." "Two hours I will never get back."
    mlsplab predict --file my_reviews.txt --model lstm-attention --html attention.html
    echo "Not bad at all." | mlsplab predict -
"""

from __future__ import annotations

import argparse
import html
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlsplab.cli_options import add_alias, add_runs, examples, positive_int
from mlsplab.errors import MlsplabError
from mlsplab.experiments.q1.config import MODEL_IDS, OLD_MODEL_FILE_FORMAT, SENTIMENT_KIND

TOP_WORDS = 5


@dataclass
class Predictor:
    """One trained model ready to label reviews."""

    name: str  # "lstm-avg", "lstm-attention", "transformer"
    model: Any  # torch.nn.Module in eval mode
    index: dict[str, int]  # word -> row of the embedding matrix
    max_tokens: int
    path: Path


def load_predictor(path: Path) -> Predictor:
    """Load ``model.pt`` (weights, config, vocabulary) with ``weights_only=True``.

    Raises
    ------
    MlsplabError
        If the file is unreadable or not a sentiment model of this version.
    """
    import torch

    from mlsplab.data.batching import N_SPECIAL
    from mlsplab.experiments.q1.train import build_model
    from mlsplab.training import MODEL_FORMAT

    try:
        doc = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for corrupt or foreign files
        raise MlsplabError(f"{path}: not a readable model file ({type(e).__name__}); train "
                           "it again with `mlsplab sentiment`") from e
    # this version's model.pt (the one format of every question), or an earlier version's
    if not isinstance(doc, dict) or (doc.get("format"), doc.get("kind")) not in (
            (MODEL_FORMAT, SENTIMENT_KIND), (OLD_MODEL_FILE_FORMAT, None)):
        raise MlsplabError(f"{path}: not an mlsplab sentiment model (format "
                           f"{doc.get('format') if isinstance(doc, dict) else '?'!r}); train "
                           "it again with `mlsplab sentiment`")
    model = build_model(doc["model"], doc["model_config"], doc["vectors"])
    model.load_state_dict(doc["state_dict"])
    model.eval()
    index = {w: N_SPECIAL + i for i, w in enumerate(doc["words"])}
    return Predictor(doc["model"], model, index, int(doc["max_tokens"]), path)


def find_predictors(out: Path, model: str | None) -> list[Predictor]:
    """The trained models under ``out`` (or just ``model``), in the assignment's order."""
    if model is not None and model not in MODEL_IDS:
        raise MlsplabError(f"--model {model!r}; expected one of {sorted(MODEL_IDS)}")
    names = [model] if model else list(MODEL_IDS)
    found = [(n, out / MODEL_IDS[n] / "model.pt") for n in names]
    found = [(n, p) for n, p in found if p.is_file()]
    if not found:
        what = f"trained {model} model" if model else "trained sentiment model"
        example = model or "lstm-attention"
        raise MlsplabError(f"--runs {out}: no {what} (no {out}/<id>/model.pt); train one with "
                           f"`mlsplab sentiment --model {example} --out {out}` (add --quick "
                           "for a minutes-long smoke run)")
    return [load_predictor(p) for _, p in found]


def read_reviews(texts: list[str], file: Path | None, stdin: Any = None) -> list[str]:
    """Reviews from the arguments (``-`` reads stdin, one per line) and ``--file``.

    Raises
    ------
    MlsplabError
        If no review is given, the file cannot be read, or a review is empty.
    """
    reviews: list[tuple[str, str]] = []  # (where, text)
    for i, t in enumerate(texts, 1):
        if t == "-":
            lines = (stdin or sys.stdin).read().splitlines()
            reviews += [(f"stdin line {j}", line) for j, line in enumerate(lines, 1)]
        else:
            reviews.append((f"argument {i}", t))
    if file is not None:
        try:
            lines = Path(file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise MlsplabError(f"--file {file}: cannot read it ({e}); pass a UTF-8 text file "
                               "with one review per line") from e
        reviews += [(f"{file} line {j}", line) for j, line in enumerate(lines, 1)]
    if not reviews:
        raise MlsplabError("no review given: pass reviews as arguments, --file FILE (one per "
                           "line), or - to read them from stdin")
    for where, text in reviews:
        if not text.strip():
            raise MlsplabError(f"{where}: empty review; write a review there or remove it")
    return [t for _, t in reviews]


def _encode(review: str, p: Predictor, number: int) -> tuple[list[str], list[int]]:
    from mlsplab.data.batching import UNK_ID
    from mlsplab.features.tokenizer import tokenize

    words = tokenize(review)[:p.max_tokens]
    ids = [p.index.get(w, UNK_ID) for w in words]
    if not words or all(i == UNK_ID for i in ids):
        short = review if len(review) <= 40 else review[:37] + "..."
        raise MlsplabError(f"review {number} ({short!r}) has no word that the {p.name} model "
                           "knows; write it in English words (the vocabulary is IMDB's)")
    return words, ids


def predict_reviews(predictors: list[Predictor], reviews: list[str],
                    top_words: int = TOP_WORDS) -> list[dict[str, Any]]:
    """For each review: per model the label, its probability, p(positive) and (attention
    pooling) every word's weight and the ``top_words`` most-weighted words."""
    import torch

    results = []
    for n, review in enumerate(reviews, 1):
        per_model = []
        for p in predictors:
            words, ids = _encode(review, p, n)
            x = torch.tensor([ids])  # (1, T)
            with torch.no_grad():
                if p.name == "lstm-attention":
                    logit, alpha = p.model(x, torch.tensor([len(ids)]), return_attention=True)
                    weights = alpha[0].tolist()  # (T,)
                else:
                    logit, weights = p.model(x, torch.tensor([len(ids)])), None
            prob = float(torch.sigmoid(logit.float())[0])
            row: dict[str, Any] = {"model": p.name, "label": "positive" if prob > 0.5 else
                                   "negative", "probability": max(prob, 1 - prob),
                                   "p_positive": prob, "words": words}
            if weights is not None:
                order = sorted(range(len(words)), key=lambda i: -weights[i])[:top_words]
                row["weights"] = weights
                row["top_words"] = [(words[i], weights[i]) for i in order]
            per_model.append(row)
        results.append({"review": review, "models": per_model})
    return results


def format_text(results: list[dict[str, Any]]) -> str:
    """The printed answer: one block per review, one line per model."""
    lines = []
    for n, r in enumerate(results, 1):
        text = r["review"] if len(r["review"]) <= 70 else r["review"][:67] + "..."
        lines.append(f"review {n}: {text}")
        for m in r["models"]:
            line = f"  {m['model']:<15} {m['label']:<8} probability {m['probability']:.2f}"
            if "top_words" in m:
                line += "; most weighted: " + ", ".join(f"{w} ({a:.2f})"
                                                       for w, a in m["top_words"])
            lines.append(line)
    return "\n".join(lines)


def write_html(path: Path, results: list[dict[str, Any]]) -> Path:
    """The reviews with each word's background set by its attention weight relative to uniform
    (white at or below 1/length); every label and probability beside them. Text is escaped."""
    from mlsplab.io import atomic_write_text

    parts = [("<!DOCTYPE html><html><head><meta charset='utf-8'><title>mlsplab predict"
             "</title><style>body{font-family:sans-serif;max-width:50em;margin:2em auto}"
             "span.w{padding:0 .1em;border-radius:.2em}</style></head><body>"),
             "<h1>Reviews and what the models say</h1>",
             ("<p>Highlight: the LSTM + attention model's weight on each word (darkest = the "
             "largest weight in that review).</p>")]
    for n, r in enumerate(results, 1):
        parts.append(f"<h2>Review {n}</h2><ul>")
        for m in r["models"]:
            parts.append(f"<li>{html.escape(m['model'])}: <b>{m['label']}</b>, probability "
                         f"{m['probability']:.2f}</li>")
        parts.append("</ul>")
        att = next((m for m in r["models"] if "weights" in m), None)
        if att is None:
            parts.append(f"<p>{html.escape(r['review'])}</p>")
            continue
        T = len(att["weights"])
        scale = max(2.0, max(att["weights"]) * T) - 1.0  # ratio mapped to full colour
        spans = [f"<span class='w' style='background:rgba(220,40,30,"
                 f"{min(1.0, max(0.0, a * T - 1.0) / scale):.2f})' title='weight {a:.3f}, "
                 f"{a * T:.1f}x uniform'>{html.escape(w)}</span>"
                 for w, a in zip(att["words"], att["weights"])]
        parts.append("<p>" + " ".join(spans) + "</p>")
    parts.append("</body></html>")
    return atomic_write_text(path, "\n".join(parts))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("reviews", nargs="*", metavar="REVIEW",
                        help="reviews to label; - reads reviews from stdin, one per line")
    parser.add_argument("--file", type=Path, default=None,
                        help="a UTF-8 text file with one review per line")
    add_runs(parser, what="the trained models <runs>/<id>/model.pt, written by `mlsplab "
                          "reproduce` or `mlsplab sentiment`")
    parser.add_argument("--model", default=None, choices=sorted(MODEL_IDS),
                        help="only this model; none given: every trained one")
    parser.add_argument("--top", type=positive_int, default=TOP_WORDS, metavar="N",
                        help="the N words LSTM + attention weighted most, per review")
    add_alias(parser, "--top-words", "--top", "top", type=positive_int)
    parser.add_argument("--html", type=Path, default=None, metavar="FILE",
                        help="also write the reviews with words highlighted by attention")
    parser.epilog = examples(
        ('mlsplab predict "A moving, beautifully acted film."', "label one review"),
        ("mlsplab predict --file reviews.txt --html words.html",
         "one review a line; attention highlights in HTML"),
        ("echo 'Dull and far too long.' | mlsplab predict -", "reviews from stdin"),
        ("mlsplab predict --runs runs-quick --model lstm-avg 'Great fun.'",
         "the model of a quick run (needs its q1b step)"),
    )


def main(args: argparse.Namespace) -> int:
    reviews = read_reviews(args.reviews, args.file)
    predictors = find_predictors(Path(args.runs), args.model)
    results = predict_reviews(predictors, reviews, top_words=args.top)
    print(format_text(results))
    if args.html is not None:
        if not any(p.name == "lstm-attention" for p in predictors):
            print("(no lstm-attention model: the HTML shows labels without highlights)")
        print(f"html: {write_html(args.html, results)}")
    return 0
