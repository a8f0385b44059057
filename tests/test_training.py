"""The trainer: resume after an interrupt or a deadline gives the uninterrupted history,
foreign/corrupt/mismatched checkpoints are refused, and the best epoch is kept."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from mlsplab.errors import MlsplabError
from mlsplab.stopping import StopRequested
from mlsplab.training import TrainConfig, fit, load_checkpoint, make_optimizer

N, F, B = 64, 5, 8  # samples, features, batch size -> 8 batches per epoch
X = torch.randn(N, F, generator=torch.Generator().manual_seed(0))
Y = (X[:, 0] > 0).float()


def make_model() -> torch.nn.Module:
    torch.manual_seed(1)
    # dropout makes the result depend on the RNG state, which a resume must restore
    return torch.nn.Sequential(torch.nn.Linear(F, 8), torch.nn.Dropout(0.3),
                               torch.nn.Linear(8, 1))


def batches(epoch: int) -> list[torch.Tensor]:
    perm = torch.randperm(N, generator=torch.Generator().manual_seed(epoch))
    return [perm[i:i + B] for i in range(0, N, B)]


def step(model: torch.nn.Module, idx: torch.Tensor) -> tuple[torch.Tensor, int]:
    logits = model(X[idx]).squeeze(1)  # (B, 1) -> (B,)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, Y[idx], reduction="sum")
    return loss, len(idx)


def evaluate(model: torch.nn.Module) -> dict[str, float]:
    logits = model(X).squeeze(1)
    return {"loss": float(torch.nn.functional.binary_cross_entropy_with_logits(logits, Y)),
            "accuracy": float(((logits > 0).float() == Y).float().mean())}


CFG = TrainConfig(epochs=4, lr=0.05)


def _strip(history: list[dict[str, float]]) -> list[dict[str, float]]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


def _fit(path: Path | None, **kw):
    kw.setdefault("train_step", step)
    return fit(make_model(), config=kw.pop("config", CFG), train_batches=batches,
               evaluate=evaluate, checkpoint_path=path, progress=False, **kw)


@pytest.fixture
def sigint_default() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt during the test, as in an interactive shell, whatever
    the suite was started with (``nohup`` or a background job from a script ignore SIGINT);
    the handler the suite was started with is put back afterwards."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.fixture
def sigint_ignored() -> Iterator[None]:
    """SIGINT ignored during the test, as under ``cmd &`` in a script."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory):
    return _fit(tmp_path_factory.mktemp("ref") / "ref.pt")


def test_history_shape(reference) -> None:
    assert [r["epoch"] for r in reference.history] == [1, 2, 3, 4]
    for row in reference.history:
        assert set(row) == {"epoch", "train_loss", "val_loss", "val_accuracy", "seconds"}
        assert 0.0 <= row["val_accuracy"] <= 1.0
    assert reference.finished and not reference.stopped_early


@pytest.mark.usefixtures("sigint_default")
def test_resume_after_interrupt_matches_uninterrupted(tmp_path: Path, reference) -> None:
    calls = {"n": 0}

    def step_then_ctrl_c(model: torch.nn.Module, idx: torch.Tensor):
        calls["n"] += 1
        if calls["n"] == 13:  # mid epoch 2 (8 batches per epoch)
            os.kill(os.getpid(), signal.SIGINT)
        return step(model, idx)

    path = tmp_path / "run.pt"
    handler_before = signal.getsignal(signal.SIGINT)
    with pytest.raises(StopRequested, match="stopped by SIGINT; progress saved") as stop:
        _fit(path, train_step=step_then_ctrl_c)
    assert stop.value.exit_code == 130 and str(path) in stop.value.saved
    ckpt = load_checkpoint(path)
    assert (ckpt["epoch"], ckpt["batch"]) == (2, 5) and len(ckpt["history"]) == 1
    assert signal.getsignal(signal.SIGINT) is handler_before  # the handler it found is back
    resumed = _fit(path)
    assert _strip(resumed.history) == _strip(reference.history)
    assert resumed.best_epoch == reference.best_epoch
    for k, v in reference.best_state.items():
        torch.testing.assert_close(resumed.best_state[k], v)


@pytest.mark.usefixtures("sigint_ignored")
def test_ignored_sigint_stays_ignored_and_sigterm_still_stops(tmp_path: Path,
                                                              reference) -> None:
    # started from a script with `&`: Ctrl-C meant for the foreground job must not stop the
    # training, `kill` (SIGTERM) must still stop it cleanly
    calls = {"n": 0}
    term_before = signal.getsignal(signal.SIGTERM)

    def step_with_signals(model: torch.nn.Module, idx: torch.Tensor):
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), signal.SIGINT)
        if calls["n"] == 13:
            os.kill(os.getpid(), signal.SIGTERM)
        return step(model, idx)

    path = tmp_path / "run.pt"
    with pytest.raises(StopRequested, match="stopped by SIGTERM") as stop:
        _fit(path, train_step=step_with_signals)
    assert stop.value.exit_code == 143
    assert (load_checkpoint(path)["epoch"], load_checkpoint(path)["batch"]) == (2, 5)
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGTERM) is term_before
    assert _strip(_fit(path).history) == _strip(reference.history)


def test_history_records_every_key_evaluate_returns(tmp_path: Path, reference) -> None:
    def evaluate_more(model: torch.nn.Module) -> dict[str, object]:
        out = evaluate(model)
        logits = model(X[:16]).squeeze(1)
        return {**out, "train_eval_loss": torch.nn.functional.binary_cross_entropy_with_logits(
            logits, Y[:16]), "n_val": np.int64(N), "note": ["kept", "as is"], "ok": np.bool_(True)}

    path = tmp_path / "more.pt"
    result = fit(make_model(), config=CFG, train_batches=batches, train_step=step,
                 evaluate=evaluate_more, checkpoint_path=path, progress=False,
                 deadline=time.time())
    result = fit(make_model(), config=CFG, train_batches=batches, train_step=step,
                 evaluate=evaluate_more, checkpoint_path=path, progress=False)  # resumed
    extra = ("train_eval_loss", "n_val", "note", "ok")
    assert [{k: v for k, v in row.items() if k not in extra}
            for row in _strip(result.history)] == _strip(reference.history)
    assert all(r["n_val"] == N and r["note"] == ["kept", "as is"] for r in result.history)
    assert [list(r) for r in result.history] == [
        ["epoch", "train_loss", "val_loss", "val_accuracy", "train_eval_loss", "n_val", "note",
         "ok", "seconds"]] * 4
    row = result.history[0]
    assert type(row["train_eval_loss"]) is float and type(row["n_val"]) is int
    assert row["ok"] is True
    assert 0 < row["train_eval_loss"] < 10
    assert json.loads(json.dumps(result.history)) == result.history


def test_evaluate_key_that_clashes_with_the_history_is_refused() -> None:
    with pytest.raises(ValueError, match="'train_loss', a name the history uses"):
        fit(make_model(), config=CFG, train_batches=batches, train_step=step,
            evaluate=lambda m: {**evaluate(m), "train_loss": 0.0}, checkpoint_path=None,
            progress=False)


def test_deadline_then_resume_matches_uninterrupted(tmp_path: Path, reference) -> None:
    path = tmp_path / "run.pt"
    first = _fit(path, deadline=time.time())  # stops after the first batch
    assert not first.finished and len(first.history) == 0
    second = _fit(path)
    assert second.finished and _strip(second.history) == _strip(reference.history)


def test_best_epoch_is_lowest_val_loss_and_its_weights_are_kept(tmp_path: Path,
                                                                reference) -> None:
    losses = [r["val_loss"] for r in reference.history]
    assert reference.best_epoch == losses.index(min(losses)) + 1
    model = make_model()
    model.load_state_dict(reference.best_state)
    model.eval()
    with torch.no_grad():
        assert evaluate(model)["loss"] == pytest.approx(min(losses), rel=1e-6)


def test_best_file_holds_best_weights_when_validation_gets_worse(tmp_path: Path) -> None:
    # a huge learning rate makes validation loss jump around between epochs
    result = _fit(tmp_path / "hi.pt", config=TrainConfig(epochs=4, lr=50.0, optimizer="sgd"))
    losses = [r["val_loss"] for r in result.history]
    assert result.best_epoch == losses.index(min(losses)) + 1
    best = load_checkpoint(tmp_path / "hi.pt.best")["model"]
    for k, v in result.best_state.items():
        torch.testing.assert_close(best[k], v)


def test_short_epochs_write_one_checkpoint_not_one_per_epoch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference) -> None:
    # epochs far shorter than checkpoint_every_s (ESC-10: 1.5 s epochs, 300 s interval): the
    # trainer writes the best weights and the checkpoint once, at the end of the last epoch
    written: list[str] = []
    real_save = torch.save

    def counting_save(obj, f) -> None:
        written.append(Path(f.name).name)
        real_save(obj, f)

    monkeypatch.setattr("mlsplab.training.torch.save", counting_save)
    path = tmp_path / "run.pt"
    result = _fit(path)
    assert len(written) == 2, written
    assert load_checkpoint(path)["epoch"] == CFG.epochs + 1
    assert load_checkpoint(path)["best"]["epoch"] == result.best_epoch
    best = load_checkpoint(tmp_path / "run.pt.best")["model"]
    for k, v in reference.best_state.items():
        torch.testing.assert_close(best[k], v)
    assert _strip(result.history) == _strip(reference.history)


def test_checkpoint_interval_passed_at_an_epoch_end_saves_there(tmp_path: Path,
                                                                reference) -> None:
    # checkpoint_every_s=0: a checkpoint (with its best weights) after every epoch too
    config = TrainConfig(epochs=CFG.epochs, lr=CFG.lr, checkpoint_every_s=0.0)
    calls = {"n": 0}

    def stop_at_epoch_2_end(model: torch.nn.Module, idx: torch.Tensor):
        calls["n"] += 1
        if calls["n"] == 17:  # first batch of epoch 3: raise as a kill would
            raise RuntimeError("killed")
        return step(model, idx)

    path = tmp_path / "run.pt"
    with pytest.raises(RuntimeError, match="killed"):
        _fit(path, config=config, train_step=stop_at_epoch_2_end)
    ckpt = load_checkpoint(path)
    assert (ckpt["epoch"], ckpt["batch"], len(ckpt["history"])) == (3, 0, 2)
    resumed = _fit(path, config=config)
    assert _strip(resumed.history) == _strip(reference.history)


def test_finished_run_resumes_to_same_result(tmp_path: Path, reference) -> None:
    path = tmp_path / "r.pt"
    _fit(path)
    again = _fit(path)  # nothing left to train: the history comes from the checkpoint
    assert _strip(again.history) == _strip(reference.history)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_foreign_and_corrupt_checkpoints_are_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(MlsplabError, match="foreign.pt: not an mlsplab checkpoint"):
        _fit(foreign)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x80\x04garbage")
    with pytest.raises(MlsplabError, match="corrupt.pt: not a readable checkpoint"):
        _fit(corrupt)


def test_checkpoint_from_another_config_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    _fit(path, deadline=time.time())
    with pytest.raises(MlsplabError, match="c.pt: checkpoint is from a different configuration"):
        _fit(path, config=TrainConfig(epochs=4, lr=0.01))
    with pytest.raises(MlsplabError, match="different configuration"):
        _fit(path, run_config={"model": "other"})


def test_unknown_optimizer() -> None:
    with pytest.raises(MlsplabError, match="optimizer='lbfgs'"):
        make_optimizer(TrainConfig(optimizer="lbfgs"), make_model().parameters())
