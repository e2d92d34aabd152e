"""Whitened Gaussian noise is white, of unit variance."""

import numpy as np
import torch

from aframe_contracts.model import WhiteningSpec
from aframe_data import strain
from aframe_signal.whitening import STRAIN_SCALE, Whitener

RATE = 512
SPEC = WhiteningSpec(RATE, 1.0, 1.0, 16.0, None, 20.0, None)


def test_gaussian_noise_whitens_to_unit_variance():
    whitener = Whitener(SPEC)
    assert (whitener.psd_size, whitener.window_size) == (16 * RATE, 2 * RATE)
    noise = strain.simulated(["H1", "L1"], 0, 118, RATE, "aLIGO_O4_high", 2)
    x = np.stack([noise["H1"], noise["L1"]]) * STRAIN_SCALE
    # 100 windows, one a second
    windows = torch.as_tensor(x).unfold(-1, 18 * RATE, RATE).transpose(0, 1)
    kernels = whitener(windows.float())
    assert kernels.shape == (101, 2, RATE)
    # unit variance, to the few percent a 16 s median PSD allows
    variance = kernels.double().var(-1).mean(0).numpy()
    np.testing.assert_allclose(variance, 1, rtol=0.06)
    # and white: as much power per Hz low in the band as high in it,
    # where the raw noise differs by orders of magnitude
    power = np.mean(np.abs(np.fft.rfft(kernels.double().numpy())) ** 2, 0)
    frequencies = np.fft.rfftfreq(RATE, 1 / RATE)
    low = power[:, (frequencies > 30) & (frequencies < 80)].mean(-1)
    high = power[:, (frequencies > 150) & (frequencies < 240)].mean(-1)
    np.testing.assert_allclose(low / high, 1, rtol=0.1)
