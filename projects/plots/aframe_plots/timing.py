"""How far the found injections' event times fall from their coalescence.

Inference estimates each event's coalescence time and counts an event
for an injection only within the model's calibrated time window
(``aframe_infer.timing``).  The report shows the residuals, event time -
coalescence time, of the injections found at the operating point, in bins
of network optimal SNR: louder signals should be timed no worse.
"""

from dataclasses import dataclass

import numpy as np

# network optimal SNR bins of the timing panel
SNR_EDGES = (0.0, 10.0, 15.0, 25.0, np.inf)
# the share of residuals the spread holds, as the calibration's
QUANTILE = 0.95


@dataclass
class TimingBin:
    """The found injections of one SNR bin.

    Args:
        lower: the bin's lowest network optimal SNR.
        upper: its highest (inf for the last).
        residuals: event time - coalescence time (s), (n,).
    """

    lower: float
    upper: float
    residuals: np.ndarray

    @property
    def label(self) -> str:
        if np.isinf(self.upper):
            return f"SNR ≥ {self.lower:g}"
        if self.lower == 0:
            return f"SNR < {self.upper:g}"
        return f"SNR {self.lower:g}-{self.upper:g}"

    @property
    def median(self) -> float:
        return (
            float(np.median(self.residuals)) if self.residuals.size else np.nan
        )

    @property
    def spread(self) -> float:
        """The half-width that holds QUANTILE of the residuals (s)."""
        if not self.residuals.size:
            return np.nan
        return float(np.quantile(np.abs(self.residuals), QUANTILE))


def timing_bins(
    residual: np.ndarray, snr: np.ndarray, found: np.ndarray
) -> list[TimingBin]:
    """The residuals of the found draws, in the bins of SNR_EDGES.

    Args:
        residual: event time - coalescence time of each draw (s), (N,).
        snr: network optimal SNR of each draw, (N,).
        found: which draws were found, (N,).
    """
    found = found & np.isfinite(residual)
    return [
        TimingBin(
            lower, upper, residual[found & (snr >= lower) & (snr < upper)]
        )
        for lower, upper in zip(SNR_EDGES[:-1], SNR_EDGES[1:], strict=True)
    ]
