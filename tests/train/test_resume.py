"""A killed fit continues from its last epoch as if never stopped."""

import pytest
import torch

from aframe_train.cli import main
from aframe_train.data import AframeDataModule
from tests.train.tiny import fit_args


def weights(run_dir):
    state = torch.load(
        run_dir / "checkpoints" / "last.ckpt", weights_only=False
    )
    return state["state_dict"], state["epoch"]


def killed_in_epoch_one(monkeypatch):
    """Make the fit die as its second epoch starts, after the first
    epoch's checkpoint, as a killed job would."""
    original = AframeDataModule.seed_epoch

    def dies(self):
        if self.trainer.current_epoch == 1:
            raise RuntimeError("killed")
        return original(self)

    monkeypatch.setattr(AframeDataModule, "seed_epoch", dies)


def test_a_resumed_fit_ends_where_an_uninterrupted_one_does(
    data, tmp_path, monkeypatch
):
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    assert main(fit_args(data, whole) + ["--resume=true"]) == 0
    with monkeypatch.context() as patch:
        killed_in_epoch_one(patch)
        with pytest.raises(RuntimeError, match="killed"):
            main(fit_args(data, resumed) + ["--resume=true"])
    assert weights(resumed)[1] == 0
    assert main(fit_args(data, resumed) + ["--resume=true"]) == 0
    expected, epoch = weights(whole)
    got, resumed_epoch = weights(resumed)
    assert resumed_epoch == epoch == 1
    # CPU training is deterministic: bit-identical weights
    for name, value in expected.items():
        assert torch.equal(got[name], value), name


def test_a_fit_with_other_settings_starts_afresh(data, tmp_path, caplog):
    assert main(fit_args(data, tmp_path) + ["--resume=true"]) == 0
    first = weights(tmp_path)[0]
    other = fit_args(data, tmp_path, batch_size=4) + ["--resume=true"]
    assert main(other) == 0
    # the earlier checkpoints are kept, out of the way
    assert "made with other settings" in caplog.text
    kept = torch.load(
        tmp_path / "checkpoints-1" / "last.ckpt", weights_only=False
    )
    for name, value in first.items():
        assert torch.equal(kept["state_dict"][name], value)
    assert weights(tmp_path)[1] == 1
    # and so is the first fit's model, which the second replaced
    for name in ("model.pt", "model.json"):
        assert (tmp_path / "checkpoints-1" / name).exists()
        assert (tmp_path / name).exists()


def test_a_truncated_checkpoint_is_named(data, tmp_path, capsys, caplog):
    run = tmp_path / "run"
    assert main(fit_args(data, run) + ["--resume=true"]) == 0
    last = run / "checkpoints" / "last.ckpt"
    broken = tmp_path / "broken.ckpt"
    broken.write_bytes(last.read_bytes()[:2000])
    args = fit_args(data, tmp_path / "again") + [f"--ckpt_path={broken}"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"--ckpt_path {broken}: not a readable checkpoint" in err
    # a last.ckpt cut short (a kill mid-write of another writer) is not
    # resumed from: the fit starts afresh, the broken one kept aside
    last.write_bytes(broken.read_bytes())
    assert main(fit_args(data, run) + ["--resume=true"]) == 0
    assert f"{last} is not a whole checkpoint: not resumed" in caplog.text
    assert (run / "checkpoints-1" / "last.ckpt").stat().st_size == 2000
