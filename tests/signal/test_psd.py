"""The PSD: scipy's median Welch against ml4gw's, on the same noise."""

import numpy as np
import pytest
import torch

from aframe_contracts.errors import DataError
from aframe_data import strain
from aframe_signal.psd import spectral_density, welch_psd

RATE = 1024


def test_the_two_implementations_agree():
    noise = strain.simulated(["H1", "L1"], 0, 64, RATE, "aLIGO_O4_high", 5)
    ours = welch_psd(noise, ["H1", "L1"], RATE, fftlength=2)
    batch = torch.as_tensor(np.stack([noise["H1"], noise["L1"]]))[None]
    theirs = spectral_density(RATE, 2)(batch.double())[0].numpy()
    assert theirs.shape == ours.shape == (2, RATE + 1)
    band = slice(20 * 2, 500 * 2)
    # the same estimate: equal to the bin, up to the median's bias terms
    np.testing.assert_allclose(theirs[:, band], ours[:, band], rtol=0.02)


def test_background_shorter_than_the_psd_window():
    noise = {"H1": np.zeros(6 * RATE)}
    with pytest.raises(DataError, match="6 s of H1 background is too short"):
        welch_psd(noise, ["H1"], RATE, fftlength=4)
