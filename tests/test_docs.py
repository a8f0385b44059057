"""The README and docs/ describe the project as it is: every file they name exists, and they
speak of no internal work (issues, stops, the team's targets)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
# a path from the repository root, in backticks or as a link: `src/mlsplab/cli.py`, (docs/x.md)
ROOTED = re.compile(r"(?<![\w./-])((?:src|tests|docs|results)/(?:[\w./-]|\{[\w,]+\})*[\w}])")
BRACES = re.compile(r"\{([\w,]+)\}")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
WRITTEN = re.compile(r"results/[^/]+/(report|cache)/")  # outputs of `mlsplab report` (git-ignored)
INTERNAL = re.compile(r"\b(?:issue|stop)s? \d+|\bteam'?s? targets?\b|\bour targets?\b",
                      re.IGNORECASE)


def expand(name: str) -> list[str]:
    """``tests/test_q1_{train,steps}.py`` -> the two paths it stands for."""
    match = BRACES.search(name)
    if match is None:
        return [name]
    return [path for part in match.group(1).split(",")
            for path in expand(name[:match.start()] + part + name[match.end():])]


def names_of(text: str) -> set[str]:
    """Repository paths a document names, from the repository root (braces expanded)."""
    return {path for name in ROOTED.findall(text) for path in expand(name)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_named_file_exists(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = sorted(name for name in names_of(text)
                     if "<" not in name and "*" not in name and not WRITTEN.match(name)
                     and not (ROOT / name).exists())
    links = [target for target in LINK.findall(text) if "://" not in target]
    missing += sorted(t for t in links if not (doc.parent / t).exists())
    assert not missing, f"{doc.name} names files that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_no_internal_references(doc: Path) -> None:
    hits = [line.strip()[:120] for line in doc.read_text(encoding="utf-8").splitlines()
            if INTERNAL.search(line)]
    assert not hits, f"{doc.name} speaks of internal work: {hits}"


def test_the_checks_catch_what_they_should() -> None:
    assert names_of("see `tests/test_flags_reach_configs.py` and (docs/esc10.md).") == {
        "tests/test_flags_reach_configs.py", "docs/esc10.md"}
    assert not (ROOT / "tests/test_flags_reach_configs.py").exists()
    assert names_of("`tests/test_q1_{train,steps}.py`") == {"tests/test_q1_train.py",
                                                           "tests/test_q1_steps.py"}
    for text in ("as in issue 12 item 4", "Stop 8 ran", "below the team's target",
                 "the team targets"):
        assert INTERNAL.search(text), text
    assert not INTERNAL.search("the loss with one-hot targets z_t")
