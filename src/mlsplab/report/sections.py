"""Build the report's :class:`Document` from the ``metrics.json`` files under ``<out>``.

Nothing here computes a result: every number printed is read from a results file and only
formatted. Sentences that compare or conclude come from each experiment's ``summary`` list,
which the experiment generated from its own measurements.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlsplab.durations import format_duration
from mlsplab.io import read_json
from mlsplab.report.document import Bullets, Document, Figure, Heading, Paragraph, Table
from mlsplab.report.tables import specific_blocks

log = logging.getLogger(__name__)

QUICK_BANNER = "QUICK MODE \u2014 not the assignment's settings"


@dataclass(frozen=True)
class Section:
    title: str
    asks: str  # what the assignment asks, in one line
    experiment_ids: tuple[str, ...]


SECTIONS: tuple[Section, ...] = (
    Section("Q1(a): Word embeddings and PCA",
            "100-d word2vec embeddings, PCA 100\u21922 fitted on training words, scatter of the "
            "words of 10 validation sentences; report any semantic clustering.",
            ("q1a-embeddings",)),
    Section("Q1(b\u2013d): Sentiment classifiers",
            "2-layer LSTM(256) with average pooling (b) and attention pooling (c), one "
            "transformer encoder layer (d); BCE, 25 epochs, batch 32, Adam; train/validation "
            "loss curves, test accuracy; compare and contrast.",
            ("q1b-lstm-avg", "q1c-lstm-attention", "q1d-transformer", "q1-comparison")),
    Section("Q2: Time-delay neural network",
            "Number of learnable parameters and the backpropagation update of every parameter "
            "for a TDNN with ReLU hidden units without bias and softmax outputs.",
            ("q2-tdnn",)),
    Section("Q3: ESC-10 sound classification",
            "128-band log-mel CNN; (a) SGD / SGD+momentum / RMSprop / Adam, (b) no-norm / "
            "LayerNorm / BatchNorm, (c) ensembles by posterior averaging and by linear weights "
            "fitted on validation; comment on the gains.",
            ("q3a-sgd", "q3a-sgd-momentum", "q3a-rmsprop", "q3a-adam", "q3b-none",
             "q3b-layernorm", "q3b-batchnorm", "q3c-ensemble", "q3x-augmented", "q3x-ensemble")),
    Section("Q4: CNN layer vs dense layer",
            "Computational complexity and memory of a CNN layer vs a dense layer; a CNN layer as "
            "a weight-shared sparse dense layer, and a CNN layer that acts as a dense layer.",
            ("q4-conv-dense",)),
)

# Published results for context (different splits/protocols from ours; see citations).
ANCHORS: dict[str, list[tuple[str, str]]] = {
    "Q1(b\u2013d): Sentiment classifiers": [
        ("Maas et al. 2011, word vectors + bag of words (ACL 2011)", "88.89 %"),
        ("Wang & Manning 2012, NBSVM-bigram (ACL 2012)", "91.22 %"),
    ],
    "Q3: ESC-10 sound classification": [
        ("Piczak 2015, random forest on MFCC (ACM MM 2015)", "72.7 %"),
        ("Piczak 2015, CNN on log-mel (MLSP 2015)", "80.5 %"),
        ("Human listeners (Piczak, ACM MM 2015)", "95.7 %"),
    ],
}
ANCHOR_NOTE = ("Published numbers use their own protocols (IMDB: the official 25k/25k split; "
               "ESC-10: 5-fold cross-validation), so they are context, not a like-for-like "
               "comparison with our single seeded split.")


def load_results(out: Path) -> dict[str, dict[str, Any]]:
    """Every ``<out>/<id>/metrics.json`` keyed by id (unreadable ones are logged and skipped)."""
    results: dict[str, dict[str, Any]] = {}
    order = [i for section in SECTIONS for i in section.experiment_ids]
    paths = sorted(Path(out).glob("*/metrics.json"), key=lambda p: (
        order.index(p.parent.name) if p.parent.name in order else len(order), p.parent.name))
    for path in paths:
        try:
            results[path.parent.name] = read_json(path)
        except Exception as e:  # a broken file must not stop the report
            log.warning("skipping %s: %s", path, e)
    return results


def fmt(value: Any, digits: int = 4) -> str:
    """Format a metric value for a table cell."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    if isinstance(value, list):
        return ", ".join(fmt(v, digits) for v in value[:12]) + (" \u2026" if len(value) > 12
                                                                 else "")
    return str(value)


def pct(value: Any, std: Any = None) -> str:
    """A fraction as a percentage, with ``± std`` when given."""
    if not isinstance(value, (int, float)):
        return "\u2014"
    text = f"{100 * value:.1f} %"
    if isinstance(std, (int, float)):
        text = f"{100 * value:.1f} \u00b1 {100 * std:.1f} %"
    return text


def _flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            items.extend(_flatten(v, key + "."))
        else:
            items.append((key, v))
    return items


def _setting_table(doc: dict[str, Any]) -> Table:
    rows = [[k, fmt(v)] for k, v in _flatten(doc.get("config", {}))
            if not isinstance(v, list) or len(v) <= 12]
    return Table(["setting", "value"], rows, caption="Configuration as run.")


def _figure_caption(doc: dict[str, Any], png: Path) -> str:
    captions = doc.get("figures", {})
    if isinstance(captions, dict) and png.name in captions:
        return str(captions[png.name])
    return png.stem.replace("_", " ").replace("-", " ")


def experiment_blocks(exp_id: str, doc: dict[str, Any], exp_dir: Path, *,
                      stated_above: frozenset[str] = frozenset()) -> list:
    """The generic blocks of one experiment: headline numbers, tables, summary, figures.

    Deviations in ``stated_above`` were already stated for the whole question and are not
    repeated here.
    """
    blocks: list = [Heading(exp_id, 2)]
    if doc.get("quick"):
        blocks.append(Paragraph(QUICK_BANNER, "warning"))
    for dev in doc.get("deviations", []) or []:
        if dev not in stated_above:
            blocks.append(Paragraph(f"Deviation from the assignment: {dev}", "warning"))
    headline = []
    for key in ("test_accuracy", "test_accuracy_last", "val_accuracy", "best_epoch",
                "epochs_completed", "n_parameters", "tokens_per_second"):
        if key in doc and not isinstance(doc[key], (dict, list)):
            std = doc.get(f"{key}_std")
            value = pct(doc[key], std) if "accuracy" in key else fmt(doc[key])
            headline.append([key.replace("_", " "), value])
    if "precision" in doc:
        reason = doc.get("precision_reason", "")
        headline.append(["precision", f"{doc['precision']} {reason}".strip()])
    if headline:
        blocks.append(Table(["result", "value"], headline))
    blocks.extend(specific_blocks(exp_id, doc))
    for table in doc.get("tables", []) or []:
        blocks.append(Table([str(h) for h in table.get("header", [])],
                            [[fmt(c) for c in row] for row in table.get("rows", [])],
                            caption=str(table.get("title", ""))))
    if doc.get("summary"):
        blocks.append(Bullets([str(s) for s in doc["summary"]]))
    for png in sorted(exp_dir.glob("*.png")):
        blocks.append(Figure(png, _figure_caption(doc, png)))
    blocks.append(Paragraph(f"Results file: {exp_dir.name}/metrics.json; "
                            f"config hash {doc.get('config_hash', '?')}.", "note"))
    return blocks


def _headline_rows(results: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for exp_id, doc in results.items():
        if "test_accuracy" in doc and not isinstance(doc["test_accuracy"], (dict, list)):
            rows.append([exp_id, pct(doc["test_accuracy"], doc.get("test_accuracy_std")),
                         _headline_note(doc)])
    return rows


def _headline_note(doc: dict[str, Any]) -> str:
    """What a reader must know beside a headline number: quick mode, a partial run, or a
    run beyond the assignment."""
    notes = []
    if doc.get("quick"):
        notes.append("quick mode")
    if doc.get("complete") is False:
        notes.append(f"partial: {len(doc.get('history') or [])} of "
                     f"{doc.get('epochs_planned', '?')} epochs (time budget)")
    if doc.get("beyond_assignment"):
        notes.append("beyond the assignment")
    return "; ".join(notes) or "-"


def deviation_owners(docs: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Each stated deviation once, with the experiments that state it, sorted by text."""
    where: dict[str, list[str]] = {}
    for exp_id, doc in docs.items():
        for dev in doc.get("deviations") or []:
            where.setdefault(dev, []).append(exp_id)
    return dict(sorted(where.items()))


def section_blocks(section: Section, results: dict[str, dict[str, Any]], out: Path) -> list:
    """One question of the assignment: what it asks, its experiments, published anchors."""
    blocks: list = [Heading(section.title),
                    Paragraph(f"The assignment asks: {section.asks}", "note")]
    found = [i for i in section.experiment_ids if i in results]
    # a deviation of several of the question's experiments is stated once, at its top
    shared = {dev: ids for dev, ids in deviation_owners({i: results[i] for i in found}).items()
              if len(ids) > 1}
    for dev, ids in shared.items():
        who = "every experiment below" if len(ids) == len(found) else ", ".join(ids)
        blocks.append(Paragraph(f"Deviation from the assignment, for {who}: {dev}", "warning"))
    for exp_id in found:
        blocks.extend(experiment_blocks(exp_id, results[exp_id], out / exp_id,
                                        stated_above=frozenset(shared)))
    if not found:
        blocks.append(Paragraph(f"No results yet for this question in {out} (run `mlsplab "
                                f"reproduce --out {out}`).", "warning"))
    if section.title in ANCHORS:
        blocks += [Heading("Published results for context", 3),
                   Table(["source", "accuracy"], [list(a) for a in ANCHORS[section.title]],
                         caption=ANCHOR_NOTE)]
    return blocks


def build_document(out: Path, *, timings: dict[str, Any] | None = None) -> Document:
    """Assemble the whole report from the results under ``out``."""
    out = Path(out)
    results = load_results(out)
    quick = any(d.get("quick") for d in results.values())
    info = next((d["run_info"] for d in results.values() if "run_info" in d), {})
    doc = Document(
        title="MLSP Assignment 3 \u2014 reproduced by mlsplab",
        subtitle=(f"generated {time.strftime('%Y-%m-%d %H:%M')} from {len(results)} results in "
                  f"{out}; machine: {info.get('cpu', 'unknown')}"
                  + (f", GPU {info['cuda']}" if info.get("cuda") else "")
                  + f"; torch {info.get('torch_version', '?')}"),
        banner=QUICK_BANNER if quick else "",
    )
    doc.add(Heading("Overview"))
    if quick:
        doc.add(Paragraph("This report was made in quick mode: small subsets and few epochs. "
                          "Its numbers check that the pipeline works; they are not the "
                          "assignment's results.", "warning"))
    deviations = [f"{', '.join(ids)}: {dev}" for dev, ids in deviation_owners(results).items()]
    if deviations:
        doc.add(Paragraph("Deviations from the assignment's settings, as run:"),
                Bullets(deviations))
    else:
        doc.add(Paragraph("Every experiment ran with the assignment's settings."))
    rows = _headline_rows(results)
    if rows:
        doc.add(Table(["experiment", "test accuracy", "note"], rows,
                      caption="Headline test accuracies (mean \u00b1 std over seeds where "
                              "several seeds ran)."))
    for section in SECTIONS:
        doc.add(*section_blocks(section, results, out))
    if timings:
        doc.add(Heading("Where the time went"),
                Table(["step", "last call", "wall time of last call",
                       "wall time, all calls"],
                      [[k, str(v.get("status", ""))[:80], format_duration(v.get("seconds")),
                        format_duration(v.get("seconds_all_calls", v.get("seconds")))]
                       for k, v in timings.get("experiments", {}).items()],
                      caption=f"Wall time of the steps over all `mlsplab reproduce` calls "
                              f"(resumes and --time-budget slices add up): "
                              f"{format_duration(timings.get('total_seconds_all_calls'))}; last "
                              f"call {format_duration(timings.get('total_seconds'))} on "
                              f"{timings.get('cpu', 'this machine')}. Steps run side by side "
                              "overlap in time."))
    return doc
