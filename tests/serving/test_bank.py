"""The bank backend of the embedded engine (aframe_serving.bank): a
template bank's repository filtered once per update at FFT cost gives
the streaming path's outputs and events."""

import numpy as np
import pytest
import torch

from aframe_contracts.model import ModelSettings
from aframe_data import strain
from aframe_export.export import export
from aframe_serving.bank import BankEngine, local_engine
from aframe_serving.engine import LocalEngine
from aframe_serving.errors import RepositoryError
from aframe_serving.postprocess import stream_events
from aframe_serving.repository import ModelRepository
from aframe_serving.stream import shifted
from aframe_signal.bank import TemplateBank, load_bank, save_network
from tests.export.conftest import RATE, SETTINGS
from tests.train.test_glitch_tails import with_fitted_tails
from tests.train.test_networks import chirps

KERNEL, TEMPLATE = 1.0, 0.5


def bank_repository(directory, **tests) -> ModelRepository:
    """A bank of four chirps, its ranking at random, exported."""
    torch.manual_seed(3)
    size = round(TEMPLATE * RATE)
    bank = TemplateBank(2, RATE, 4, TEMPLATE, **tests)
    bank.initialise(chirps(6, size, RATE).float())
    if bank.glitch_tails:
        with_fitted_tails(bank)
    bank = bank.eval()
    run = directory / "run"
    run.mkdir(parents=True)
    traced = torch.jit.trace(bank, torch.zeros(1, 2, round(KERNEL * RATE)))
    save_network(traced, run / "model.pt", bank.settings)
    ModelSettings(**SETTINGS, response=bank.response(RATE)).write(
        run / "model.json"
    )
    export(
        run / "model.pt",
        directory / "repo",
        SETTINGS["ifos"],
        RATE,
        KERNEL,
        1.0,
        psd_length=8.0,
        inference_sampling_rate=4.0,
        batch_size=8,
        platform="onnx",
    )
    return ModelRepository.open(directory / "repo")


@pytest.mark.parametrize(
    "tests",
    [
        {},
        {"chisq_bins": 4, "sine_gaussian_q": 6, "max_snr_ratio": 2.5},
        {"chisq_bins": 4, "glitch_tails": True},
    ],
    ids=["snrs", "with-its-tests", "with-glitch-tails"],
)
def test_the_bank_engine_gives_the_streams_outputs_and_events(tests, tmp_path):
    """Coloured noise with a loud chirp, in three timeslides: the bank
    engine's outputs equal the exported files' to 1e-5 (float32
    rounding: FFT against direct correlation), and so do their events,
    one for one, at the same times."""
    repository = bank_repository(tmp_path, **tests)
    noise = strain.simulated(["H1", "L1"], 0, 160, RATE, "aLIGO_O4_high", 4)
    t = np.arange(RATE // 2) / RATE
    chirp = np.sin(2 * np.pi * (30 + 60 * t) * t) * np.hanning(t.size)
    for ifo in ("H1", "L1"):
        noise[ifo][100 * RATE : 100 * RATE + t.size] += 3e-21 * chirp
    geometry = repository.geometry
    streams = [
        shifted(noise, ["H1", "L1"], shift, RATE)
        for shift in ([0, 0], [0, 1], [0, 3])
    ]
    bank = local_engine(repository)
    assert isinstance(bank, BankEngine)
    stream = LocalEngine(repository)
    updates = [geometry.updates(x) for x in streams]
    for x, ours, theirs in zip(
        streams, bank.infer(updates), stream.infer(updates), strict=True
    ):
        ours = geometry.outputs(ours, x.shape[-1])
        theirs = geometry.outputs(theirs, x.shape[-1])
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)
        statistics, times = stream_events(ours, 0.0, geometry, 0.0, 8.0)
        expected = stream_events(theirs, 0.0, geometry, 0.0, 8.0)
        np.testing.assert_allclose(statistics, expected[0], atol=1e-5)
        np.testing.assert_array_equal(times, expected[1])


def test_which_engine_runs_a_repository(tmp_path, repository):
    """auto: the bank engine for a bank, the exported files for another
    network; stream: the exported files always; bank: refused for a
    repository without a bank's network, and unknown engines named."""
    banked = bank_repository(tmp_path / "bank")
    assert isinstance(local_engine(banked, "stream"), LocalEngine)
    resnet = ModelRepository.open(repository)
    assert isinstance(local_engine(resnet), LocalEngine)
    with pytest.raises(RepositoryError, match="holds no template bank"):
        local_engine(resnet, "bank")
    with pytest.raises(RepositoryError, match="choose one of auto"):
        local_engine(banked, "fast")


def test_a_bank_saved_with_its_settings_is_rebuilt(tmp_path, weights):
    """A bank saved by save_network loads as the same network; other
    networks (and banks saved before their settings were) load as None."""
    torch.manual_seed(1)
    bank = TemplateBank(2, RATE, 3, TEMPLATE, chisq_bins=4).eval()
    bank.initialise(chirps(5, round(TEMPLATE * RATE), RATE).float())
    x = torch.randn(3, 2, RATE)
    save_network(torch.jit.trace(bank, x), tmp_path / "bank.pt", bank.settings)
    again = load_bank(tmp_path / "bank.pt")
    assert again.settings == bank.settings
    assert torch.equal(again(x), bank(x))
    assert load_bank(weights) is None
