"""False alarm rates from the time-slid background: the operating points
and curves of the report.  The FAR itself, per year, is defined with the
background's event table (``aframe_contracts.events.far``), which the
online search uses too."""

from dataclasses import dataclass

import numpy as np

# the FAR's definition, part of this module's API too
from aframe_contracts.events import (  # noqa: F401
    SECONDS_PER_YEAR,
    background_years,
    far,
    louder,
)

PER_MONTH = 12.0  # a FAR of one a month, per year
PER_YEAR = 1.0
# the operating points the report gives volumes at (per year), by name;
# 1 / month first
TARGETS = {"1 / month": PER_MONTH, "1 / year": PER_YEAR}


def threshold_grid(
    statistic: np.ndarray, max_points: int = 1000
) -> np.ndarray:
    """Thresholds for FAR curves: background statistics, descending.

    Every distinct statistic when there are at most ``max_points``;
    otherwise the k-th loudest at ranks k spaced evenly in log k, which
    keeps every one of the loudest events (the low-FAR end) and thins the
    quiet end, where FAR curves change slowly.
    """
    descending = np.unique(statistic)[::-1]
    if descending.size <= max_points:
        return descending
    ranks = np.geomspace(1, descending.size, max_points).round()
    return descending[np.unique(ranks).astype(int) - 1]


@dataclass
class OperatingPoint:
    """A detection threshold chosen for a target FAR.

    Args:
        target: the FAR asked for (per year).
        threshold: the detection-statistic threshold.
        far: the threshold's FAR (per year).
        supported: whether the background is long enough for the target;
            if not, the threshold is that of the lowest FAR, 1 / Tb.
    """

    target: float
    threshold: float
    far: float
    supported: bool


def distinct_points(
    points: list[OperatingPoint],
) -> list[tuple[str, OperatingPoint, int]]:
    """The operating points that differ, for the report's columns and
    markers: targets below 1 / Tb all fall back to 1 / Tb, one threshold,
    and are shown once.

    Args:
        points: the operating point of each of ``TARGETS``, in order.

    Returns:
        per distinct threshold, the names of the targets it stands for
        ("1 / month, 1 / year"), its point, and that point's index in
        ``points``.
    """
    names = list(TARGETS)
    groups: dict[float, list[int]] = {}
    for index, point in enumerate(points):
        groups.setdefault(point.threshold, []).append(index)
    return [
        (", ".join(names[i] for i in indices), points[indices[0]], indices[0])
        for indices in groups.values()
    ]


def operating_point(
    statistic: np.ndarray, Tb: float, target: float
) -> OperatingPoint:
    """The most sensitive threshold whose FAR is at most ``target``.

    The thresholds tried are the background statistics: between two of
    them the FAR is constant.  Where the target is below 1 / Tb, the
    lowest FAR the background supports, 1 / Tb, is the goal instead.

    Args:
        statistic: the background events' statistics, (N,), N > 0.
        Tb: background time analysed (s).
        target: the FAR wanted (per year).
    """
    years = background_years(Tb)
    descending = np.unique(statistic)[::-1]
    counts = louder(statistic, descending)
    # compare counts, not rates, so that a target of exactly k / Tb holds
    allowed = max(target * years, 1.0) * (1 + 1e-9)
    passing = np.flatnonzero(counts <= allowed)
    if passing.size:
        threshold = float(descending[passing[-1]])
    else:
        # the loudest statistic is tied: only a threshold above it
        # reaches the floor
        threshold = float(np.nextafter(descending[0], np.inf))
    return OperatingPoint(
        target,
        threshold,
        float(far(np.asarray(threshold), statistic, Tb)),
        target * years >= 1,
    )
