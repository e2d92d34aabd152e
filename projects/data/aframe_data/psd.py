"""Noise power spectral densities: named curves, files, and estimates."""

from pathlib import Path

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
    """A one-sided PSD, from a bilby curve name or a two-column file.

    A file whose name ends in ``_asd.txt`` holds an amplitude spectral
    density and is squared; any other holds the PSD itself.

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
    if np.any(np.diff(frequencies) <= 0) or np.any(values <= 0):
        raise DataError(
            f"{path}: frequencies must increase and the PSD be positive"
        )
    return frequencies, values


def interpolate_psd(
    frequencies: np.ndarray, psd: np.ndarray, grid: np.ndarray
) -> np.ndarray:
    """The PSD on a frequency grid, interpolated in log-log.

    Below the curve's lowest frequency the PSD holds its first value, above
    its highest its last: outside the band they only need to be finite.
    """
    grid = np.clip(grid, frequencies[0], frequencies[-1])
    return np.exp(np.interp(np.log(grid), np.log(frequencies), np.log(psd)))
