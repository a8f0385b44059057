"""``mlsplab report --compare REF``: this run's headline numbers beside a reference run's.

For every result with a ``test_accuracy`` in either folder: both values (± their spread over
seeds, ``test_accuracy_std``, when recorded), the difference, and the difference measured in
the combined spread (the root of the sum of the two variances) where there is one.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from mlsplab.errors import MlsplabError
from mlsplab.experiments import registry
from mlsplab.formatting import percent, points
from mlsplab.report.document import Block, Heading, Paragraph, Table
from mlsplab.report.parts import short_label
from mlsplab.report.results import Results, is_quick, load_results


def load_reference(ref: str | Path) -> Results:
    """The reference run's results.

    Raises
    ------
    MlsplabError
        If ``ref`` is not a folder or holds no results this version knows.
    """
    ref = Path(ref)
    if not ref.is_dir():
        raise MlsplabError(f"--compare {ref}: no such folder; give a results folder written "
                           "by `mlsplab reproduce` (e.g. results/reference)")
    reference = load_results(ref)
    if not reference.docs:
        raise MlsplabError(f"--compare {ref}: no results in it (no <id>/metrics.json of any "
                           "experiment); give a folder written by `mlsplab reproduce`, e.g. "
                           "results/reference")
    return reference


def _number(doc: dict[str, Any] | None, key: str) -> float | None:
    value = (doc or {}).get(key)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok and math.isfinite(value) else None


def _label(exp_id: str) -> str:
    """The first part (assignment order) that reads ``exp_id``."""
    part = next((p for p in registry.PARTS if exp_id in p.experiment_ids), None)
    return short_label(part) if part else "\u2014"


def _versus_spread(diff: float, std_this: float | None, std_ref: float | None) -> str:
    """The difference against the seeds' spread, in words."""
    stds = [s for s in (std_this, std_ref) if s is not None]
    if not stds:
        return "one seed: no spread"
    spread = math.sqrt(sum(s * s for s in stds))
    if spread == 0:
        return "spread 0"
    ratio = abs(diff) / spread
    return "within the spread" if ratio <= 1 else f"{ratio:.1f} \u00d7 the spread"


def _notes(this: dict[str, Any] | None, ref: dict[str, Any] | None) -> str:
    if this is None or ref is None:
        return "only in " + ("the reference" if this is None else "this run")
    notes = []
    if is_quick(this) != is_quick(ref):
        notes.append("quick vs full settings")
    if this.get("config_hash") != ref.get("config_hash"):
        notes.append("other configuration")
    return "; ".join(notes) or "same configuration"


def comparison_blocks(results: Results, reference: Results) -> list[Block]:
    """The comparison section: one row per result with a test accuracy in either run."""
    rows = []
    for exp_id in registry.all_ids():
        this, ref = results.docs.get(exp_id), reference.docs.get(exp_id)
        acc_this, acc_ref = _number(this, "test_accuracy"), _number(ref, "test_accuracy")
        if acc_this is None and acc_ref is None:
            continue
        std_this, std_ref = _number(this, "test_accuracy_std"), _number(ref, "test_accuracy_std")
        both = acc_this is not None and acc_ref is not None
        diff = acc_this - acc_ref if both else None  # type: ignore[operator]
        rows.append([_label(exp_id), exp_id, percent(acc_this, std_this, digits=2),
                     percent(acc_ref, std_ref, digits=2),
                     points(diff, digits=2) if diff is not None else "\u2014",
                     _versus_spread(diff, std_this, std_ref) if diff is not None else "\u2014",
                     _notes(this, ref)])
    blocks: list[Block] = [Heading(f"Comparison with the reference run {reference.out}", 1,
                                   anchor="comparison")]
    if not rows:
        return blocks + [Paragraph("Neither run recorded a test accuracy.", "note")]
    return blocks + [Table(
        ["part", "result", "this run", "reference", "difference", "against seed spread",
         "note"], rows,
        caption=f"Test accuracy of this run ({results.out}) and of the reference "
                f"({reference.out}), mean \u00b1 std over seeds where several ran; the "
                "difference in percentage points, and its size relative to the combined "
                r"spread $\sqrt{s^2 + s_\mathrm{ref}^2}$ of the two runs' standard deviations.")]
