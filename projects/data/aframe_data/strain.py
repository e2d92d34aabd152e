"""Background strain from its three sources: simulated, GWOSC, files.

Every source returns float64 strain per ifo at the requested sample rate.
"""

import logging
import math

import numpy as np

from aframe_contracts.errors import DataError
from aframe_contracts.strain_checks import check_series
from aframe_contracts.strain_files import index_files
from aframe_data.psd import interpolate_psd, load_psd, psd_choices
from aframe_signal.resample import resample

logger = logging.getLogger("aframe_data")


def num_samples(duration: float, sample_rate: float) -> int:
    """Samples in ``duration`` seconds; the product must be whole."""
    samples = duration * sample_rate
    if abs(samples - round(samples)) > 1e-6:
        raise DataError(
            f"{duration} s at {sample_rate} Hz is not a whole number of "
            "samples"
        )
    return round(samples)


# ------------------------------------------------------------- simulated
def coloured_noise(
    frequencies: np.ndarray,
    psd: np.ndarray,
    size: int,
    sample_rate: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Stationary Gaussian noise of a one-sided PSD, made in frequency.

    Each rfft bin k gets a complex normal amplitude with
    E|X_k|^2 = S(f_k) fs N / 2, the inverse of the one-sided periodogram
    2|X_k|^2 / (fs N); the DC bin is zero and the Nyquist bin real.
    """
    grid = np.fft.rfftfreq(size, 1 / sample_rate)
    scale = np.sqrt(
        interpolate_psd(frequencies, psd, grid) * sample_rate * size / 4
    )
    amplitudes = scale * (
        rng.standard_normal(grid.size) + 1j * rng.standard_normal(grid.size)
    )
    amplitudes[0] = 0
    if size % 2 == 0:
        amplitudes[-1] = amplitudes[-1].real * math.sqrt(2)
    return np.fft.irfft(amplitudes, size)


def simulated(
    ifos: list[str],
    start: float,
    duration: float,
    sample_rate: float,
    noise_psd: str,
    seed: int,
) -> dict[str, np.ndarray]:
    """Independent Gaussian noise per ifo, seeded by seed, start and ifo.

    With several PSDs to choose from (``psd.psd_choices``), each ifo of
    each chunk draws one, as the challenge's dataset 3 does per segment:
    an entry of ``noise_psd`` uniformly, then a file of the entry's glob.
    """
    size = num_samples(duration, sample_rate)
    strain = {}
    for i, ifo in enumerate(ifos):
        name = choose_psd(psd_choices(noise_psd, ifo), [seed, start, i])
        logger.info("%s noise at GPS %s: PSD %s", ifo, start, name)
        rng = np.random.default_rng([seed, round(start), i])
        strain[ifo] = coloured_noise(*load_psd(name), size, sample_rate, rng)
    return strain


def choose_psd(choices: list[list[str]], key: list[float]) -> str:
    """One PSD of ``choices``, drawn by a stream of its own seeded by
    ``key``, so that the noise of a single PSD stays what it was."""
    if len(choices) == 1 and len(choices[0]) == 1:
        return choices[0][0]
    rng = np.random.default_rng([*(round(k) for k in key), 1])
    entry = choices[rng.integers(len(choices))]
    return entry[rng.integers(len(entry))]


# ------------------------------------------------------------------ GWOSC
def check_finite(data: np.ndarray, what: str, start: float, rate: float):
    bad = np.flatnonzero(~np.isfinite(data))
    if bad.size:
        raise DataError(
            f"{what} has {bad.size} NaN or infinite samples, the first at "
            f"GPS {start + bad[0] / rate:.3f}: choose segments without gaps"
        )


def gwosc(
    ifos: list[str], start: float, duration: float, sample_rate: float
) -> dict[str, np.ndarray]:
    """Open strain from GWOSC (needs the network)."""
    from gwpy.timeseries import TimeSeries

    strain = {}
    for ifo in ifos:
        logger.info("fetching %s open data %s + %s s", ifo, start, duration)
        series = TimeSeries.fetch_open_data(
            ifo, start, start + duration, cache=True
        )
        check_series(
            "GWOSC open data", ifo, series.dtype, interval=series.dt.value
        )
        rate = series.sample_rate.value
        check_finite(series.value, f"GWOSC {ifo} strain", start, rate)
        strain[ifo] = resample(series.value, rate, sample_rate)
    return strain


# ------------------------------------------------------------------ files
def files(
    patterns: list[str],
    ifos: list[str],
    start: float,
    duration: float,
    sample_rate: float,
    channel: str,
) -> dict[str, np.ndarray]:
    """Strain of each ifo over [start, start + duration) from the files."""
    stop = start + duration
    strain = {}
    for ifo, spans in index_files(patterns, ifos, channel).items():
        pieces, cursor = [], start
        for span in spans:
            if span.stop <= cursor or span.start >= stop:
                continue
            if span.start > cursor + 1 / span.sample_rate:
                break
            end = min(stop, span.stop)
            pieces.append((span.read(cursor, end), span.sample_rate))
            cursor = end
        if cursor < stop - 1e-6:
            raise DataError(
                f"strain_files do not cover {ifo} from GPS {cursor} to "
                f"{stop} (requested {start} + {duration} s)"
            )
        rates = {rate for _, rate in pieces}
        if len(rates) > 1:
            raise DataError(f"{ifo} strain files mix sample rates {rates}")
        data = np.concatenate([piece for piece, _ in pieces])
        check_finite(data, f"{ifo} strain in strain_files", start, rates.pop())
        strain[ifo] = resample(data, pieces[0][1], sample_rate)
    return strain
