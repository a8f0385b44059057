"""One CLI convention: every command's help has examples and prints each default once; a shared
flag has one definition; old spellings still work with a warning; errors are one line."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlsplab import cli_options
from mlsplab.cli import COMMANDS, build_parser, main

SHARED = ("--seed", "--device", "--precision", "--out", "--data-dir", "--runs", "--quick")


def command_parser(name: str) -> argparse.ArgumentParser:
    """The parser of ``mlsplab <name>``, with its flags added."""
    parser = build_parser([name])
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def option_helps(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Each visible flag's help, as ``--help`` prints it (defaults filled in)."""
    formatter = parser.formatter_class(parser.prog)
    return {a.option_strings[-1] if a.option_strings else a.dest: formatter._expand_help(a)
            for a in parser._actions if a.help not in (None, argparse.SUPPRESS)}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_has_examples_and_each_default_once(name: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main([name, "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    examples = text.split("examples:\n", 1)[1]
    assert f"  mlsplab {name}" in examples
    for flag, help_text in option_helps(command_parser(name)).items():
        assert len(re.findall(r"default", help_text, re.IGNORECASE)) <= 1, (flag, help_text)
        assert not re.search(r"\['[\w-]+', '", help_text), (flag, help_text)  # choices= does


def test_shared_flags_are_described_the_same_everywhere() -> None:
    seen: dict[str, dict[str, str]] = {}
    for name in COMMANDS:
        for flag, help_text in option_helps(command_parser(name)).items():
            if flag in SHARED:
                seen.setdefault(flag, {})[name] = help_text
    for flag in ("--device", "--data-dir"):
        assert len(set(seen[flag].values())) == 1, seen[flag]
    # --out is written to, --runs read from: never the other way round
    assert all(h.startswith("results folder written to") for h in seen["--out"].values())
    assert set(seen["--runs"]) == {"predict", "classify", "report"}
    # a command with no training on a device does not offer --device or --precision
    assert not {"tdnn", "convdense", "embed", "predict", "classify", "report"} & (
        set(seen["--device"]) | set(seen["--precision"]))
    # --seed says what it seeds: no "splits" where there are none
    assert "split" not in seen["--seed"]["tdnn"] and "split" not in seen["--seed"]["convdense"]


def test_verbose_after_the_command(tmp_path: Path) -> None:
    args = build_parser(["tdnn"]).parse_args(["tdnn", "-v", "--out", str(tmp_path)])
    assert args.verbose is True
    assert build_parser(["tdnn"]).parse_args(["-v", "tdnn"]).verbose is True
    assert build_parser(["tdnn"]).parse_args(["tdnn"]).verbose is False


@pytest.mark.parametrize("command, old, new, dest, value", [
    ("report", ["--out", "x"], ["--runs", "x"], "runs", Path("x")),
    ("predict", ["--out", "x"], ["--runs", "x"], "runs", Path("x")),
    ("predict", ["--top-words", "7"], ["--top", "7"], "top", 7),
    ("reproduce", ["--seeds", "2"], ["--esc10-seeds", "2"], "esc10_seeds", 2),
    ("sentiment", ["--model", "lstm-avg", "--imdb-seeds", "2"],
     ["--model", "lstm-avg", "--seeds", "2"], "seeds", 2),
    ("sentiment", ["--model", "lstm-avg", "--compare"],
     ["--model", "lstm-avg", "--comparison"], "comparison", True),
])
def test_old_spellings_warn_and_mean_the_new_flag(command: str, old: list[str], new: list[str],
                                                  dest: str, value: object,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    parsed_new = build_parser([command]).parse_args([command, *new])
    assert capsys.readouterr().err == ""
    parsed_old = build_parser([command]).parse_args([command, *old])
    assert getattr(parsed_old, dest) == getattr(parsed_new, dest) == value
    err = capsys.readouterr().err
    flag = next(a for a in old if a.startswith("--") and a != "--model")
    assert f"warning: {flag} is deprecated here; use " in err


@pytest.mark.parametrize("argv, message", [
    (["sentiment", "--model", "gru"], "argument --model: invalid choice: 'gru'"),
    (["esc10", "--device", "toaster"], "expected auto, cpu, cuda or cuda:N"),
    (["esc10", "--seeds", "0"], "argument --seeds: 0 must be >= 1"),
    (["reproduce", "--precision", "fp16"], "argument --precision: invalid choice"),
    (["bench"], "name a benchmark: `mlsplab bench sentiment`"),
])
def test_bad_command_lines_are_one_line_errors(argv: list[str], message: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_examples_epilogue_is_pasteable() -> None:
    text = cli_options.examples(("mlsplab data", "the data files"))
    assert text == "examples:\n  # the data files\n  mlsplab data"


HEAVY = ("torch", "numpy", "scipy", "sklearn", "matplotlib")


@pytest.mark.parametrize("argv", [["--help"], ["reproduce", "--help"]])
def test_help_imports_no_torch(argv: list[str]) -> None:
    """`mlsplab --help` and `mlsplab reproduce --help` (which imports the registry) load no
    heavy module: the registry's functions import theirs when called."""
    code = ("import sys\nfrom mlsplab.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            f"sys.exit(','.join(m for m in {HEAVY!r} if m in sys.modules) or 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "examples:" in done.stdout


def test_reproduce_help_and_readme_explain_every_experiment_id(
        capsys: pytest.CaptureFixture[str]) -> None:
    from mlsplab.experiments.registry import STEPS

    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    text = capsys.readouterr().out
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    glossary = readme.split("## Experiment ids", 1)[1].split("\n## ", 1)[0]
    for step in STEPS:
        assert re.search(rf"^  {re.escape(step.key)} +{re.escape(step.title)}", text, re.MULTILINE)
        row = next(line for line in glossary.splitlines() if line.startswith(f"| `{step.key}` |"))
        for exp_id in step.ids:
            assert f"`{exp_id}`" in row and exp_id in text.replace("\n", " ").replace("  ", "")
