"""Integration, clustering, event times and injection matching."""

import numpy as np
import pytest

from aframe_serving.postprocess import (
    cluster,
    events,
    integrate,
    locate,
    match,
    timing_summary,
)

RATE = 4.0  # outputs per second
KERNEL = 1.0  # s
# a convolutional network's response: the whole kernel
SPAN = (0.0, KERNEL)


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


def response(times, coalescence, rng, level=3.0, span=SPAN):
    """The outputs of a network that fires while the merger is in the
    span of the kernel that ends at each output time (by default the
    whole kernel): noise around -3 elsewhere."""
    outputs = -3 + 0.3 * rng.standard_normal(times.size)
    delay = times - coalescence
    inside = (delay >= span[0]) & (delay < span[1])
    outputs[inside] += level + 3
    return outputs


@pytest.mark.parametrize(
    "integration, span",
    [
        (0.5, SPAN),
        (1.0, SPAN),
        (1.5, SPAN),
        (3.0, SPAN),
        # a template bank's: one output step at the kernel's end
        (0.0, (0.05, 0.3)),
        (0.25, (0.05, 0.3)),
    ],
)
def test_event_time_is_the_coalescence(integration, span):
    """Known answers: wherever the coalescence falls relative to the
    output grid, the integration and cluster windows and the ends of the
    series, its event is within half an output step of it."""
    rng = np.random.default_rng(int(integration * 10))
    times = 1000 + np.arange(240) / RATE
    errors = []
    # along the series, near both ends included, at every grid phase
    first, last = times[0] - 0.2, times[-1] - KERNEL - 0.01
    for coalescence in np.linspace(first, last, 157):
        outputs = response(times, coalescence, rng, span=span)
        statistic, time = events(outputs, times, RATE, integration, 8, span)
        loudest = np.argmax(statistic)
        errors.append(time[loudest] - coalescence)
    errors = np.array(errors)
    assert np.abs(errors).max() <= 0.5 / RATE + 1e-9
    # unbiased: the errors spread evenly over half a step either way
    assert abs(errors.mean()) < 0.02
    assert errors.std() == pytest.approx(1 / RATE / np.sqrt(12), rel=0.2)


@pytest.mark.parametrize("integration", [0.0, 0.25, 1.0])
def test_merger_offsets_time_an_event_to_a_sample(integration):
    """A template bank's outputs: the window whose lags hold the merger
    is the loudest, and its merger offset places the merger to a sample
    wherever it falls between outputs; the event takes it, whatever the
    integration window."""
    rng = np.random.default_rng(2)
    times = 1000 + np.arange(240) / RATE
    span = (0.05, 0.3)
    for coalescence in 1000 + rng.uniform(5, 50, 40):
        logits = response(times, coalescence, rng, span=span)
        # the window holding the merger is louder than its neighbours
        holding = np.searchsorted(times, coalescence + span[0])
        logits[holding] += 1
        # the offset each window's winning template gives: exact where
        # it holds the merger, anywhere in its lags elsewhere
        offsets = rng.uniform(-0.3, -0.05, times.size)
        offsets[holding] = np.round((coalescence - times[holding]) * 2048)
        offsets[holding] /= 2048
        outputs = np.stack([logits, offsets], -1)
        statistic, time = events(outputs, times, RATE, integration, 8, span)
        loudest = np.argmax(statistic)
        assert abs(time[loudest] - coalescence) <= 0.5 / 2048 + 1e-9
        # the logits alone keep the output grid's estimate
        _, grid = events(logits, times, RATE, integration, 8, span)
        assert grid[loudest] != time[loudest]


def test_two_events_in_one_series_keep_their_own_times():
    rng = np.random.default_rng(1)
    times = 1000 + np.arange(400) / RATE
    outputs = np.maximum(
        response(times, 1020.1, rng, level=2.0),
        response(times, 1060.37, rng, level=4.0),
    )
    statistic, time = events(outputs, times, RATE, 1.5, 8, SPAN)
    loud = np.sort(time[np.argsort(statistic)[-2:]])
    np.testing.assert_allclose(loud, [1020.1, 1060.37], atol=1 / RATE)


def test_a_response_wider_than_a_kernel_is_centred():
    outputs = np.full(60, -3.0)
    outputs[20:30] = 4.0  # the network fires for 2.5 s, not 1 s
    # the integrated plateau (7 outputs) starts at output 26
    centre = locate(outputs, np.array([26]), 7, 4)
    assert centre[0] == pytest.approx(24.5)
    # the old estimate, the integrated plateau's first sample minus the
    # integration window, put this event 0.75 s early; now it is at the
    # middle of the response, less half a kernel
    times = 1000 + np.arange(60) / RATE
    statistic, time = events(outputs, times, RATE, 1.5, 8, SPAN)
    loudest = np.argmax(statistic)
    assert time[loudest] == pytest.approx(times[0] + 24.5 / RATE - 0.5)


def test_no_outputs_no_events():
    statistic, time = events(np.zeros(0), np.zeros(0), RATE, 1.5, 8, SPAN)
    assert statistic.size == 0 and time.size == 0


def test_an_event_finds_only_its_nearest_injection():
    injections = np.array([11.0, 14.0, 30.0])
    event_times = np.array([10.9, 12.4, 13.8, 50.0])
    event_stats = np.array([1.0, 5.0, 2.0, 9.0])
    stat, time = match(injections, event_times, event_stats, 0.3)
    # 12.4 is nearest to 11 but 1.4 s off: it finds nothing
    assert stat.tolist() == [1.0, 2.0, -np.inf]
    assert time[:2].tolist() == [10.9, 13.8] and np.isnan(time[2])
    # a wider window: the loud event at 12.4 goes to 11 (nearest), and is
    # counted once, not again for 14
    stat, time = match(injections, event_times, event_stats, 2.0)
    assert stat.tolist() == [5.0, 2.0, -np.inf]
    # unsorted injections are matched the same
    stat, _ = match(injections[::-1], event_times, event_stats, 2.0)
    assert stat.tolist() == [-np.inf, 2.0, 5.0]
    empty, _ = match(injections, np.zeros(0), np.zeros(0), 1.0)
    assert np.all(empty == -np.inf)


def test_the_loudest_of_an_injections_events_counts():
    stat, time = match(
        np.array([100.0]), np.array([99.9, 100.05]), np.array([3.0, 2.0]), 1
    )
    assert stat.tolist() == [3.0] and time.tolist() == [99.9]


def test_timing_summary():
    rng = np.random.default_rng(2)
    residuals = rng.normal(0.01, 0.1, 10_000)
    median, half_width = timing_summary(residuals)
    assert median == pytest.approx(np.median(residuals))
    assert np.mean(np.abs(residuals) <= half_width) == pytest.approx(0.95)
    assert half_width == pytest.approx(1.96 * 0.1, rel=0.05)
