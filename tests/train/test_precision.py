"""Mixed precision on GPUs, full precision on CPUs and in the data."""

import pytest
import torch
from lightning.pytorch.accelerators import CPUAccelerator, CUDAAccelerator
from lightning.pytorch.callbacks import Callback

from aframe_train.data import AframeDataModule
from aframe_train.fit import fit, select_precision
from tests.train.tiny import data_settings, fit_args


@pytest.mark.parametrize(
    "precision, accelerator, cuda, expected",
    [
        (None, "cpu", True, "32-true"),
        (None, "cpu", False, "32-true"),
        (None, "auto", False, "32-true"),
        (None, None, False, "32-true"),
        (None, "auto", True, "GPU"),
        (None, "gpu", True, "GPU"),
        (None, "cuda", False, "GPU"),
        (None, CPUAccelerator(), True, "32-true"),
        (None, CUDAAccelerator(), True, "GPU"),
        # set explicitly, it wins
        ("64-true", "gpu", True, "64-true"),
        ("bf16-mixed", "cpu", False, "bf16-mixed"),
    ],
)
@pytest.mark.parametrize("gpu_precision", ["16-mixed", "bf16-mixed"])
def test_precision_selection(
    precision, accelerator, cuda, expected, gpu_precision
):
    expected = gpu_precision if expected == "GPU" else expected
    assert (
        select_precision(precision, accelerator, gpu_precision, cuda)
        == expected
    )


def test_a_cpu_fit_ignores_the_gpu_precision(data, tmp_path):
    weights = []
    for gpu_precision in ("bf16-mixed", "32-true"):
        run_dir = tmp_path / gpu_precision
        args = fit_args(data, run_dir) + ["--trainer.max_epochs=1"]
        cli = fit([*args, f"--gpu_precision={gpu_precision}"])
        assert cli.trainer.precision == "32-true"
        checkpoint = torch.load(
            run_dir / "checkpoints" / "last.ckpt", weights_only=False
        )
        weights.append(checkpoint["state_dict"])
    assert weights[0].keys() == weights[1].keys()
    for key, value in weights[0].items():
        assert value.dtype in (torch.float32, torch.int64), key
        assert torch.equal(value, weights[1][key]), key


def test_the_gpu_precision_is_checked(data, tmp_path, capsys):
    args = [*fit_args(data, tmp_path), "--gpu_precision=8-mixed"]
    with pytest.raises(SystemExit):
        fit(args)
    assert "gpu_precision" in capsys.readouterr().err


@pytest.fixture
def datamodule(data):
    module = AframeDataModule(
        **data_settings(data, waveform_prob=0.6, mute_prob=0.2)
    )
    module.setup("fit")
    return module


def run(transform, autocast_dtype, *batch):
    """The transform's output for a seed, under autocast or not."""
    torch.manual_seed(3)
    if autocast_dtype is None:
        return transform(*(x.clone() for x in batch))
    with torch.autocast("cpu", dtype=autocast_dtype):
        return transform(*(x.clone() for x in batch))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_the_data_pipeline_runs_outside_autocast(datamodule, dtype):
    """Autocast (on CPU here) changes neither training nor validation data.

    Lightning transfers batches outside its autocast context; this holds
    even when a batch is built inside one.
    """
    X, waveforms = next(iter(datamodule.train_dataloader()))
    full, labels = run(datamodule.augment, None, X, waveforms)
    mixed, mixed_labels = run(datamodule.augment, dtype, X, waveforms)
    assert labels.sum() > 0
    assert full.dtype == mixed.dtype == torch.float32
    assert torch.isfinite(full).all()
    assert torch.equal(full, mixed) and torch.equal(labels, mixed_labels)
    batch = next(iter(datamodule.val_dataloader()))
    full = run(datamodule.validation_batch, None, *batch)[0]
    mixed = run(datamodule.validation_batch, dtype, *batch)[0]
    assert mixed.dtype == torch.float32
    assert torch.equal(full, mixed)


def cuda_only(test):
    return pytest.mark.gpu(
        pytest.mark.skipif(
            not torch.cuda.is_available(), reason="no CUDA device"
        )(test)
    )


class OutputDtypes(Callback):
    """The dtypes of the network's outputs in training steps."""

    def __init__(self):
        self.dtypes = set()

    def on_fit_start(self, trainer, module):
        module.network.register_forward_hook(self.record)

    def record(self, network, inputs, output):
        if network.training:
            self.dtypes.add(output.dtype)


@cuda_only
@pytest.mark.parametrize("gpu_precision", ["16-mixed", "bf16-mixed"])
def test_amp_steps_on_a_gpu(data, tmp_path, gpu_precision):
    if gpu_precision == "bf16-mixed" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bfloat16")
    args = fit_args(data, tmp_path, batches_per_epoch=4)
    args += [f"--gpu_precision={gpu_precision}", "--trainer.accelerator=gpu"]
    args += ["--trainer.devices=1", "--trainer.max_epochs=1"]
    outputs = OutputDtypes()
    cli = fit(args, callbacks=[outputs])
    assert cli.trainer.precision == gpu_precision
    half = torch.float16 if gpu_precision == "16-mixed" else torch.bfloat16
    assert outputs.dtypes == {half}
    metrics = cli.trainer.callback_metrics
    assert torch.isfinite(metrics["train_loss"])
    assert torch.isfinite(metrics["valid_auroc"])
    # the weights stay float32 (and so does the exported model)
    assert next(cli.model.parameters()).dtype == torch.float32
    assert (tmp_path / "checkpoints" / "last.ckpt").exists()
