"""A small trained-model stand-in: real TorchScript weights + settings."""

import pytest
import torch

from aframe_contracts.model import ModelSettings
from aframe_signal.whitening import STRAIN_SCALE
from aframe_train.model import resnet

RATE = 256
SETTINGS = {
    "ifos": ["H1", "L1"],
    "sample_rate": RATE,
    "kernel_length": 1.0,
    "fduration": 1.0,
    "psd_length": 4.0,
    "fftlength": None,
    "highpass": 20.0,
    "lowpass": None,
    "strain_scale": STRAIN_SCALE,
    "checkpoint": "a stand-in: no checkpoint",
    "valid_auroc": 0.5,
}


class Power(torch.nn.Module):
    """Scores a whitened window by its excess power: loud signals win."""

    def forward(self, x):
        return (x**2).mean(dim=(1, 2))[:, None] - 1


def save_model(directory, network, **changes):
    directory.mkdir(parents=True, exist_ok=True)
    settings = ModelSettings(**{**SETTINGS, **changes})
    example = torch.zeros(1, 2, round(settings.kernel_length * RATE))
    torch.jit.trace(network.eval(), example).save(str(directory / "model.pt"))
    settings.write(directory / "model.json")
    return directory / "model.pt"


@pytest.fixture
def weights(tmp_path):
    torch.manual_seed(0)
    return save_model(tmp_path / "run", resnet(2, [1, 1], 8))


@pytest.fixture
def power_weights(tmp_path):
    return save_model(tmp_path / "power", Power())
