"""Q4 package: runner (measurements only), config from options, CLI, and the two report sections."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from report_text import ascii_math_in, equations, render_mathtext, text_of
from torch import nn

from mlsplab.analysis.conv_cost import ConvSpec, conv_cost
from mlsplab.errors import MlsplabError
from mlsplab.experiments.options import RunOptions
from mlsplab.experiments.q4 import cli
from mlsplab.experiments.q4.config import EXPERIMENT_ID, Q4Config
from mlsplab.experiments.q4.run import run
from mlsplab.experiments.q4.summary import part_report
from mlsplab.report.document import Figure, Table


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("q4")
    run(RunOptions(out=out, seed=2, quick=True))
    return out, json.loads((out / EXPERIMENT_ID / "metrics.json").read_text())


@pytest.fixture(scope="module")
def reports(quick_run, tmp_path_factory) -> dict:
    out, doc = quick_run
    fig_dir = tmp_path_factory.mktemp("fig")
    return {key: part_report(key, {EXPERIMENT_ID: doc}, out, fig_dir) for key in ("q4i", "q4ii")}


def test_metrics_are_measurements_only(quick_run):
    _, doc = quick_run
    assert not {"summary", "deviations", "figures"} & set(doc)
    assert doc["flattened_size"] == doc["flattened_size_torch"] == 16 * 13 * 54
    assert doc["all_formulas_match_torch"] and doc["all_sparse_exact"]
    assert doc["example"]["exact_integer_match"] and doc["example"]["nnz"] == 72
    assert doc["config"]["esc_cnn"]["channels"] == 16  # what EscCnnConfig said when it ran
    assert [r["sparse_view"]["materialised"] for r in doc["layers"]] == [False, False]


def test_options_reach_the_recorded_config(quick_run, tmp_path):
    out, doc = quick_run
    assert doc["config"]["seed"] == 2 and doc["config"]["quick"] is True
    assert len(doc["sparse_checks"]) == 4 and len(doc["timing_examples"]) == 1
    assert Q4Config.from_options(RunOptions(seed=5)).seed == 5
    with pytest.raises(MlsplabError, match="unknown setting"):
        Q4Config.from_options(RunOptions(), timing=3)
    before = (out / EXPERIMENT_ID / "metrics.json").read_text()
    run(RunOptions(out=out, seed=2, quick=True))  # finished: skipped, file unchanged
    assert (out / EXPERIMENT_ID / "metrics.json").read_text() == before


@pytest.mark.parametrize("part_key", ["q4i", "q4ii"])
def test_quick_mode_gives_the_detail_tables(reports, part_key):
    report = reports[part_key]
    assert report.status == "quick"
    tables = [b for b in report.evidence + report.appendix if isinstance(b, Table)]
    assert len(tables) >= 2 and all(t.rows for t in tables)
    text = " ".join(text_of(report))
    assert "unavailable" not in text and "distinct_values" not in text
    if part_key == "q4ii":
        sparse = next(t for t in tables if "matrix W" in t.header)
        assert [r[0] for r in sparse.rows] == ["conv1", "conv2"]
        assert "not built (quick run)" in sparse.rows[0]
        assert report.deviations  # quick: the matrices were not built
    figures = [b for b in report.evidence + report.appendix if isinstance(b, Figure)]
    assert figures and all(f.path.exists() and f.path.suffix == ".svg" for f in figures)
    assert not ascii_math_in(report), ascii_math_in(report)


def test_answers_carry_the_run_numbers(quick_run, reports):
    _, doc = quick_run
    q4i, q4ii = reports["q4i"], reports["q4ii"]
    assert "64,254,955,968" in q4i.answer[0].text and "160 parameters" in q4i.overview
    assert "9,035,712 non-zeros" in q4ii.answer[0].text
    assert f"{doc['fc']['check']['whole_input_conv_max_abs_err']:.1e}" in q4ii.answer[0].text


@pytest.mark.parametrize("part_key", ["q4i", "q4ii"])
def test_every_equation_renders_with_mathtext(reports, part_key):
    sources = equations(reports[part_key])
    assert len(sources) >= 6
    for latex in sources:
        assert render_mathtext(latex).startswith(b"<?xml")


@pytest.mark.parametrize("seed", range(8))
def test_general_formulas_match_torch_for_random_shapes(seed):
    # the formulas typeset in Q4(i), evaluated by hand, against torch modules
    rng = np.random.default_rng(seed)
    c_in, c_out = int(rng.integers(1, 6)), int(rng.integers(1, 9))
    kh, kw, s, p = (int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 4)),
                    int(rng.integers(0, 3)))
    h, w = int(rng.integers(kh, 20)), int(rng.integers(kw, 20))
    conv = nn.Conv2d(c_in, c_out, (kh, kw), stride=s, padding=p)
    y = conv(torch.zeros(1, c_in, h, w))
    h_out, w_out = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
    assert tuple(y.shape[2:]) == (h_out, w_out)
    n_in, n_out = c_in * h * w, c_out * h_out * w_out
    dense = nn.Linear(n_in, n_out)
    assert sum(q.numel() for q in conv.parameters()) == c_out * (c_in * kh * kw + 1)
    assert sum(q.numel() for q in dense.parameters()) == n_out * (n_in + 1)
    cost = conv_cost(ConvSpec(c_in, c_out, (h, w), kernel=(kh, kw), stride=s, padding=p))
    assert cost["conv"]["macs"] == c_out * h_out * w_out * c_in * kh * kw
    assert cost["dense"]["macs"] == n_in * n_out
    assert cost["ratio_macs"] == pytest.approx(h * w / (kh * kw))
    assert cost["ratio_params"] == pytest.approx(h_out * w_out * (c_in * h * w + 1)
                                                 / (c_in * kh * kw + 1))


@pytest.mark.parametrize("part_key", ["q4i", "q4ii"])
def test_missing_and_stale_results_name_the_command(tmp_path, part_key):
    report = part_report(part_key, {}, tmp_path, tmp_path)
    assert report.status == "missing"
    assert f"mlsplab reproduce --only q4 --out {tmp_path}" in " ".join(text_of(report))
    old = {"config": {"seed": 0, "quick": True}, "layers": [{"name": "conv1"}]}
    stale = part_report(part_key, {EXPERIMENT_ID: old}, tmp_path, tmp_path)
    assert stale.status == "stale" and "mlsplab reproduce --only q4" in stale.answer[0].text


def test_cli_custom_layer_and_bad_kernel(quick_run, capsys):
    out, _ = quick_run
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--quick", "--seed", "2", "--out", str(out), "--input-size", "8x9",
                              "--in-channels", "2", "--out-channels", "3", "--kernel", "3",
                              "--stride", "2"])
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    assert "Your layer" in printed and "16x13x54 = 11,232" in printed
    with pytest.raises(MlsplabError, match="larger than the padded input"):
        cli.main(parser.parse_args(["--quick", "--out", str(out), "--input-size", "2x2",
                                    "--kernel", "5"]))
