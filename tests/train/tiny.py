"""Tiny training data and the aframe-train arguments that fit on it."""

import json
from pathlib import Path

from aframe_contracts.strain import BackgroundStrain
from aframe_data import cli as data_cli
from aframe_data import strain

RATE = 512
SIGNALS = [
    "--signals.prior=mlgwsc1_bbh",
    "--signals.approximant=IMRPhenomD",
    f"--signals.sample_rate={RATE}",
    "--signals.duration=2",
    "--signals.minimum_frequency=20",
    "--signals.reference_frequency=50",
    "--signals.right_pad=0.25",
]


def make_data(directory: Path) -> tuple[Path, Path, Path]:
    """240 s of H1/L1 noise, 40 training and 20 validation waveforms."""
    background = directory / "background.hdf5"
    noise = strain.simulated(["H1", "L1"], 1e9, 240, RATE, "aLIGO_O4_high", 0)
    BackgroundStrain({i: noise[i] for i in ["H1", "L1"]}, 1e9, RATE).write(
        background
    )
    training = directory / "training.hdf5"
    args = ["--num_signals=40", "--seed=1", f"--output={training}"]
    assert data_cli.main(["training_waveforms", *SIGNALS, *args]) == 0
    validation = directory / "validation.hdf5"
    args = [
        f"--background_files=[{background}]",
        "--ifos=[H1,L1]",
        "--num_signals=20",
        "--snr_threshold=6",
        "--highpass=32",
        "--seed=1",
        f"--output={validation}",
    ]
    assert data_cli.main(["validation_waveforms", *SIGNALS, *args]) == 0
    return background, training, validation


def data_settings(data, **data_overrides) -> dict:
    """The data module's arguments for the tiny data."""
    background, training, validation = data
    return {
        "ifos": ["H1", "L1"],
        "sample_rate": RATE,
        "kernel_length": 1,
        "fduration": 1,
        "psd_length": 4,
        "highpass": 32,
        "background_files": [str(background)],
        "training_waveforms": [str(training)],
        "validation_waveforms": str(validation),
        "batch_size": 8,
        "batches_per_epoch": 3,
        "valid_livetime": 30,
        "num_valid_views": 2,
        **data_overrides,
    }


def fit_args(data, run_dir, **data_overrides) -> list[str]:
    """``aframe-train fit`` of a [1, 1] ResNet for 2 epochs on a CPU."""
    args = ["fit", f"--run_dir={run_dir}", "--seed_everything=1"]
    for key, value in data_settings(data, **data_overrides).items():
        text = value if isinstance(value, str) else json.dumps(value)
        args.append(f"--data.{key}={text}")
    args += ["--model.layers=[1, 1]", "--model.norm_groups=8"]
    args += ["--trainer.max_epochs=2", "--trainer.accelerator=cpu"]
    args += ["--trainer.log_every_n_steps=1"]
    return args
