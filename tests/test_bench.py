"""`mlsplab bench sentiment` on a tiny synthetic IMDB file."""

from __future__ import annotations

import pytest
import torch
from synth_data import write_imdb_zip
from torch import nn

from mlsplab.errors import MlsplabError
from mlsplab.experiments.bench import MODELS, _with_torch_dropout, bench_sentiment, format_table
from mlsplab.experiments.q1.config import model_sizes
from mlsplab.experiments.q1.train import build_model
from mlsplab.models.dropout import Dropout

pytestmark = pytest.mark.usefixtures("one_thread")


def test_bench_rows_fractions_and_table(tmp_path):
    write_imdb_zip(tmp_path / "IMDB_Dataset.csv.zip", n_reviews=200)
    r = bench_sentiment(data_dir=tmp_path, n_batches=1, precision="fp32")
    assert set(r["matmul_gflops"]) == {"fp32"} and r["matmul_gflops"]["fp32"] > 0
    assert [(x["model"], x["mode"]) for x in r["rows"]] == [
        (m, mode) for m in MODELS for mode in ("naive", "ours")]
    for row in r["rows"]:
        assert row["precision"] == "fp32" and row["ms_per_batch"] > 0
        assert 0 < row["useful_flops_fraction"] <= row["executed_flops_fraction"]
        assert 0 <= row["padding_fraction"] < 1
    naive = [x for x in r["rows"] if x["mode"] == "naive"]
    assert all(x["padding_fraction"] > 0.5 for x in naive)  # short synthetic reviews, 256 slots
    table = format_table(r)
    assert "fp32" in table
    assert sum(line.endswith("x") for line in table.splitlines()) == len(MODELS)  # speedups
    with pytest.raises(MlsplabError, match="--batches 0"):
        bench_sentiment(data_dir=tmp_path, n_batches=0)


@pytest.mark.parametrize("name", MODELS)
def test_naive_baseline_uses_torch_dropout_with_the_same_weights(name):
    torch.manual_seed(0)
    model = build_model(name, model_sizes(name), torch.randn(30, 100), torch.device("cpu"))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rates = sorted(m.p for m in model.modules() if isinstance(m, nn.Dropout))
    naive = _with_torch_dropout(model)
    assert not any(isinstance(m, Dropout) for m in naive.modules())
    assert sorted(m.p for m in naive.modules() if isinstance(m, nn.Dropout)) == rates
    if name.startswith("lstm"):
        assert type(naive.lstm) is nn.LSTM and naive.lstm.dropout == 0.3
    after = naive.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
