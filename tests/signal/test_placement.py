"""Where injections go in time (aframe_signal.placement)."""

import numpy as np
import pytest

from aframe_signal.placement import arrival_delays, injection_times


def test_injection_times():
    rng = np.random.default_rng(0)
    times = injection_times(100, 1100, 50, 16, rng)
    assert times.size == 50
    assert times.min() >= 100 and times.max() <= 1100
    assert np.diff(times).min() >= 16
    # too many for the room: as many as fit
    assert injection_times(100, 1100, 500, 16, rng).size == 58
    assert injection_times(100, 90, 5, 16, rng).size == 0


@pytest.mark.parametrize("ifo", ["H1", "L1"])
def test_arrival_delays_are_lals_to_a_sample(ifo):
    """The delay from the geocentre to an ifo, as the projection applies
    it, is LAL's TimeDelayFromEarthCenter at the sidereal time where the
    Earth-fixed azimuth is the right ascension, truncated to a sample."""
    lal = pytest.importorskip("lal")
    rng = np.random.default_rng(5)
    dec = np.arcsin(rng.uniform(-1, 1, 50))
    phi = rng.uniform(0, 2 * np.pi, 50)
    rate = 2048.0
    ours = arrival_delays(ifo, dec, phi, rate)
    # at GPS 0 the Greenwich sidereal time is g: ra = phi + g
    gps = lal.LIGOTimeGPS(1e9)
    g = lal.GreenwichMeanSiderealTime(gps)
    location = lal.cached_detector_by_prefix[ifo].location
    theirs = np.array(
        [
            lal.TimeDelayFromEarthCenter(location, p + g, d, gps)
            for d, p in zip(dec, phi, strict=True)
        ]
    )
    assert np.abs(theirs).max() > 0.015
    assert np.all(np.abs(ours - theirs) < 1 / rate)
