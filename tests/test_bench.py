"""`mlsplab bench sentiment` on a tiny synthetic IMDB file."""

from __future__ import annotations

import pytest
from synth_data import write_imdb_zip

from mlsplab.errors import MlsplabError
from mlsplab.experiments.bench import MODELS, bench_sentiment, format_table

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
