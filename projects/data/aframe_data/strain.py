"""Background strain from its three sources: simulated, GWOSC, files.

Every source returns float64 strain per ifo at the requested sample rate.
"""

import glob
import logging
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import h5py
import numpy as np

from aframe_contracts.errors import DataError
from aframe_data.psd import interpolate_psd, load_psd, psd_choices

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
def resample(data: np.ndarray, rate: float, sample_rate: float) -> np.ndarray:
    """Resample with a polyphase anti-aliasing filter."""
    if rate == sample_rate:
        return np.asarray(data, dtype=np.float64)
    from scipy.signal import resample_poly

    ratio = Fraction(sample_rate / rate).limit_denominator(1000)
    return resample_poly(
        np.asarray(data, dtype=np.float64), ratio.numerator, ratio.denominator
    )


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
        rate = series.sample_rate.value
        check_finite(series.value, f"GWOSC {ifo} strain", start, rate)
        strain[ifo] = resample(series.value, rate, sample_rate)
    return strain


# ------------------------------------------------------------------ files
@dataclass(frozen=True)
class Span:
    """A contiguous stretch of one ifo's strain in a file."""

    ifo: str
    start: float
    sample_rate: float
    size: int
    path: Path
    key: str  # the dataset (HDF5) or channel (GWF)

    @property
    def stop(self) -> float:
        return self.start + self.size / self.sample_rate

    def read(self, start: float, stop: float) -> np.ndarray:
        first = round((start - self.start) * self.sample_rate)
        last = round((stop - self.start) * self.sample_rate)
        if self.path.suffix == ".gwf":
            from gwpy.timeseries import TimeSeries

            series = TimeSeries.read(
                self.path, self.key, start=start, end=stop
            )
            return series.value
        try:
            with h5py.File(self.path, "r") as f:
                return f[self.key][first:last]
        except OSError as error:
            raise DataError(
                f"{self.path}: {self.key} cannot be read ({error}): is the "
                "file truncated?"
            ) from None


def expand(patterns: list[str]) -> list[Path]:
    """The files named by paths or glob patterns, each pattern non-empty."""
    files = []
    for pattern in patterns:
        found = sorted(glob.glob(str(Path(pattern).expanduser())))
        if not found:
            raise DataError(f"strain_files: nothing matches {pattern!r}")
        files += [Path(p) for p in found]
    return files


def open_strain_file(path: Path) -> h5py.File:
    """An HDF5 strain file, open for reading; a file that is missing,
    empty or not HDF5 is a DataError naming it."""
    if Path(path).is_dir():
        raise DataError(f"{path} is a directory, not a strain file")
    try:
        return h5py.File(path, "r")
    except FileNotFoundError:
        raise DataError(f"{path}: no such strain file") from None
    except OSError as error:
        size = path.stat().st_size if path.exists() else 0
        what = "is empty" if size == 0 else "is not a readable HDF5 file"
        raise DataError(f"{path} {what} ({error})") from None


def hdf5_spans(path: Path, ifos: list[str]) -> list[Span]:
    spans = []
    with open_strain_file(path) as f:
        if "strain" in f and "Strain" in f["strain"]:
            # a GWOSC file: one ifo, the start and spacing as attributes
            dataset = f["strain/Strain"]
            ifo = f["meta/Detector"][()]
            ifo = ifo.decode() if isinstance(ifo, bytes) else str(ifo)
            spans.append(
                Span(
                    ifo,
                    float(dataset.attrs["Xstart"]),
                    1 / float(dataset.attrs["Xspacing"]),
                    dataset.shape[0],
                    path,
                    "strain/Strain",
                )
            )
            return spans
        # the MLGWSC-1 layout: <ifo>/<gps start> datasets
        found = [ifo for ifo in ifos if ifo in f]
        if not found:
            raise DataError(
                f"{path}: neither a GWOSC file (strain/Strain) nor in the "
                f"MLGWSC-1 layout (groups named {', '.join(ifos)})"
            )
        for ifo in found:
            for name, dataset in f[ifo].items():
                attrs = dataset.attrs
                if "start_time" not in attrs or "delta_t" not in attrs:
                    raise DataError(
                        f"{path}: {ifo}/{name} lacks the start_time and "
                        "delta_t attributes of the MLGWSC-1 layout"
                    )
                if not isinstance(dataset, h5py.Dataset) or dataset.ndim != 1:
                    shape = getattr(dataset, "shape", "a group")
                    raise DataError(
                        f"{path}: {ifo}/{name} is {shape}, not a "
                        "one-dimensional series of strain samples"
                    )
                spans.append(
                    Span(
                        ifo,
                        float(attrs["start_time"]),
                        1 / float(attrs["delta_t"]),
                        dataset.shape[0],
                        path,
                        f"{ifo}/{name}",
                    )
                )
    return spans


def _gwf_spans(path: Path, ifos: list[str], channel: str) -> list[Span]:
    from gwpy.io.gwf import get_channel_names
    from gwpy.timeseries import TimeSeries

    names = set(get_channel_names(path))
    spans = []
    for ifo in ifos:
        key = f"{ifo}:{channel}"
        if key not in names:
            continue
        series = TimeSeries.read(path, key)
        spans.append(
            Span(
                ifo,
                series.t0.value,
                series.sample_rate.value,
                series.size,
                path,
                key,
            )
        )
    return spans


def index_files(
    patterns: list[str], ifos: list[str], channel: str
) -> dict[str, list[Span]]:
    """The spans of each ifo's strain in the files, sorted by start."""
    spans = {ifo: [] for ifo in ifos}
    for path in expand(patterns):
        if path.suffix == ".gwf":
            found = _gwf_spans(path, ifos, channel)
        elif path.suffix in (".h5", ".hdf5", ".hdf"):
            found = hdf5_spans(path, ifos)
        else:
            raise DataError(
                f"{path}: unknown strain file type {path.suffix!r} (expected "
                ".gwf, .hdf5, .h5 or .hdf)"
            )
        for span in found:
            if span.ifo in spans:
                spans[span.ifo].append(span)
    for ifo, found in spans.items():
        if not found:
            raise DataError(
                f"strain_files hold no {ifo} strain: {', '.join(patterns)}"
            )
        found.sort(key=lambda span: span.start)
    return spans


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
