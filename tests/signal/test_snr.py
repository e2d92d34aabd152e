"""The SNR: numpy against bilby, and ml4gw's against numpy."""

import numpy as np
import pytest
import torch
from bilby.gw.utils import optimal_snr_squared

from aframe_data.psd import interpolate_psd, load_psd
from aframe_signal.snr import network_snr, optimal_snrs

RATE = 1024


def design_psd(size):
    frequencies = np.linspace(0, RATE / 2, size // 2 + 1)
    psd = interpolate_psd(*load_psd("aLIGO_O4_high"), frequencies)
    return np.stack([psd, psd * 2])


def test_optimal_snrs_match_bilby():
    rng = np.random.default_rng(0)
    responses = rng.standard_normal((3, 2, 4 * RATE)) * 1e-22
    psd = design_psd(4 * RATE)
    ours = optimal_snrs(responses, psd, RATE, highpass=32, lowpass=None)
    frequencies = np.fft.rfftfreq(4 * RATE, 1 / RATE)
    band = (frequencies >= 32) & (frequencies < RATE / 2)
    for i in range(3):
        for j in range(2):
            spectrum = np.fft.rfft(responses[i, j]) / RATE
            expected = optimal_snr_squared(
                spectrum[band], psd[j][band], duration=4
            ).real
            assert ours[i, j] == pytest.approx(np.sqrt(expected), rel=1e-6)


@pytest.mark.parametrize("lowpass", [None, 300.0])
def test_the_two_implementations_agree(lowpass):
    # the same definition: training rescales signals to the SNRs the data
    # stage thresholds on
    rng = np.random.default_rng(1)
    t = np.arange(2 * RATE) / RATE
    chirp = np.sin(2 * np.pi * (30 + 60 * t) * t) * np.exp(-((t - 1.5) ** 2))
    responses = chirp * rng.uniform(0.5, 2, (4, 2, 1)) * 1e-22
    psd = design_psd(2 * RATE)
    ours = np.sqrt(
        np.sum(optimal_snrs(responses, psd, RATE, 32.0, lowpass) ** 2, -1)
    )
    theirs = network_snr(
        torch.as_tensor(responses), torch.as_tensor(psd), RATE, 32.0, lowpass
    )
    np.testing.assert_allclose(theirs.numpy(), ours, rtol=1e-3)
