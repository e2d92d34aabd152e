"""Strain at another sample rate: the data stage's sources, the MLGWSC-1
files and GWOSC's 4096 Hz strain are brought to the model's rate."""

from fractions import Fraction

import numpy as np


def resample(data: np.ndarray, rate: float, sample_rate: float) -> np.ndarray:
    """Resample with a polyphase anti-aliasing filter."""
    if rate == sample_rate:
        return np.asarray(data, dtype=np.float64)
    from scipy.signal import resample_poly

    ratio = Fraction(sample_rate / rate).limit_denominator(1000)
    return resample_poly(
        np.asarray(data, dtype=np.float64), ratio.numerator, ratio.denominator
    )
