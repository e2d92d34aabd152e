"""MLGWSC-1 scores: what the challenge's evaluate.py says of a search.

``score.hdf5``, written by ``aframe-infer mlgwsc-score``
(``aframe_infer.benchmark``) and read by the report, layout
``mlgwsc-score`` version 1:

```text
/                       attrs: dataset, seed, duration (s),
                        threshold, var (s), far_units, layout,
                        layout_version
/far                    (B,) FAR of each threshold (per month of 30 d)
/distance               (B,) sensitive distance (Mpc)
/distance_error         (B,) its one-sigma error (Mpc)
/injections/tc          (N,) GPS s of each scored injection
/injections/snr         (N,) its optimal network SNR, from the data
/injections/statistic   (N,) its loudest counted event, -inf: none
```

``summary.json`` beside it holds the numbers at the lowest FAR, for a
person to read first (``write_summary``).
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aframe_contracts.errors import ContractError
from aframe_contracts.files import atomic_hdf5, write_atomic
from aframe_contracts.layout import check, open_hdf5, stamp

LAYOUT, VERSION = "mlgwsc-score", 1

# the challenge's month: its default duration (s)
MONTH = 2592000.0
# optimal network SNR bins of the found counts
SNR_EDGES = (0.0, 6.0, 8.0, 10.0, 12.0, 15.0, np.inf)


@dataclass(frozen=True)
class Score:
    """What the challenge's evaluate.py says of a search, in our units.

    Args:
        dataset: the MLGWSC-1 dataset, 1-4.
        seed: the generator's seed.
        far: FAR of each threshold, the background events' statistics,
            ascending (per month of 30 days), (B,).
        distance: the sensitive distance at each (Mpc), (B,).
        distance_error: its one-sigma error (Mpc), (B,).
        duration: the foreground analysed (s): the lowest FAR the
            background resolves is one per this.
        tc: coalescence time of each scored injection (GPS s), (N,).
        snr: its optimal network SNR, measured on the data, (N,).
        statistic: the loudest event evaluate.py counted for it, -inf
            where none, (N,).
        threshold: the loudest background event's statistic.
        var: the events' time window (s).
    """

    dataset: int
    seed: int
    far: np.ndarray
    distance: np.ndarray
    distance_error: np.ndarray
    duration: float
    tc: np.ndarray
    snr: np.ndarray
    statistic: np.ndarray
    threshold: float
    var: float

    @property
    def found(self) -> np.ndarray:
        """Found at the lowest FAR the background resolves."""
        return self.statistic > self.threshold

    @property
    def lowest_far(self) -> float:
        """The lowest FAR the background resolves (per month)."""
        return MONTH / self.duration

    @property
    def loudest(self) -> int:
        """The index of the curve's lowest FAR: the loudest background
        event's statistic as the threshold."""
        return int(np.argmin(self.far))

    def at_far(self, far: float) -> int | None:
        """The index of the curve's point at FAR ``far`` (per month), or
        None where the background does not resolve it.

        The threshold is the k-th loudest background event, k = far x
        duration: the loudest event's FAR is 1 per duration, as
        ``lowest_far`` says, and evaluate.py's ``far`` there counts the
        k - 1 events louder than it.
        """
        k = int(np.floor(far * self.duration / MONTH + 1e-9))
        if not 1 <= k <= self.far.size:
            return None
        louder = (k - 1) * MONTH / self.duration
        hits = np.flatnonzero(self.far <= louder * (1 + 1e-9))
        return int(hits[0]) if hits.size else None

    @property
    def name(self) -> str:
        return (
            f"dataset {self.dataset}, {self.duration:.0f} s, seed {self.seed}"
        )

    def write(self, path: Path) -> None:
        with atomic_hdf5(path) as f:
            for key in ("dataset", "seed", "duration", "threshold", "var"):
                f.attrs[key] = getattr(self, key)
            f.attrs["far_units"] = "per month of 30 days"
            stamp(f.attrs, LAYOUT, VERSION)
            for key in ("far", "distance", "distance_error"):
                f[key] = getattr(self, key)
            for key in ("tc", "snr", "statistic"):
                f[f"injections/{key}"] = getattr(self, key)

    @classmethod
    def read(cls, path: Path) -> "Score":
        """A score.hdf5.

        Raises:
            ContractError: the file is missing or is not one.
        """
        try:
            with open_hdf5(path, "MLGWSC-1 score") as f:
                check(f.attrs, LAYOUT, VERSION, path)
                curve = ("far", "distance", "distance_error")
                return cls(
                    dataset=int(f.attrs["dataset"]),
                    seed=int(f.attrs["seed"]),
                    **{key: f[key][()] for key in curve},
                    **{
                        key: f[f"injections/{key}"][()]
                        for key in ("tc", "snr", "statistic")
                    },
                    **{
                        key: float(f.attrs[key])
                        for key in ("duration", "threshold", "var")
                    },
                )
        except ContractError as error:
            raise ContractError(f"not an MLGWSC-1 score: {error}") from None


def found_by_snr(result: Score) -> list[tuple[float, float, int, int]]:
    """(lowest SNR, highest SNR, found, injected) of each SNR_EDGES bin,
    at the lowest FAR the background resolves."""
    rows = []
    for lower, upper in zip(SNR_EDGES[:-1], SNR_EDGES[1:], strict=True):
        inside = (result.snr >= lower) & (result.snr < upper)
        rows.append(
            (lower, upper, int(result.found[inside].sum()), int(inside.sum()))
        )
    return rows


# FARs a summary reports where the background resolves them (per month)
SUMMARY_FARS = {"month": 1.0, "day": 30.0, "2 h": 360.0, "hour": 720.0}


def resolved_fars(result: Score) -> list[tuple[str, float, int]]:
    """(per, FAR per month, index in the curve) of each of SUMMARY_FARS
    the background resolves."""
    found = []
    for per, far in SUMMARY_FARS.items():
        index = result.at_far(far)
        if index is not None:
            found.append((per, far, index))
    return found


def write_summary(path: Path, result: Score, meta: dict) -> None:
    """The numbers at the lowest FAR, and at each of SUMMARY_FARS the
    background resolves, as JSON a person reads first."""
    best = result.loudest
    by_far = [
        {
            "far": f"1 per {per}",
            "sensitive_distance_mpc": float(result.distance[index]),
            "sensitive_distance_error_mpc": float(
                result.distance_error[index]
            ),
        }
        for per, _, index in resolved_fars(result)
    ]
    summary = {
        **meta,
        "dataset": result.dataset,
        "seed": result.seed,
        "duration_s": result.duration,
        "lowest_far_per_month": result.lowest_far,
        "sensitive_distance_mpc": float(result.distance[best]),
        "sensitive_distance_error_mpc": float(result.distance_error[best]),
        "sensitive_distance_by_far": by_far,
        "var_s": result.var,
        "found_by_optimal_snr": [
            {
                "snr": [lower, None if np.isinf(upper) else upper],
                "found": found,
                "injected": total,
            }
            for lower, upper, found, total in found_by_snr(result)
        ],
    }
    write_atomic(path, json.dumps(summary, indent=2) + "\n")
