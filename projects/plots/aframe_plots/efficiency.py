"""Detection efficiency of the injection draws, binned in one parameter."""

from dataclasses import dataclass

import numpy as np


@dataclass
class Efficiency:
    """The found fraction of the draws in each non-empty bin.

    Args:
        lower: lower bin edges, (B,).
        upper: upper bin edges, (B,).
        efficiency: found / drawn in each bin, (B,).
        error: binomial standard error sqrt(e (1 - e) / n), (B,).
    """

    lower: np.ndarray
    upper: np.ndarray
    efficiency: np.ndarray
    error: np.ndarray


def bin_edges(values: np.ndarray, bins: int, log: bool) -> np.ndarray | None:
    """``bins`` bins over the range of ``values``, evenly in log or not.

    Log bins start at the smallest positive value, linear bins at 0.
    None where there is no value to bin.
    """
    values = values[np.isfinite(values) & ((values > 0) | (not log))]
    if values.size == 0:
        return None
    low, high = (values.min(), values.max()) if log else (0.0, values.max())
    if high <= low:
        # a single value: give its bin a width
        high = 2 * low if low > 0 else 1.0
    space = np.geomspace if log else np.linspace
    return space(low, high, bins + 1)


def binned_efficiency(
    values: np.ndarray, found: np.ndarray, edges: np.ndarray
) -> Efficiency:
    """The efficiency of the draws in each bin of ``values``.

    Args:
        values: each draw's parameter, (N,).
        found: whether each draw was found, (N,) bool.
        edges: bin edges, increasing, (B + 1,).
    """
    counts, _ = np.histogram(values, edges)
    hits, _ = np.histogram(values[found], edges)
    keep = counts > 0
    efficiency = hits[keep] / counts[keep]
    return Efficiency(
        edges[:-1][keep],
        edges[1:][keep],
        efficiency,
        np.sqrt(efficiency * (1 - efficiency) / counts[keep]),
    )
