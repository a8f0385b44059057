"""Q2 package: runner (measurements only), config from options, CLI, and the report section."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from report_text import ascii_math_in, equations, render_mathtext, text_of

from mlsplab.analysis.tdnn import TDNN, random_config
from mlsplab.analysis.tdnn_arch import TDNNConfig, closed_form_total
from mlsplab.errors import MlsplabError
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q2 import cli
from mlsplab.experiments.q2 import equations as eq
from mlsplab.experiments.q2.config import EXPERIMENT_ID, Q2Config
from mlsplab.experiments.q2.run import run
from mlsplab.experiments.q2.summary import part_report
from mlsplab.report.document import Figure, Math

SMALL = {"input_dim": 5, "contexts": ((-2, -1, 0, 1, 2), (-1, 2), (-3, 3)), "hidden": 16,
         "classes": 4}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("q2")
    run(RunOptions(out=out, seed=3, quick=True), **SMALL)
    return out, json.loads((out / EXPERIMENT_ID / "metrics.json").read_text())


def test_metrics_are_measurements_only(small_run):
    _, doc = small_run
    assert "summary" not in doc and "update_rules" not in doc and "deviations" not in doc
    expected = 5 * 5 * 16 + 2 * 2 * 16 * 16 + 16 * 4 + 4
    assert doc["total_params"] == doc["total_params_closed_form"] == expected
    assert doc["gradient_check_passed"] and len(doc["random_architectures"]) == 5
    assert doc["update_step"]["loss_after"] < doc["update_step"]["loss_before"]
    assert doc["host"]


def test_options_reach_the_recorded_config(small_run):
    _, doc = small_run
    assert doc["config"]["seed"] == 3 and doc["config"]["quick"] is True
    assert doc["config"]["fd_entries"] == 4 and doc["config"]["contexts"] == [[-2, -1, 0, 1, 2],
                                                                           [-1, 2], [-3, 3]]
    assert Q2Config.from_options(RunOptions(seed=7)).seed == 7
    with pytest.raises(MlsplabError, match="unknown setting"):
        Q2Config.from_options(RunOptions(), hiden=3)


def test_same_seed_same_numbers(small_run, tmp_path):
    _, doc = small_run
    run(RunOptions(out=tmp_path, seed=3, quick=True), **SMALL)
    again = json.loads((tmp_path / EXPERIMENT_ID / "metrics.json").read_text())
    assert again["gradient_check"] == doc["gradient_check"]
    assert again["update_step"] == doc["update_step"]


def test_report_section(small_run, report):
    _, doc = small_run
    assert report.status == "quick"
    assert "1,492 learnable parameters" in report.overview  # 5*5*16 + 2*2*16*16 + 16*4 + 4
    answer = report.answer[0].text
    assert "1,492" in answer and "400 + 512 + 512 + 64 weights" in answer
    assert f"{doc['max_rel_err_autograd']:.1e}" in answer
    figures = [b for b in report.evidence if isinstance(b, Figure)]
    assert figures and figures[0].path.exists() and figures[0].path.suffix == ".svg"
    assert report.settings and report.appendix and report.deviations
    assert not ascii_math_in(report), ascii_math_in(report)


@pytest.fixture(scope="module")
def report(small_run, tmp_path_factory):
    out, doc = small_run
    return part_report("q2", {EXPERIMENT_ID: doc}, out, tmp_path_factory.mktemp("fig"))


def test_every_equation_renders_with_mathtext(report):
    sources = equations(report)
    assert len(sources) >= 15
    for latex in sources:
        assert render_mathtext(latex).startswith(b"<?xml")


def test_equations_for_random_contexts_render():
    # contexts unlike the default: wide layers (sum over a set), negative-only, output context
    config, _ = random_config(np.random.default_rng(3))
    contexts = config.layer_contexts + ((-4, -3, -2, -1, 1),)
    for latex in (eq.forward_run(contexts, True) + eq.delta_hidden_run(contexts)
                  + eq.gradients_run(contexts) + [eq.frames_run(contexts)]):
        render_mathtext(latex)


def test_equations_follow_the_contexts():
    contexts = ((-1, 2), (-3, 3), (0,))
    forward = eq.forward_run(contexts, output_bias=False)
    assert r"\mathbf{W}^{2}_{-3}\, \mathbf{h}^{1}_{t-3}" in forward[1]
    assert r"\mathbf{b}" not in forward[-1]
    deltas = eq.delta_hidden_run(contexts)  # layer 2 first, then layer 1
    assert r"\mathbf{W}^{3}_{0}\right)^{\top} \boldsymbol{\delta}^{3}_{\tau}" in deltas[0]
    assert r"\boldsymbol{\delta}^{2}_{\tau+3}" in deltas[1]  # offset -3 of layer 2
    assert r"\boldsymbol{\delta}^{2}_{\tau-3}" in deltas[1]
    assert eq.frames_run(contexts) == r"\mathcal{T}_{3} = \{5, \ldots, T-5\},\quad |\mathcal{T}_{3}| = T-9"
    net = TDNNConfig(input_dim=3, contexts=contexts[:2], hidden=4, classes=2)
    assert eq.parameter_count_run(
        [{"context": c, "in_dim": a, "out_dim": b, "bias": 0}
         for c, a, b in zip(contexts, net.dims, net.dims[1:])],
        closed_form_total(net)).endswith("= " + f"{closed_form_total(net):,}".replace(",", "{,}"))


@pytest.mark.parametrize("seed", range(6))
def test_parameter_formula_equals_numel_for_random_contexts(seed):
    rng = np.random.default_rng(50 + seed)
    contexts = tuple(tuple(sorted(rng.choice(np.arange(-6, 7), rng.integers(1, 6), replace=False)))
                     for _ in range(rng.integers(1, 5)))
    net = TDNNConfig(input_dim=int(rng.integers(1, 20)), contexts=contexts,
                     hidden=int(rng.integers(1, 40)), classes=int(rng.integers(2, 12)),
                     output_bias=bool(seed % 2))
    assert closed_form_total(net) == sum(p.numel() for p in TDNN(net).parameters())


def test_missing_and_stale_results_name_the_command(tmp_path):
    report = part_report("q2", {}, tmp_path, tmp_path)
    assert report.status == "missing"
    assert f"mlsplab reproduce --only q2 --out {tmp_path}" in " ".join(text_of(report))
    stale = part_report("q2", {EXPERIMENT_ID: {"config": {}, "layers": []}}, tmp_path, tmp_path)
    assert stale.status == "stale" and "mlsplab reproduce --only q2" in stale.answer[0].text


def test_cli_prints_tables_and_writes_metrics(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--input-dim", "5", "--contexts", "-2,-1,0,1,2;-1,2;-3,3",
                              "--hidden", "16", "--classes", "4", "--quick",
                              "--out", str(tmp_path)])
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    assert "5*5*16" in printed and "PASS" in printed and "receptive field: t-6 .. t+7" in printed
    assert (tmp_path / EXPERIMENT_ID / "metrics.json").exists()


def test_cli_bad_contexts_is_a_clear_error(tmp_path):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    with pytest.raises(MlsplabError, match="--contexts"):
        cli.main(parser.parse_args(["--contexts", "-1,x", "--out", str(tmp_path)]))


def test_math_blocks_have_one_source_each(report):
    for block in report.evidence:
        if isinstance(block, Math):
            assert not block.latex.startswith("$") and "\n" not in block.latex


def test_ascii_math_check_can_fail():
    from mlsplab.report.document import Paragraph, PartReport

    bad = PartReport(answer=[Paragraph("delta^l_tau = sum_{k} W^{l}")])
    assert ascii_math_in(bad)
