"""Appendix tables about the run itself: where and how long each step ran, and which
configuration (hash) and machine made each result."""

from __future__ import annotations

from typing import Any

from mlsplab.durations import format_duration
from mlsplab.experiments import registry
from mlsplab.report.document import Block, Heading, Paragraph, Table
from mlsplab.report.results import Results, is_quick, iter_dicts


def _find(doc: Any, key: str) -> list[str]:
    """Every string value of ``key`` anywhere in ``doc`` (e.g. the host of every seed's
    training), in order of appearance."""
    return [d[key] for d in iter_dicts(doc) if isinstance(d.get(key), str)]


def _unique(values: list[str]) -> str:
    return ", ".join(dict.fromkeys(values)) or "\u2014"


def timing_blocks(results: Results) -> list[Block]:
    """Wall time, status, host and executor of every step of ``mlsplab reproduce``."""
    timings = results.timings
    if not timings:
        return [Heading("Where and how long each step ran", 2, anchor="timings"),
                Paragraph(f"No wall times: {results.out}/reproduce/timings.json is absent "
                          "(results made by single commands rather than `mlsplab reproduce`).",
                          "note")]
    rows = []
    for key, entry in (timings.get("experiments") or {}).items():
        if not isinstance(entry, dict):
            continue
        try:
            ids = ", ".join(registry.step(key).ids)
        except KeyError:
            ids = "\u2014"
        seconds = entry.get("seconds")
        load = entry.get("load_average")
        rows.append([key, ids, str(entry.get("status", ""))[:120], format_duration(seconds),
                     format_duration(entry.get("seconds_all_calls", seconds)),
                     str(entry.get("host", "\u2014")), str(entry.get("executor", "\u2014")),
                     str(entry.get("threads", "\u2014")),
                     f"{load[0]:.1f}, {load[1]:.1f}" if isinstance(load, list) else "\u2014"])
    caption = (f"Steps of `mlsplab reproduce`: wall time of the last call and of all calls "
               f"(resumes and --time-budget slices add up), the threads of the step's process "
               f"and the machine's 1-minute load average when it started and ended; in all "
               f"{format_duration(timings.get('total_seconds_all_calls'))}, last call "
               f"{format_duration(timings.get('total_seconds'))}, on "
               f"{timings.get('cpu', 'an unrecorded CPU')}. Steps run side by side overlap.")
    return [Heading("Where and how long each step ran", 2, anchor="timings"),
            Table(["step", "results", "status of last call", "last call", "all calls", "host",
                   "executor", "threads", "load"], rows, caption=caption)]


def provenance_blocks(results: Results) -> list[Block]:
    """Config hash, finish time, host and machine of every result."""
    rows, machines = [], {}
    for exp_id, doc in results.docs.items():
        info = doc.get("run_info") if isinstance(doc.get("run_info"), dict) else {}
        machine = f"{info.get('cpu', '?')}" + (f", GPU {info['cuda']}" if info.get("cuda")
                                              else "")
        label = machines.setdefault(machine, f"M{len(machines) + 1}")
        executors = [str(info["executor"])] if info.get("executor") else _find(doc, "executor")
        rows.append([exp_id, str(doc.get("config_hash", "\u2014")),
                     str(info.get("finished_at", "\u2014")),
                     _unique(_find(doc, "host")), _unique(executors), label,
                     "quick" if is_quick(doc) else "full"])
    if not rows:
        return []
    legend = "; ".join(f"{label}: {machine}" for machine, label in machines.items())
    torch = _unique([str(d.get("run_info", {}).get("torch_version"))
                     for d in results.docs.values() if isinstance(d.get("run_info"), dict)])
    return [Heading("Results, configurations and machines", 2, anchor="provenance"),
            Paragraph(REPRODUCIBILITY),
            Table(["result", "config hash", "finished", "host", "executor", "machine", "mode"],
                  rows, caption=f"Every results file read for this report. Machines: {legend}. "
                                f"torch {torch}.")]


# what a rerun promises; the README says the same
REPRODUCIBILITY = (
    "Reproducibility: on the same machine and with the same code (commit), the same seed "
    "gives the same numbers, whether the "
    "run is interrupted and resumed or not, and whichever executor runs the trainings. On "
    "another CPU the floating-point operations are ordered and rounded differently (other "
    "vector instructions, bf16 or fp32, thread counts), so the numbers differ, and should "
    "differ within the spread over seeds; comparing a rerun with this one (report --compare) "
    "says which differences exceed that spread. The conclusions rank two configurations only "
    "when their gap exceeds the seed spread, so that they hold on either machine.")
