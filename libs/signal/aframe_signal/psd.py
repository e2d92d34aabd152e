"""The noise power spectral density of strain.

One definition: the one-sided median-averaged Welch estimate, with Hann
windows of ``fftlength`` seconds overlapping by half, in strain^2 / Hz.
Two implementations, on purpose:

- ``welch_psd`` (scipy) for whole files: the data stage's PSD of a
  background chunk, which sets the SNRs of injections, and the
  benchmark's;
- ``spectral_density`` (ml4gw's ``SpectralDensity``) for batches of
  windows on the training device: the PSD that whitens each window, in
  training and in the exported preprocessor (``whitening.Whitener``).

tests/signal/test_psd.py holds them to each other.
"""

import numpy as np

from aframe_contracts.errors import DataError


def welch_psd(
    strain: dict[str, np.ndarray],
    ifos: list[str],
    sample_rate: float,
    fftlength: float,
) -> np.ndarray:
    """Median-Welch PSDs (n_ifo, F) on the rfft grid of fftlength (1/Hz).

    Raises:
        DataError: an ifo's strain is shorter than two FFTs.
    """
    from scipy.signal import welch

    size = round(fftlength * sample_rate)
    psds = []
    for ifo in ifos:
        if strain[ifo].size < 2 * size:
            raise DataError(
                f"{strain[ifo].size / sample_rate:.0f} s of {ifo} background "
                f"is too short for a PSD with {fftlength} s FFTs"
            )
        _, psd = welch(
            strain[ifo], fs=sample_rate, nperseg=size, average="median"
        )
        psds.append(psd)
    return np.stack(psds)


def spectral_density(sample_rate: float, fftlength: float):
    """The torch module of the same estimate, for (B, C, T) batches."""
    from ml4gw.transforms import SpectralDensity

    return SpectralDensity(sample_rate, fftlength, average="median")
