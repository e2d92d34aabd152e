"""The injection draws of the inference results, read for the population
maths."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aframe_contracts.events import ForegroundEvents
from aframe_plots.errors import PlotsError

# what the sensitive volume and the efficiencies read of every draw
DRAW_FIELDS = ("mass_1_source", "mass_2_source", "snr", "luminosity_distance")


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
        prior: name of the sampling prior (``aframe_priors.priors``).
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

    The file is a ``foreground-events`` file (aframe_contracts.events):
    group ``parameters/`` holds the analysed injections with their
    ``detection_statistic``, group ``rejected/`` the draws under the SNR
    threshold (either group empty when it has no rows); root attributes
    ``prior``, ``num_draws``, ``snr_threshold`` and ``ifos``.

    Raises:
        ContractError: the file is missing or not a foreground file.
        PlotsError: it is malformed or inconsistent.
    """
    found = ForegroundEvents.read(path)
    attrs = found.attrs
    tables = {"parameters": found.parameters, "rejected": found.rejected}
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
