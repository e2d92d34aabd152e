"""A small exported model, simulated strain and loud injections."""

import numpy as np
import pytest

from aframe_contracts import repository as repository_contract
from aframe_contracts.repository import Manifest
from aframe_contracts.strain import BackgroundStrain
from aframe_contracts.waveforms import WaveformSet
from aframe_data import strain
from aframe_export.export import export
from tests.export.conftest import (  # noqa: F401
    RATE,
    SETTINGS,
    power_weights,
    weights,
)

T0 = 1240583383.0
DURATION = 240


def export_model(model, path):
    """The tests' repository geometry: 16 s PSDs, 4 Hz, 16 per request."""
    export(
        model,
        path,
        SETTINGS["ifos"],
        RATE,
        1.0,
        1.0,
        psd_length=16.0,
        inference_sampling_rate=4.0,
        batch_size=16,
        platform="onnx",
    )
    return path


@pytest.fixture
def repository(power_weights, tmp_path):  # noqa: F811
    path = export_model(power_weights, tmp_path / "repo")
    # the Export task keeps its stage log in the repository, as here: a
    # server must load the ensemble, not every directory
    (path / "logs").mkdir()
    (path / "logs" / "export.log").write_text("exported\n")
    return path


@pytest.fixture
def repository_reads(monkeypatch):
    """The repositories whose manifest is read, and the files whose
    checksum is taken, while the test runs."""
    reads, checksums = [], []
    read, sha256 = Manifest.read, repository_contract.sha256
    monkeypatch.setattr(
        Manifest,
        "read",
        classmethod(lambda cls, path: reads.append(path) or read(path)),
    )
    monkeypatch.setattr(
        repository_contract,
        "sha256",
        lambda path: checksums.append(path) or sha256(path),
    )
    return reads, checksums


def simulated_background(path, t0=T0, duration=DURATION, seed=3):
    """Simulated H1 and L1 strain, written as the data stage does."""
    data = strain.simulated(
        ["H1", "L1"], t0, duration, RATE, "aLIGO_O4_high", seed
    )
    BackgroundStrain({i: data[i] for i in ["H1", "L1"]}, t0, RATE).write(path)
    return path


@pytest.fixture
def background(tmp_path):
    return simulated_background(tmp_path / "background.hdf5")


def loud_injections(path, times, amplitude=3e-20):
    """Sine-Gaussian bursts peaking at ``times`` (coalescence at 1.5 s)."""
    t = np.arange(2 * RATE) / RATE - 1.5
    burst = amplitude * np.sin(2 * np.pi * 60 * t) * np.exp(-((t / 0.05) ** 2))
    responses = np.tile(burst, (len(times), 1)).astype(np.float32)
    parameters = {
        "injection_time": np.asarray(times),
        "snr": np.full(len(times), 50.0),
        "mass_1_source": np.full(len(times), 30.0),
    }
    WaveformSet(
        {
            "duration": 2.0,
            "right_pad": 0.5,
            "num_draws": len(times) + 1,
            "prior": "mlgwsc1_bbh",
        },
        parameters,
        {"H1": responses, "L1": responses},
        {"snr": np.array([1.0]), "mass_1_source": np.array([20.0])},
    ).write(path)
    return path


@pytest.fixture
def calibrated(repository, background, tmp_path):
    """The repository with its time window measured on 40 loud bursts in
    the background (a stand-in for the held-out validation background)."""
    from aframe_infer.timing import calibrate

    bursts = loud_injections(tmp_path / "validation.hdf5", np.zeros(40))
    calibrate(
        repository,
        [background],
        bursts,
        integration_window_length=0.5,
        cluster_window_length=4.0,
        span=(T0, T0 + DURATION),
    )
    return repository
