"""The optimal signal-to-noise ratio of a signal in noise of a PSD.

One definition: for a response h in one ifo, SNR^2 = 4 df sum |h(f)|^2 /
S(f) over the rfft bins in [highpass, lowpass), h(f) the continuous-time
Fourier transform (the rfft divided by the sample rate); the network SNR
is the root sum of squares over the ifos.  Two implementations, on
purpose:

- ``optimal_snrs`` (numpy, float64) for files: the SNRs the data stage
  records of every signal and thresholds on, and the benchmark's, with
  the PSD interpolated onto the signal's frequency grid;
- ``network_snr`` (ml4gw's ``compute_network_snr``, torch) for batches on
  the training device, where a window's own PSD rescales each signal to
  its sampled SNR.  The PSD must be on the signal's rfft grid.

tests/signal/test_snr.py holds them to each other.
"""

import numpy as np


def optimal_snrs(
    responses: np.ndarray,
    psd: np.ndarray,
    sample_rate: float,
    highpass: float,
    lowpass: float | None,
) -> np.ndarray:
    """Optimal SNR of each response in each ifo, (N, n_ifo), in float64.

    Args:
        responses: (N, n_ifo, T) signals.
        psd: (n_ifo, F) one-sided PSDs on an evenly spaced grid from 0 to
            Nyquist, interpolated onto the responses' rfft grid.
        sample_rate: samples per second (Hz).
        highpass: the band's lower edge (Hz).
        lowpass: the band's upper edge (Hz); None for Nyquist.
    """
    size = responses.shape[-1]
    frequencies = np.fft.rfftfreq(size, 1 / sample_rate)
    psd_frequencies = np.linspace(0, sample_rate / 2, psd.shape[-1])
    band = frequencies >= highpass
    if lowpass is not None:
        band &= frequencies < lowpass
    band[-1] = False
    spectrum = np.fft.rfft(responses.astype(np.float64), axis=-1)[..., band]
    spectrum /= sample_rate
    noise = np.stack(
        [np.interp(frequencies[band], psd_frequencies, p) for p in psd]
    )
    df = sample_rate / size
    return np.sqrt(4 * df * np.sum(np.abs(spectrum) ** 2 / noise, axis=-1))


def network_snr(responses, psd, sample_rate, highpass, lowpass):
    """Network SNR (B,) of (B, C, T) torch responses in (B, C, F) or
    (C, F) PSDs on their rfft grid."""
    from ml4gw.gw import compute_network_snr

    return compute_network_snr(responses, psd, sample_rate, highpass, lowpass)
