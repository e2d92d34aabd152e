"""From network outputs to events: integrate, cluster, match injections."""

import numpy as np
from scipy.ndimage import maximum_filter1d


def integrate(outputs: np.ndarray, window: int) -> np.ndarray:
    """Causal moving average over ``window`` outputs (the first are short)."""
    cumulative = np.cumsum(np.concatenate([[0.0], outputs]))
    counts = np.minimum(np.arange(1, outputs.size + 1), window)
    ends = np.arange(1, outputs.size + 1)
    return (cumulative[ends] - cumulative[ends - counts]) / counts


def cluster(statistic: np.ndarray, half_window: int) -> np.ndarray:
    """Indices of outputs that are the loudest within +- half_window.

    Ties keep the earliest, so a plateau gives one event.
    """
    if statistic.size == 0:
        return np.zeros(0, dtype=int)
    loudest = maximum_filter1d(statistic, 2 * half_window + 1, mode="nearest")
    peaks = np.flatnonzero(statistic == loudest)
    keep = np.concatenate([[True], np.diff(peaks) > half_window])
    return peaks[keep]


def events(
    outputs: np.ndarray,
    times: np.ndarray,
    rate: float,
    integration_length: float,
    cluster_length: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The (statistic, time) of the clustered events of an output series.

    The statistic is the output averaged over ``integration_length``; an
    event's time is its output's kernel end minus that length, where the
    integrated signal has built up.
    """
    window = int(round(integration_length * rate)) + 1
    statistic = integrate(outputs.astype(np.float64), window)
    peaks = cluster(statistic, int(round(cluster_length * rate / 2)))
    return statistic[peaks], times[peaks] - integration_length


def match(
    injection_times: np.ndarray,
    event_times: np.ndarray,
    event_statistics: np.ndarray,
    tolerance: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The loudest event within ``tolerance`` s of each injection.

    Injections without one get statistic -inf and time NaN.
    """
    statistic = np.full(injection_times.size, -np.inf)
    time = np.full(injection_times.size, np.nan)
    order = np.argsort(event_times)
    event_times, event_statistics = event_times[order], event_statistics[order]
    low = np.searchsorted(event_times, injection_times - tolerance, "left")
    high = np.searchsorted(event_times, injection_times + tolerance, "right")
    for i, (a, b) in enumerate(zip(low, high, strict=True)):
        if b > a:
            j = a + int(np.argmax(event_statistics[a:b]))
            statistic[i], time[i] = event_statistics[j], event_times[j]
    return statistic, time
