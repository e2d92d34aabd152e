"""aframe-train fit end to end on tiny data, and its errors."""

import json
import subprocess

import h5py
import pytest
import torch
import yaml

from aframe_train.cli import main
from tests.train.tiny import RATE, fit_args


def test_fit_writes_the_weights_export_needs(data, tmp_path):
    assert main(fit_args(data, tmp_path)) == 0
    for name in ("model.pt", "model.json", "metrics.csv", "config.yaml"):
        assert (tmp_path / name).exists(), name
    assert (tmp_path / "training.png").stat().st_size > 1000
    assert (tmp_path / "checkpoints" / "best.ckpt").exists()
    assert (tmp_path / "checkpoints" / "last.ckpt").exists()
    settings = json.loads((tmp_path / "model.json").read_text())
    assert settings["ifos"] == ["H1", "L1"] and settings["sample_rate"] == RATE
    assert 0 <= settings["valid_auroc"] <= 1
    # the background held out for validation: the last quarter (the
    # default valid_fraction) of the 240 s that start at GPS 1e9
    assert settings["validation_span"] == [1e9 + 180, 1e9 + 240]
    network = torch.jit.load(tmp_path / "model.pt")
    assert network(torch.randn(3, 2, RATE)).shape == (3, 1)
    header = (tmp_path / "metrics.csv").read_text().splitlines()[0]
    assert "valid_auroc" in header and "train_loss" in header


def test_kernel_longer_than_the_background(data, tmp_path, capsys):
    assert main(fit_args(data, tmp_path, psd_length=400)) == 2
    assert "shorter than a training window" in capsys.readouterr().err


@pytest.mark.parametrize(
    "setting, message",
    [
        ({"batch_size": 0}, "batch_size = 0: it must be positive"),
        ({"ifos": ["H1", "X9"]}, "['X9'] not among the detectors"),
        ({"snr_min": 50, "snr_max": 10}, "the range of training SNRs is"),
        ({"valid_fraction": 1.5}, "valid_fraction = 1.5: it is the share"),
        ({"waveform_prob": 0.8, "swap_prob": 0.5}, "must not exceed 1"),
        ({"model.learning_rate": -1}, "learning_rate = -1.0: it must be"),
        ({"model.pct_lr_ramp": 2}, "pct_lr_ramp = 2.0: it is the share"),
    ],
)
def test_settings_no_training_can_use_are_named(
    data, tmp_path, capsys, setting, message
):
    """A zero batch and a negative learning rate were tracebacks from
    torch; now every impossible setting is one line naming it, before
    anything is written."""
    data_settings = {k: v for k, v in setting.items() if "." not in k}
    args = fit_args(data, tmp_path / "run", **data_settings)
    args += [f"--{k}={v}" for k, v in setting.items() if "." in k]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run" / "model.pt").exists()


def test_empty_waveform_file(data, tmp_path, capsys):
    empty = tmp_path / "empty.hdf5"
    with h5py.File(data[2]) as source, h5py.File(empty, "w") as f:
        f.attrs.update(source.attrs)
        f["parameters/snr"] = source["parameters/snr"][:0]
        for ifo in ("H1", "L1"):
            f[f"waveforms/{ifo}"] = source[f"waveforms/{ifo}"][:0]
    args = fit_args(data, tmp_path, validation_waveforms=str(empty))
    assert main(args) == 2
    assert "holds no validation waveforms" in capsys.readouterr().err


def test_nan_loss_names_the_step(data, tmp_path, monkeypatch):
    from aframe_train.model import Aframe

    monkeypatch.setattr(
        Aframe, "forward", lambda self, X: self.network(X) * float("nan")
    )
    args = fit_args(data, tmp_path)
    with pytest.raises(
        FloatingPointError, match=r"at step \d+ \(batch \d+ of epoch 0\)"
    ):
        main(args)


def ray_processes() -> list[str]:
    result = subprocess.run(
        ["pgrep", "-f", "raylet|gcs_server"], capture_output=True, text=True
    )
    return result.stdout.split()


@pytest.mark.slow
def test_tune_two_trials(data, tmp_path):
    args = fit_args(data, tmp_path / "unused")
    fit_overrides = tmp_path / "fit.yaml"
    # the fit arguments as the pipeline's overrides file
    settings = {"data": {}, "model": {"layers": [1, 1], "norm_groups": 8}}
    settings["trainer"] = {"accelerator": "cpu", "log_every_n_steps": 1}
    for arg in args:
        if arg.startswith("--data."):
            key, value = arg[len("--data.") :].split("=", 1)
            settings["data"][key] = yaml.safe_load(value)
    fit_overrides.write_text(json.dumps(settings))
    tune_config = tmp_path / "tune.yaml"
    tune_config.write_text(
        yaml.safe_dump(
            {
                "num_samples": 2,
                "metric": "valid_auroc",
                "mode": "max",
                "scheduler": {"max_t": 2, "grace_period": 1},
                "resources_per_trial": {"cpu": 1, "gpu": 0},
                "param_space": {
                    "model.learning_rate": {"loguniform": [1e-4, 1e-2]}
                },
            }
        )
    )
    train_config = tmp_path / "train.yaml"
    train_config.write_text(yaml.safe_dump({"trainer": {"max_epochs": 2}}))
    run_dir = tmp_path / "run"
    status = main(
        [
            "tune",
            f"--train_config={train_config}",
            f"--tune_config={tune_config}",
            f"--fit_overrides={fit_overrides}",
            f"--run_dir={run_dir}",
        ]
    )
    assert status == 0
    # both trials trained, each in its own directory
    assert len(list(run_dir.glob("ray/tune/*/checkpoints/best.ckpt"))) == 2
    network = torch.jit.load(run_dir / "model.pt")
    assert network(torch.randn(1, 2, RATE)).shape == (1, 1)
    settings = json.loads((run_dir / "model.json").read_text())
    assert settings["ifos"] == ["H1", "L1"]
    assert not ray_processes()
