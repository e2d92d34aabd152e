"""Event tables: what inference found in the background and among the
injections.

The background of a test chunk ``<t0>-<duration>``, over all its
timeslides, is ``infer/<t0>-<duration>/background.hdf5`` under
``$AFRAME_RESULTS_DIR`` (``aframe-infer analyse`` of one timeslide ``<k>``
writes one of its own in ``infer/<t0>-<duration>-<k>/``), layout
``background-events`` version 1:

```text
/                      attrs: Tb (s analysed), ifos, t0 (GPS s), the
                              integration and cluster windows, and for
                              one timeslide its shifts (s) and
                              time_window (s); layout, layout_version
/detection_statistic   float64 (E,)
/detection_time        float64 (E,)  GPS s, in the unshifted (first
                                     ifo's) frame
/shift                 (E, n_ifo)    s, the timeslide of each event
```

A timeslide with injections ``<k>`` writes
``infer/<t0>-<duration>-<k>/foreground.hdf5``, layout
``foreground-events`` version 1:

```text
/                   attrs: the injection file's, and Tb, ifos, shifts, t0,
                    time_window (s, the matching window), layout,
                    layout_version
/parameters/<p>     (N,) every injection (a waveform set's), with
                    detection_statistic (-inf: not found) and
                    detection_time (GPS s, NaN: not found)
/rejected/<p>       (M,) the draws rejected by the SNR threshold
```

Aggregation merges them into ``background.hdf5`` and ``foreground.hdf5``
of the same layouts: the background events of every chunk, sorted by
``detection_statistic`` (ascending), with root attributes ``Tb`` (the
sum over branches, s) and ``ifos``; and every injection and rejected draw
of every branch, with root attributes ``prior``, ``snr_threshold``,
``ifos``, ``sample_rate``, ``approximant``, ``time_window``, ``Tb`` and
``num_draws`` (the total, accepted and rejected).  These two files are
all the sensitive volume needs.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aframe_contracts.errors import ContractError
from aframe_contracts.files import atomic_hdf5
from aframe_contracts.layout import (
    check,
    open_hdf5,
    require,
    stamp,
    unstamped,
)

BACKGROUND, FOREGROUND, VERSION = "background-events", "foreground-events", 1
# the Julian year, the one year of every rate of aframe
SECONDS_PER_YEAR = 365.25 * 86400.0


@dataclass(frozen=True)
class BackgroundEvents:
    """Events of the time-slid background.

    Args:
        statistic: detection statistic of each event, (N,).
        time: GPS time of each event (s), (N,).
        shift: time shift of each ifo (s), (N, n_ifo).
        Tb: background time analysed (s).
        ifos: the interferometers, in the order of the shifts.
        attrs: further root attributes (shifts, t0, time_window).
    """

    statistic: np.ndarray
    time: np.ndarray
    shift: np.ndarray
    Tb: float
    ifos: list[str]
    attrs: dict = field(default_factory=dict)

    def write(self, path: Path) -> None:
        with atomic_hdf5(path) as f:
            for key, value in self.attrs.items():
                f.attrs[key] = value
            f.attrs["Tb"] = self.Tb
            f.attrs["ifos"] = list(self.ifos)
            stamp(f.attrs, BACKGROUND, VERSION)
            f["detection_statistic"] = np.asarray(self.statistic, float)
            f["detection_time"] = np.asarray(self.time, float)
            f["shift"] = np.asarray(self.shift, float).reshape(
                len(self.statistic), len(self.ifos)
            )

    @classmethod
    def read(cls, path: Path) -> "BackgroundEvents":
        """A background events file, checked.

        Raises:
            ContractError: the file is missing, malformed or inconsistent.
        """
        keys = ("detection_statistic", "detection_time", "shift")
        with open_hdf5(path, "background events") as f:
            check(f.attrs, BACKGROUND, VERSION, path)
            require(f, keys, path)
            require(f.attrs, ("Tb",), path, "attribute ")
            statistic = np.asarray(f["detection_statistic"][()], float)
            time = np.asarray(f["detection_time"][()], float)
            shift = np.asarray(f["shift"][()], float)
            attrs = unstamped(f.attrs)
        Tb = float(attrs.pop("Tb"))
        ifos = [str(i) for i in np.atleast_1d(attrs.pop("ifos", []))]
        if not Tb > 0:
            raise ContractError(f"{path}: Tb = {Tb} s, it must be positive")
        if statistic.ndim != 1 or time.shape != statistic.shape:
            raise ContractError(
                f"{path}: detection_statistic {statistic.shape} and "
                f"detection_time {time.shape} must be equal-length vectors"
            )
        if shift.ndim == 1:
            # one ifo, or no events, stored without the ifo axis
            shift = shift[:, None]
        if shift.ndim != 2 or len(shift) != len(statistic):
            raise ContractError(
                f"{path}: shift {shift.shape} must be (N, n_ifo) for "
                f"{len(statistic)} events"
            )
        if np.isnan(statistic).any():
            raise ContractError(f"{path}: detection_statistic has NaNs")
        return cls(statistic, time, shift, Tb, ifos, attrs)


def background_years(Tb: float) -> float:
    """Tb (s) in years."""
    return Tb / SECONDS_PER_YEAR


def louder(statistic: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """How many of ``statistic`` are >= each threshold, as int."""
    ordered = np.sort(statistic)
    below = np.searchsorted(ordered, thresholds, side="left")
    return ordered.size - below


def far(
    thresholds: np.ndarray, statistic: np.ndarray, Tb: float
) -> np.ndarray:
    """The false alarm rate (per year) of each threshold:

        FAR(threshold) = max(n(statistic >= threshold), 1) / Tb

    A threshold louder than every background event has fewer than one
    event in Tb, which the background cannot resolve, so the FAR is
    floored at 1 / Tb.

    Args:
        thresholds: detection-statistic thresholds, any shape.
        statistic: the background events' statistics, (N,).
        Tb: background time analysed (s).
    """
    return np.maximum(louder(statistic, thresholds), 1) / background_years(Tb)


@dataclass(frozen=True)
class ForegroundEvents:
    """The injections with what inference found of them.

    Args:
        attrs: root attributes: the injections' and Tb, num_draws,
            time_window.
        parameters: the injected signals' parameters, with
            detection_statistic and detection_time, (N,) each.
        rejected: the draws never injected.
    """

    attrs: dict
    parameters: dict[str, np.ndarray]
    rejected: dict[str, np.ndarray]

    def write(self, path: Path) -> None:
        with atomic_hdf5(path) as f:
            for key, value in self.attrs.items():
                f.attrs[key] = value
            stamp(f.attrs, FOREGROUND, VERSION)
            for name in ("parameters", "rejected"):
                group = f.require_group(name)
                for key, column in getattr(self, name).items():
                    group[key] = np.asarray(column)

    @classmethod
    def read(cls, path: Path) -> "ForegroundEvents":
        """A foreground events file.

        Raises:
            ContractError: the file is missing, of another layout, or
                lacks a group.
        """
        with open_hdf5(path, "foreground events") as f:
            check(f.attrs, FOREGROUND, VERSION, path)
            require(f, ("parameters", "rejected"), path, "group ")
            return cls(
                unstamped(f.attrs),
                {k: v[()] for k, v in f["parameters"].items()},
                {k: v[()] for k, v in f["rejected"].items()},
            )
