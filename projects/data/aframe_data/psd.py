"""Noise power spectral densities: named curves, files, and estimates."""

import glob
from pathlib import Path

import h5py
import numpy as np

from aframe_contracts.errors import DataError


def _bilby_curves() -> Path:
    import bilby

    return Path(bilby.__file__).parent / "gw" / "detector" / "noise_curves"


def curve_names() -> list[str]:
    """The PSD curves shipped with bilby, by name (e.g. aLIGO_O4_high)."""
    names = set()
    for path in _bilby_curves().glob("*_[ap]sd.txt"):
        names.add(path.name[: -len("_asd.txt")])
    return sorted(names)


def load_psd(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A one-sided PSD, from a bilby curve name or a file.

    Files are two-column text (Hz, PSD) or HDF5 in pycbc's
    FrequencySeries layout (a ``data`` dataset with a ``delta_f``
    attribute, from 0 Hz), as the MLGWSC-1 challenge ships its O3a PSDs.
    A text file whose name ends in ``_asd.txt`` holds an amplitude
    spectral density and is squared.  Bins at 0 Hz or of zero power
    (pycbc zeroes those below its low-frequency cutoff) are dropped.

    Returns:
        frequencies (Hz) and the PSD (1/Hz), both float64.
    """
    path = Path(name).expanduser()
    if not path.exists():
        folder = _bilby_curves()
        for suffix in ("_psd.txt", "_asd.txt"):
            if (folder / f"{name}{suffix}").exists():
                path = folder / f"{name}{suffix}"
                break
        else:
            raise DataError(
                f"unknown noise_psd {name!r}: not a file, nor one of "
                f"bilby's curves: {', '.join(curve_names())}"
            )
    if h5py.is_hdf5(path):
        frequencies, values = _read_frequency_series(path)
    else:
        frequencies, values = _read_text_psd(path)
    if np.any(np.diff(frequencies) <= 0) or np.any(values < 0):
        raise DataError(
            f"{path}: frequencies must increase and the PSD be non-negative"
        )
    keep = (frequencies > 0) & (values > 0)
    if keep.sum() < 2:
        raise DataError(f"{path}: fewer than two bins of positive power")
    return frequencies[keep], values[keep]


def _read_text_psd(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        data = np.loadtxt(path, dtype=np.float64)
    except ValueError as error:
        raise DataError(
            f"{path}: not a two-column PSD file: {error}"
        ) from None
    if data.ndim != 2 or data.shape[1] != 2:
        raise DataError(f"{path}: expected two columns (Hz, PSD)")
    frequencies, values = data.T
    if path.name.endswith("_asd.txt"):
        values = values**2
    return frequencies, values


def _read_frequency_series(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with h5py.File(path, "r") as f:
        data = f.get("data")
        if not isinstance(data, h5py.Dataset) or "delta_f" not in data.attrs:
            raise DataError(
                f"{path}: not a PSD file: expected a 'data' dataset with a "
                "'delta_f' attribute (pycbc's FrequencySeries layout)"
            )
        values = np.asarray(data[()], dtype=np.float64)
        delta_f = float(data.attrs["delta_f"])
    if values.ndim != 1 or delta_f <= 0:
        raise DataError(f"{path}: 'data' must be 1-D, and delta_f positive")
    return np.arange(values.size) * delta_f, values


def psd_choices(noise_psd: str, ifo: str) -> list[list[str]]:
    """The PSDs an ifo's simulated noise may take, grouped by entry.

    ``noise_psd`` holds one or more entries separated by spaces, each a
    bilby curve name, a PSD file or a glob of PSD files, in which
    ``{ifo}`` stands for the ifo (``psds/{ifo}/psd-*.hdf``).  A glob
    that matches nothing is an error.
    """
    entries = noise_psd.split()
    if not entries:
        raise DataError("noise_psd is empty: name a PSD curve or file")
    choices = []
    for entry in entries:
        entry = entry.replace("{ifo}", ifo)
        if glob.has_magic(entry):
            matches = sorted(glob.glob(str(Path(entry).expanduser())))
            if not matches:
                raise DataError(f"noise_psd: {entry!r} matches no file")
            choices.append(matches)
        else:
            choices.append([entry])
    return choices


def interpolate_psd(
    frequencies: np.ndarray, psd: np.ndarray, grid: np.ndarray
) -> np.ndarray:
    """The PSD on a frequency grid, interpolated in log-log.

    Below the curve's lowest frequency the PSD holds its first value, above
    its highest its last: outside the band they only need to be finite.
    """
    grid = np.clip(grid, frequencies[0], frequencies[-1])
    return np.exp(np.interp(np.log(grid), np.log(frequencies), np.log(psd)))
