"""Read a results folder for the report: every ``<out>/<id>/metrics.json`` the registry knows,
the run's timings, and what could not be read. Never raises for a bad file: a report of a
partial or damaged folder is still a report.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlsplab.errors import MlsplabError
from mlsplab.experiments import registry
from mlsplab.io import read_json

log = logging.getLogger(__name__)

TIMINGS = Path("reproduce") / "timings.json"


@dataclass
class Results:
    """What a results folder holds."""

    out: Path
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> metrics, registry order
    problems: list[str] = field(default_factory=list)  # one line per file that could not be read
    unknown: list[str] = field(default_factory=list)  # folders with metrics unknown to registry
    timings: dict[str, Any] | None = None  # <out>/reproduce/timings.json

    @property
    def quick(self) -> bool:
        """Whether any result was made in quick mode."""
        return any(is_quick(doc) for doc in self.docs.values())


def iter_dicts(doc: Any, depth: int = 6) -> Iterator[dict[str, Any]]:
    """Every dict inside a metrics document (``doc`` itself first), down to ``depth`` levels;
    only the first 200 items of a list are visited (long curves hold no records)."""
    if depth < 0:
        return
    if isinstance(doc, dict):
        yield doc
        for value in doc.values():
            yield from iter_dicts(value, depth - 1)
    elif isinstance(doc, list):
        for value in doc[:200]:
            yield from iter_dicts(value, depth - 1)


def is_quick(doc: dict[str, Any]) -> bool:
    """Whether a metrics document comes from a quick-mode run."""
    config = doc.get("config")
    return doc.get("quick") is True or (isinstance(config, dict) and config.get("quick") is True)


def reproduce_command(step_keys: list[str], out: Path) -> str:
    """The command that (re)produces the results of ``step_keys`` in ``out``."""
    return f"mlsplab reproduce --only {','.join(step_keys)} --out {out}"


def steps_of(ids: list[str]) -> list[str]:
    """The step keys producing ``ids``, in registry order, without repeats."""
    keys = []
    for exp_id in ids:
        try:
            keys.append(registry.step_of(exp_id).key)
        except KeyError:  # an id no step writes: nothing to suggest
            continue
    return list(dict.fromkeys(keys))


def part_command(part: registry.Part, out: Path) -> str:
    """The command that produces a missing part: the steps that belong to it (for Q1(d):
    q1d and q1-comparison), or, for a part with no step of its own, those writing its ids."""
    keys = [s.key for s in registry.STEPS if s.part == part.key] or steps_of(
        list(part.experiment_ids))
    return reproduce_command(keys, out)


def _read(path: Path) -> dict[str, Any]:
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise MlsplabError(f"{path}: expected a JSON object, found {type(doc).__name__}")
    return doc


def load_results(out: str | Path) -> Results:
    """Read every known result under ``out``; unreadable files become :attr:`Results.problems`.

    Parameters
    ----------
    out : str or Path
        A results folder written by ``mlsplab reproduce`` (it may be partial).
    """
    out = Path(out)
    results = Results(out)
    for exp_id in registry.all_ids():
        path = out / exp_id / "metrics.json"
        if not path.exists():
            continue
        try:
            results.docs[exp_id] = _read(path)
        except (MlsplabError, OSError) as e:
            command = reproduce_command(steps_of([exp_id]), out)
            results.problems.append(f"{exp_id}/metrics.json could not be read ({e}); "
                                    f"rebuild it with `{command}`")
            log.warning("report: skipping %s: %s", path, e)
    known = set(registry.all_ids()) | set(registry.AUXILIARY_IDS) | {"report", "reproduce"}
    results.unknown = sorted(p.parent.name for p in out.glob("*/metrics.json")
                             if p.parent.name not in known)
    timings_path = out / TIMINGS
    if timings_path.exists():
        try:
            results.timings = _read(timings_path)
        except (MlsplabError, OSError) as e:
            results.problems.append(f"{TIMINGS} could not be read ({e}); the appendix has no "
                                    "wall times")
    return results
