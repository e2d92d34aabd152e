"""First crossings: an output over the alert level is returned with the
frame that brought it, before its cluster is decided, and once per
cluster window."""

import math

import numpy as np

from aframe_contracts.events import BackgroundEvents, far
from aframe_online.search import alert_level
from aframe_online.stream import OnlineStream
from aframe_serving.postprocess import peak_events
from aframe_serving.stream import Geometry

# 64 Hz, 4 outputs per 1 s update, a 2 s buffer: one warm-up response
GEOMETRY = Geometry(
    sample_rate=64.0,
    stride=16,
    update_size=64,
    buffer_size=128,
    batch_size=4,
    psd_length=0.5,
    kernel_length=1.0,
    fduration=0.5,
    response=(0.05, 0.3),
)
T0 = 1e9


def stream_of(outputs: np.ndarray, level: float) -> OnlineStream:
    """A stream whose model answers with ``outputs``, (N,) logits alone
    or (N, W), 4 per update, after the warm-up response."""
    outputs = outputs.reshape(len(outputs), -1)
    warmup = np.zeros((4, outputs.shape[1]))
    responses = iter(
        np.concatenate([warmup, outputs]).reshape(-1, 4, outputs.shape[1])
    )
    return OnlineStream(
        lambda update: next(responses), GEOMETRY, T0, 2, 0.0, 2.0, level
    )


def test_a_crossing_comes_with_its_frame_and_once_per_window():
    outputs = np.zeros(80)
    # a rise to a peak of 5 at output 42, and a louder one at 47:
    # separate events (5 outputs apart, more than half the 2 s window),
    # but within the refractory period of the crossing at 41
    outputs[40:44] = [1.0, 3.0, 5.0, 2.0]
    outputs[47] = 6.0
    # a later one, crossing again
    outputs[70] = 4.0
    stream = stream_of(outputs, level=2.0)
    returned = []
    for frame in range(1 + outputs.size // 4):
        for event in stream.add(np.zeros((2, 64))):
            returned.append((frame, event))
    returned += [(None, event) for event in stream.flush()]

    crossings = [(f, e) for f, e in returned if not e.final]
    finals = [e for _, e in returned if e.final]
    # the crossings: output 41 (statistic 3) in frame 11, whose update
    # brought outputs 40-43 (frame 0 is the warm-up), and output 70
    assert [(f, e.statistic) for f, e in crossings] == [(11, 3.0), (18, 4.0)]
    # the finals are the offline events of the same outputs
    peaks, statistic, offset = peak_events(
        outputs, 4.0, 0.0, 2.0, GEOMETRY.response
    )
    first = GEOMETRY.output_times(1, T0)[0]
    np.testing.assert_allclose([e.statistic for e in finals], statistic)
    np.testing.assert_allclose([e.time for e in finals], first + offset)
    assert [e.statistic for e in finals if e.statistic > 2] == [5.0, 6.0, 4.0]
    # a crossing comes before the final events of its cluster, and is
    # timed as an event at its output is
    order = [e.statistic for _, e in returned if e.statistic > 2]
    assert order == [3.0, 5.0, 6.0, 4.0, 4.0]
    (later,) = [e for e in finals if e.statistic == 4.0]
    assert crossings[1][1].time == later.time


def test_merger_offsets_time_crossings_and_events():
    """A template bank's outputs: the crossing and the final event are
    timed by the merger offset of the loudest output in the integration
    window, to a sample."""
    logits = np.zeros(80)
    logits[40:44] = [1.0, 3.0, 5.0, 2.0]
    offsets = -0.1 - np.arange(80) / 64
    stream = stream_of(np.stack([logits, offsets], -1), level=2.0)
    events = [e for _ in range(21) for e in stream.add(np.zeros((2, 64)))]
    first = GEOMETRY.output_times(1, T0)[0]
    crossing, final = (e for e in events if e.statistic > 2)
    # the crossing at output 41, the event's peak at 42 (no integration)
    assert not crossing.final and final.final
    assert crossing.time == first + 41 / 4 + offsets[41]
    assert final.time == first + 42 / 4 + offsets[42]


def test_no_level_no_crossings():
    outputs = np.full(40, 10.0)
    stream = stream_of(outputs, level=math.inf)
    events = [e for _ in range(11) for e in stream.add(np.zeros((2, 64)))]
    assert events and all(e.final for e in events)


def test_the_alert_level_is_where_the_far_meets_the_threshold():
    rng = np.random.default_rng(3)
    background = BackgroundEvents(
        np.sort(rng.normal(size=500)),
        np.zeros(500),
        np.zeros((500, 2)),
        3.15576e7 / 10,  # a tenth of a year
        ["H1", "L1"],
        {},
    )
    for threshold in (10.0, 25.0, 999.0, 5000.0, 1e9):
        level = alert_level(background, threshold)
        rates = far(background.statistic, background.statistic, background.Tb)
        # every statistic above the level alerts, none at or below it
        assert np.all(rates[background.statistic > level] <= threshold)
        assert np.all(rates[background.statistic <= level] > threshold)
    # fewer than one background event allowed: nothing alerts
    assert alert_level(background, 9.0) == math.inf
    assert alert_level(background, 1e9) == -math.inf
