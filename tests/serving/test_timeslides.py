"""Timeslides of a template bank at ranking cost (aframe_serving.timeslides):
each ifo filtered once, its windows paired per timeslide, give the
network's outputs on the paired windows and the streaming path's."""

import numpy as np
import pytest
import torch

from aframe_data import strain
from aframe_serving.bank import local_engine
from aframe_serving.engine import LocalEngine
from aframe_serving.errors import StreamError
from aframe_serving.postprocess import stream_events
from aframe_serving.stream import shifted
from aframe_serving.timeslides import SlidBank
from aframe_signal.bank import TemplateBank
from tests.export.conftest import RATE
from tests.serving.test_bank import bank_repository
from tests.train.test_glitch_tails import with_fitted_tails
from tests.train.test_networks import chirps

TESTS = {
    "snrs": {},
    "with-its-tests": {
        "chisq_bins": 4,
        "sine_gaussian_q": 6,
        # tiles up to the Nyquist frequency: at 256 Hz, the chirps' 90%
        # power frequencies leave none below 0.8 of it
        "sine_gaussian_fmax": 1.0,
        "max_snr_ratio": 2.5,
        "glitch_tails": True,
    },
}


def chunk(geometry, seconds: float) -> dict[str, np.ndarray]:
    """Coloured noise with a loud chirp in both ifos and a blip in L1,
    cut so that its stream ends on a whole update (no end padding)."""
    size = round(seconds * RATE)
    size -= (geometry.front_padding + size) % geometry.update_size
    noise = strain.simulated(
        ["H1", "L1"], 0, seconds, RATE, "aLIGO_O4_high", 4
    )
    noise = {ifo: x[:size] for ifo, x in noise.items()}
    t = np.arange(RATE // 2) / RATE
    chirp = np.sin(2 * np.pi * (30 + 60 * t) * t) * np.hanning(t.size)
    for ifo in ("H1", "L1"):
        noise[ifo][40 * RATE : 40 * RATE + t.size] += 3e-21 * chirp
    blip = np.hanning(8) * 2e-20
    noise["L1"][70 * RATE : 70 * RATE + 8] += blip
    return noise


@pytest.mark.parametrize("tests", TESTS.values(), ids=TESTS.keys())
def test_whole_update_timeslides_give_the_streams_outputs(tests, tmp_path):
    """Shifts of whole updates: each timeslide's outputs equal those of
    the exported files streamed over the shifted strain, to 1e-5
    (float32: FFTs against direct correlation), as many as the shifted
    stream has, and so do its events, one for one."""
    repository = bank_repository(tmp_path, **tests)
    geometry = repository.geometry
    noise = chunk(geometry, 120)
    slid = SlidBank(local_engine(repository))
    both = np.stack([noise["H1"], noise["L1"]])
    terms = slid.terms(both)
    update = geometry.update_size / RATE
    shifts = [[0.0, update * k] for k in (3, 7)]
    stream = LocalEngine(repository)
    for shift, ours in zip(shifts, slid.slides(terms, shifts), strict=True):
        x = shifted(noise, ["H1", "L1"], shift, RATE)
        (theirs,) = stream.infer([geometry.updates(x)])
        theirs = geometry.outputs(theirs, x.shape[-1])
        assert ours.size == theirs.size > 0
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)
        statistics, times = stream_events(ours, 0.0, geometry, 0.0, 8.0)
        expected = stream_events(theirs, 0.0, geometry, 0.0, 8.0)
        np.testing.assert_allclose(statistics, expected[0], atol=1e-5)
        np.testing.assert_array_equal(times, expected[1])


def own_windows(engine, geometry, both: np.ndarray) -> torch.Tensor:
    """(W, C, kernel) every output window of each ifo, whitened on its
    own update grid, as the streaming path cuts them."""
    whitener = engine.whitener
    size = geometry.buffer_size - geometry.update_size
    state = np.zeros((2, size), np.float32)
    windows = []
    for update in geometry.updates(both):
        buffer = np.concatenate([state, update], -1)
        state = buffer[:, geometry.update_size :]
        with torch.no_grad():
            windows.append(whitener(torch.from_numpy(buffer)))
    windows = torch.cat(windows[geometry.warmup :])
    return windows[: geometry.valid_outputs(both.shape[-1])]


def test_any_timeslide_is_the_network_on_the_paired_windows(tmp_path):
    """A shift of 13 output steps, not a whole update: every output
    equals the bank's exported outputs (its logit and merger offset) on
    H1's window i beside L1's window i + 13, each whitened on its own
    ifo's update grid, to 1e-5."""
    repository = bank_repository(tmp_path, **TESTS["with-its-tests"])
    geometry = repository.geometry
    noise = chunk(geometry, 90)
    both = np.stack([noise["H1"], noise["L1"]])
    engine = local_engine(repository)
    slid = SlidBank(engine)
    terms = slid.terms(both)
    step = geometry.stride / RATE
    (ours,) = slid.slides(terms, [[0.0, 13 * step]])
    windows = own_windows(engine, geometry, both)
    paired = torch.stack([windows[:-13, 0], windows[13:, 1]], 1)
    with torch.no_grad():
        theirs = engine.bank.timed(paired).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)


def test_shifts_that_are_no_timeslide_are_refused(tmp_path):
    """Part of an output step, a negative shift, zero lag and a single
    ifo are refused, each with what is wrong."""
    repository = bank_repository(tmp_path)
    slid = SlidBank(local_engine(repository))
    step = repository.geometry.stride / RATE
    for shifts, match in [
        ([0.0, 1.1 * step], "whole number"),
        ([0.0, -10 * step], "whole number"),
        ([3 * step, 3 * step], "zero lag"),
        ([0.0], "two or more ifos"),
    ]:
        with pytest.raises(StreamError, match=match):
            slid.offsets(shifts)
    assert slid.offsets([0.0, 200 * step]) == [0, 200]


def test_lag_terms_are_the_tests_at_every_lag():
    """On whitened noise with a tone that rings in the sine-Gaussian
    tiles, the first ifo's lag terms at every lag of every window equal
    its squared SNR and its ranked SNR taken there window by window
    (``tested_snrs`` and the noise map), to 1e-5 relative: the tiles of
    the last lags, which reach past a window, included."""
    torch.manual_seed(5)
    # tiles of Q 24 ring for 1.4 widths of their envelope either side of
    # their centre: those of the last lags reach past the window with
    # much of their weight
    tests = {**TESTS["with-its-tests"], "sine_gaussian_q": 24}
    bank = TemplateBank(2, RATE, 4, 0.5, **tests)
    bank.initialise(chirps(6, bank.template_size, RATE).float())
    with_fitted_tails(bank)
    bank.eval()
    kernel, stride, batch = RATE, RATE // 4, 6
    t = torch.arange((batch - 1) * stride + kernel) / RATE
    whitened = torch.randn(2, t.numel()) + 3 * torch.sin(
        2 * torch.pi * 120 * t
    )
    coincident, ranked = bank.lag_terms(
        whitened, kernel, stride, bank.lag_spectra()
    )
    kernels = whitened.unfold(-1, kernel, stride).transpose(0, 1)
    snr2 = bank.snrs(kernels)
    lags = snr2.shape[-1]
    assert ranked.shape == (batch, 2, 4, lags)
    with torch.no_grad():
        for lag in range(lags):
            at = torch.full((batch, 2, 4), lag)
            snr = (snr2[..., lag] + 1e-6).sqrt()
            expected = bank.gaussian_equivalent(
                bank.tested_snrs(kernels, snr, at)
            )
            np.testing.assert_allclose(
                ranked[:, 0, :, lag], expected[:, 0], rtol=1e-5, atol=1e-6
            )
    np.testing.assert_allclose(
        coincident[:, 0], snr2[:, 0], rtol=1e-4, atol=1e-4
    )
