"""Reading the inference results: background events and injection draws."""

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from aframe_data.io import read_tables
from aframe_plots.errors import PlotsError

# what the sensitive volume and the efficiencies read of every draw
DRAW_FIELDS = ("mass_1_source", "mass_2_source", "snr", "luminosity_distance")


@dataclass
class Background:
    """Events of the time-slid background.

    Args:
        statistic: detection statistic of each event, (N,).
        time: GPS time of each event (s), (N,).
        shift: time shift of each ifo (s), (N, n_ifo).
        Tb: background time analysed (s).
    """

    statistic: np.ndarray
    time: np.ndarray
    shift: np.ndarray
    Tb: float


@dataclass
class Draws:
    """Every draw of the sampling prior: the analysed injections, then the
    rejected draws (under the SNR threshold, never injected).

    Args:
        mass_1_source: source-frame primary mass (solar masses), (N,).
        mass_2_source: source-frame secondary mass (solar masses), (N,).
        snr: network optimal SNR, (N,).
        luminosity_distance: luminosity distance (Mpc), (N,).
        statistic: detection statistic, -inf where nothing was found, (N,).
        residual: event time - coalescence time (s), NaN where no event
            matched (rejected draws included), (N,).
        num_analysed: how many of the draws, first, were injected.
        num_draws: the draws the file says were made, accepted + rejected.
        prior: name of the sampling prior (``aframe_data.priors``).
        snr_threshold: the lowest network SNR injected.
        ifos: the interferometers, in the order of the shifts.
        time_window: the window around the coalescence in which an event
            found an injection (s); None in files that do not record it.
    """

    mass_1_source: np.ndarray
    mass_2_source: np.ndarray
    snr: np.ndarray
    luminosity_distance: np.ndarray
    statistic: np.ndarray
    residual: np.ndarray
    num_analysed: int
    num_draws: int
    prior: str
    snr_threshold: float
    ifos: list[str]
    time_window: float | None


def _open_error(path: Path, error: Exception) -> PlotsError:
    return PlotsError(f"{path}: cannot read it as HDF5 ({error})")


def _check_exists(path: Path, what: str) -> None:
    if not Path(path).is_file():
        raise PlotsError(f"the {what} file {path} does not exist")


def read_background(path: Path) -> Background:
    """The background events of an HDF5 file.

    The file holds datasets ``detection_statistic`` (N,),
    ``detection_time`` (N,) and ``shift`` (N, n_ifo), and the root
    attribute ``Tb`` (s).

    Raises:
        PlotsError: the file is missing, malformed or inconsistent.
    """
    _check_exists(path, "background")
    try:
        with h5py.File(path, "r") as f:
            missing = [
                key
                for key in ("detection_statistic", "detection_time", "shift")
                if key not in f
            ]
            if "Tb" not in f.attrs:
                missing.append("attribute Tb")
            if missing:
                raise PlotsError(f"{path}: no {', '.join(missing)}")
            statistic = np.asarray(f["detection_statistic"][()], float)
            time = np.asarray(f["detection_time"][()], float)
            shift = np.asarray(f["shift"][()], float)
            Tb = float(f.attrs["Tb"])
    except OSError as error:
        raise _open_error(path, error) from None
    if not Tb > 0:
        raise PlotsError(f"{path}: Tb = {Tb} s, it must be positive")
    if statistic.ndim != 1 or time.shape != statistic.shape:
        raise PlotsError(
            f"{path}: detection_statistic {statistic.shape} and "
            f"detection_time {time.shape} must be equal-length vectors"
        )
    if shift.ndim == 1:
        # one ifo, or no events, stored without the ifo axis
        shift = shift[:, None]
    if shift.ndim != 2 or len(shift) != len(statistic):
        raise PlotsError(
            f"{path}: shift {shift.shape} must be (N, n_ifo) for "
            f"{len(statistic)} events"
        )
    if np.isnan(statistic).any():
        raise PlotsError(f"{path}: detection_statistic has NaNs")
    return Background(statistic, time, shift, Tb)


def _table(path: Path, name: str, table: dict, fields: tuple) -> dict:
    # write_tables leaves a group empty when it has no rows
    if not table:
        return {key: np.zeros(0) for key in fields}
    missing = [key for key in fields if key not in table]
    if missing:
        raise PlotsError(f"{path}: {name}/ has no {', '.join(missing)}")
    columns = {key: np.asarray(table[key], float) for key in fields}
    lengths = {key: column.shape for key, column in columns.items()}
    if len(set(lengths.values())) > 1 or columns[fields[0]].ndim != 1:
        raise PlotsError(f"{path}: {name}/ has unequal columns {lengths}")
    return columns


def read_draws(path: Path) -> Draws:
    """The analysed injections and rejected draws of a foreground file.

    The file is written by ``aframe_data.io.write_tables``: group
    ``parameters/`` holds the analysed injections with their
    ``detection_statistic``, group ``rejected/`` the draws under the SNR
    threshold (either group empty when it has no rows); root attributes
    ``prior``, ``num_draws``, ``snr_threshold`` and ``ifos``.

    Raises:
        PlotsError: the file is missing, malformed or inconsistent.
    """
    _check_exists(path, "foreground")
    try:
        attrs, tables = read_tables(path, ("parameters", "rejected"))
    except KeyError as error:
        raise PlotsError(f"{path}: no group {error}") from None
    except OSError as error:
        raise _open_error(path, error) from None
    missing = [
        key
        for key in ("prior", "num_draws", "snr_threshold", "ifos")
        if key not in attrs
    ]
    if missing:
        raise PlotsError(f"{path}: no attribute {', '.join(missing)}")
    analysed = _table(
        path,
        "parameters",
        tables["parameters"],
        (*DRAW_FIELDS, "detection_statistic"),
    )
    rejected = _table(path, "rejected", tables["rejected"], DRAW_FIELDS)
    num_rejected = len(rejected["snr"])
    rejected["detection_statistic"] = np.full(num_rejected, -np.inf)
    columns = {
        key: np.concatenate([analysed[key], rejected[key]]) for key in analysed
    }
    for key, column in columns.items():
        if np.isnan(column).any():
            raise PlotsError(f"{path}: {key} has NaNs")
    for key in ("mass_1_source", "mass_2_source"):
        if not (columns[key] > 0).all():
            raise PlotsError(f"{path}: {key} must be positive")
    statistic = columns.pop("detection_statistic")
    residual = np.full(statistic.size, np.nan)
    times = tables["parameters"]
    if "detection_time" in times and "injection_time" in times:
        residual[: len(analysed["snr"])] = np.asarray(
            times["detection_time"], float
        ) - np.asarray(times["injection_time"], float)
    window = attrs.get("time_window")
    return Draws(
        **columns,
        statistic=statistic,
        residual=residual,
        num_analysed=len(analysed["snr"]),
        num_draws=int(attrs["num_draws"]),
        prior=str(attrs["prior"]),
        snr_threshold=float(attrs["snr_threshold"]),
        ifos=[str(ifo) for ifo in np.atleast_1d(attrs["ifos"])],
        time_window=None if window is None else float(window),
    )
