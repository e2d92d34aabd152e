"""Integration, clustering and injection matching."""

import numpy as np

from aframe_infer.postprocess import cluster, events, integrate, match


def test_integrate_is_a_causal_moving_average():
    rng = np.random.default_rng(0)
    y = rng.standard_normal(100)
    ours = integrate(y, 7)
    full = np.convolve(y, np.ones(7) / 7)[: y.size]
    np.testing.assert_allclose(ours[6:], full[6:])
    np.testing.assert_allclose(ours[:3], np.cumsum(y[:3]) / np.arange(1, 4))


def test_cluster_keeps_the_loudest_per_window():
    y = np.zeros(100)
    y[[10, 12, 40, 41, 90]] = [5, 3, 1, 1, 2]
    peaks = cluster(y, 4)
    assert {10, 40, 90} <= set(peaks.tolist())
    # nothing else within a half window of a peak, and every output is
    # within a half window of an event at least as loud
    assert 12 not in peaks and 41 not in peaks
    assert np.all(np.diff(peaks) > 4)
    # a plateau gives one event, not one per sample
    assert cluster(np.zeros(20), 5).tolist() == [0]
    assert cluster(np.zeros(0), 3).size == 0


def test_events_and_times():
    rate = 4.0
    times = 1000 + np.arange(400) / rate
    outputs = np.full(400, -3.0)
    outputs[200:210] = 4.0  # the network fires for 2.5 s
    statistic, time = events(outputs, times, rate, 1.5, 8.0)
    loudest = np.argmax(statistic)
    assert statistic[loudest] == np.max(integrate(outputs, 7))
    # the integrated peak is where the window is full: output 206, whose
    # event time is its kernel end minus the integration length
    assert time[loudest] == times[206] - 1.5


def test_match_takes_the_loudest_event_nearby():
    event_times = np.array([10.0, 13.0, 50.0])
    event_stats = np.array([1.0, 2.0, 9.0])
    stat, time = match(np.array([11.0, 30.0]), event_times, event_stats, 4)
    assert stat.tolist() == [2.0, -np.inf]
    assert time[0] == 13.0 and np.isnan(time[1])
