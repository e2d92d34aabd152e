"""DDP (``--gpus 0,1``), exercised on a CPU: two gloo ranks."""

import csv
import math
import os
import subprocess
import sys

import pytest
import torch

from aframe_train.fit import fit
from tests.train.tiny import RATE, fit_args

# two processes that each import torch and Lightning: ~25 s here
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ddp_run(data, tmp_path_factory):
    """A 1-epoch fit on two CPU ranks; its run directory and log."""
    run_dir = tmp_path_factory.mktemp("ddp")
    args = fit_args(data, run_dir, batches_per_epoch=4)
    args += ["--trainer.max_epochs=1", "--trainer.strategy=ddp"]
    args += ["--trainer.devices=2", "--trainer.enable_progress_bar=false"]
    # the full AUROC: any window missing from the metric changes it
    args += ["--model.max_fpr=1.0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "aframe_train", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=run_dir,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    return run_dir, log


def test_both_ranks_train_their_share(ddp_run):
    run_dir, log = ddp_run
    # 4 batches per epoch, 2 on each rank
    for rank in (0, 1):
        assert f"rank {rank} of 2: 2 training batches" in log
    with open(run_dir / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    steps = {row["step"] for row in rows if row["train_loss"]}
    assert steps == {"0", "1"}


def test_rank_zero_writes_the_outputs_once(ddp_run):
    run_dir, log = ddp_run
    assert log.count("best model (valid_auroc") == 1
    network = torch.jit.load(run_dir / "model.pt")
    assert network(torch.randn(2, 2, RATE)).shape == (2, 1)
    # one set of outputs: no second logger version, no leftovers
    assert sorted(p.name for p in run_dir.glob("*.csv")) == ["metrics.csv"]
    assert not list(run_dir.glob(".*.tmp"))
    # (the ranks' records of the settings are one file)
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [
        "best.ckpt",
        "fit-settings.json",
        "last.ckpt",
    ]


def test_validation_scores_every_window_once(ddp_run, data, tmp_path):
    """The ranks' metric is the single-process metric of the same weights.

    Each rank scores half the windows; scoring only those would give
    another AUROC (max_fpr is 1 here, so every window counts).
    """
    run_dir, _ = ddp_run
    with open(run_dir / "metrics.csv") as f:
        logged = [row for row in csv.DictReader(f) if row["valid_auroc"]]
    assert len(logged) == 1
    args = fit_args(data, tmp_path)
    args[0] = "validate"
    args += ["--model.max_fpr=1.0", "--trainer.enable_progress_bar=false"]
    args += [f"--ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}"]
    metrics = fit(args).trainer.callback_metrics
    for name in ("valid_auroc", "valid_found_snr20"):
        value = float(logged[0][name])
        assert math.isfinite(value), name
        assert value == pytest.approx(float(metrics[name]), abs=1e-6), name
