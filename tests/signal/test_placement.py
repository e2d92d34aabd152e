"""Where injections go in time (aframe_signal.placement)."""

import numpy as np

from aframe_signal.placement import injection_times


def test_injection_times():
    rng = np.random.default_rng(0)
    times = injection_times(100, 1100, 50, 16, rng)
    assert times.size == 50
    assert times.min() >= 100 and times.max() <= 1100
    assert np.diff(times).min() >= 16
    # too many for the room: as many as fit
    assert injection_times(100, 1100, 500, 16, rng).size == 58
    assert injection_times(100, 90, 5, 16, rng).size == 0
