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


def test_a_span_whitened_at_once_is_each_window_whitened_alone():
    """Inference whitens a batch's span at once with the filter a window
    gets: in coloured noise each window of it is the window whitened on
    its own, as training whitens, to 1% of the whitened noise."""
    whitener = Whitener(SPEC)
    noise = strain.simulated(["H1", "L1"], 0, 40, RATE, "aLIGO_O4_high", 3)
    x = torch.as_tensor(np.stack([noise["H1"], noise["L1"]]) * STRAIN_SCALE)
    psd = whitener.psd(x[None])
    span = x[None, :, whitener.psd_size :]
    whitened = whitener.span(span, psd)
    # the span less half a filter at each end
    assert whitened.shape[-1] == span.shape[-1] - RATE
    windows = span[0].unfold(-1, 2 * RATE, RATE // 4).transpose(0, 1)
    each = whitener(windows.float(), psd[0]).double()
    kernels = whitened[0].unfold(-1, RATE, RATE // 4).transpose(0, 1)
    difference = (kernels.double() - each).std() / each.std()
    assert difference < 0.01
    # in noise whose raw samples low frequencies dominate: the sample to
    # sample differences are small beside the samples
    assert float(x.std() / (x.diff(dim=-1).std())) > 10
