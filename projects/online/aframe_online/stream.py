"""A live stream of strain through the model, and the events it makes.

``OnlineStream`` is one continuous stretch of data: it is fed strain as
frames arrive and returns each event once it is final, and, before that,
the first output loud enough to alert on (a first crossing).  It streams as
the offline search does (``aframe_serving.stream.Geometry``): the stream
is front-padded so that the first response whose buffer is all real data
covers its first ``buffer_size`` samples, and the warm-up responses
before it are dropped.  Its events are offline's too
(``aframe_serving.postprocess.peak_events``): an event is final once the
outputs half a cluster window after its peak are in, since nothing later
changes it.  So the events of a stream are those the offline search
finds in the same stretch of data, and their FARs, read off the same
offline background, agree.

An alert cannot wait that long: half a cluster window is 4 s.  With an
``alert_level``, the stream also returns a first crossing as soon as an
output's integrated statistic exceeds the level (the loudest background
statistic the alert threshold allows), one per cluster window (the
refractory period, as upstream's 8 s).  Its statistic is at most the
peak of the event it belongs to, so the FAR read off the offline
background of cluster peaks is at least that event's: the alert is
never more significant than the offline search would call it
(docs/online.md).

A gap in the data ends a stream: ``flush`` returns the events the end
makes final, as the end of a segment does offline, and the next data
start a new stream (and a new warm-up).

``Decimator`` brings frames of a higher rate (16384 Hz, the detectors'
own) to the model's rate, continuously across frames.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.signal import firwin, lfilter

from aframe_serving.postprocess import (
    coalescence_offsets,
    columns,
    integrate,
    integration_outputs,
    peak_events,
    response_outputs,
)
from aframe_serving.stream import Geometry

# the anti-aliasing filter's half-length, in output samples
DECIMATOR_HALF_LENGTH = 16


@dataclass(frozen=True)
class Event:
    """An event of a stream: final, or a first crossing of the alert
    level whose cluster is still undecided."""

    statistic: float
    time: float  # the estimated coalescence time (GPS s)
    final: bool = True


class OnlineStream:
    """One continuous stretch of strain through the model.

    Args:
        push: the model's sequence: one (C, update_size) update in, its
            (batch_size, W) responses out, with the state carried over.
        geometry: the repository's stream geometry.
        t0: GPS time of the stream's first sample (s).
        channels: the number of ifos.
        integration_length: the statistic's moving average (s).
        cluster_length: one event per this many seconds (s).
        alert_level: first crossings are outputs whose integrated
            statistic exceeds it; inf: none.
    """

    def __init__(
        self,
        push: Callable[[np.ndarray], np.ndarray],
        geometry: Geometry,
        t0: float,
        channels: int,
        integration_length: float,
        cluster_length: float,
        alert_level: float = math.inf,
    ) -> None:
        self.push = push
        self.geometry = geometry
        self.t0 = t0
        self.integration_length = integration_length
        self.cluster_length = cluster_length
        self.rate = geometry.sample_rate / geometry.stride
        self.half = int(round(cluster_length * self.rate / 2))
        # outputs the statistic averages
        self.window = integration_outputs(integration_length, self.rate)
        # outputs an undecided peak's statistic, cluster and location
        # look back over
        self.history = (
            self.half
            + self.window
            + response_outputs(geometry.response, self.rate)
            + 2
        )
        self.pending = np.zeros((channels, geometry.front_padding))
        self.responses = 0
        self.samples = 0
        # the outputs kept (N, W), and the index of the first in the
        # stream; W is the model's, known from its first responses
        self.outputs = np.zeros((0, 1))
        self.first = 0
        # peaks up to this index are decided; the last peak seen there
        self.decided = -1
        self.last_peak: int | None = None
        self.alert_level = alert_level
        # outputs up to this index were looked at for crossings; the
        # index of the last crossing, which starts a refractory period
        self.scanned = -1
        self.crossed: int | None = None

    @property
    def duration(self) -> float:
        """Seconds of strain fed so far."""
        return self.samples / self.geometry.sample_rate

    def add(self, strain: np.ndarray) -> list[Event]:
        """Feed (C, n) strain; return the events it made final and the
        first crossings in it, in the order of their outputs."""
        geometry = self.geometry
        self.samples += strain.shape[-1]
        self.pending = np.concatenate([self.pending, strain], axis=1)
        new = []
        while self.pending.shape[-1] >= geometry.update_size:
            update = self.pending[:, : geometry.update_size]
            self.pending = self.pending[:, geometry.update_size :]
            responses = self.push(update.astype(np.float32))
            self.responses += 1
            if self.responses > geometry.warmup:
                new.append(np.asarray(responses, np.float64))
        if not new:
            return []
        if not len(self.outputs):
            self.outputs = self.outputs.reshape(0, new[0].shape[-1])
        self.outputs = np.concatenate([self.outputs, *new])
        end = self.first + len(self.outputs)
        return ordered(self._crossings() + self._decide(end - 1 - self.half))

    def flush(self) -> list[Event]:
        """The events still undecided, as the end of the data decides
        them; the stream takes no more strain after it."""
        return ordered(self._decide(self.first + len(self.outputs) - 1))

    def _first_time(self) -> float:
        """GPS time of the first output kept (s)."""
        t_first = self.geometry.output_times(1, self.t0)[0]
        return t_first + self.first / self.rate

    def _crossings(self) -> list[tuple[int, Event]]:
        """The new outputs that cross the alert level outside the
        refractory period of the last crossing, by output index."""
        end = self.first + len(self.outputs)
        scan = max(self.scanned + 1, self.first)
        self.scanned = end - 1
        if self.alert_level == math.inf:
            return []
        statistic = integrate(columns(self.outputs)[0], self.window)
        above = np.flatnonzero(
            statistic[scan - self.first :] > self.alert_level
        )
        found = []
        for index in above + scan:
            if (
                self.crossed is not None
                and index - self.crossed <= 2 * self.half
            ):
                continue
            self.crossed = int(index)
            (offset,) = coalescence_offsets(
                self.outputs,
                np.array([index - self.first]),
                self.rate,
                self.integration_length,
                self.geometry.response,
            )
            time = self._first_time() + offset
            stat = statistic[index - self.first]
            found.append((int(index), Event(float(stat), float(time), False)))
        return found

    def _decide(self, limit: int) -> list[tuple[int, Event]]:
        """The events whose peaks lie in (decided, limit], by output
        index."""
        if limit <= self.decided or len(self.outputs) == 0:
            return []
        peaks, statistic, offset = peak_events(
            self.outputs,
            self.rate,
            self.integration_length,
            self.cluster_length,
            self.geometry.response,
        )
        t_first = self._first_time()
        found = []
        for peak, stat, off in zip(
            self.first + peaks, statistic, offset, strict=True
        ):
            if peak <= self.decided or peak > limit:
                continue
            # offline's clustering keeps the first of two peaks within
            # half a window (a plateau), whichever side of a frame
            if self.last_peak is None or peak - self.last_peak > self.half:
                event = Event(float(stat), float(t_first + off))
                found.append((int(peak), event))
            self.last_peak = int(peak)
        self.decided = limit
        # keep what the undecided peaks look back on
        drop = max(0, self.decided + 1 - self.history - self.first)
        self.outputs = self.outputs[drop:]
        self.first += drop
        return found


def ordered(events: list[tuple[int, Event]]) -> list[Event]:
    """Events by output index, a first crossing before the final event
    of the same output (which then updates it)."""
    events = sorted(events, key=lambda item: (item[0], item[1].final))
    return [event for _, event in events]


class Decimator:
    """Decimation by an integer factor, continuous across frames: a
    linear-phase FIR anti-aliasing filter whose state is carried from one
    frame to the next, so a stream decimated a frame at a time is the
    stream decimated at once.

    Its output starts ``delay`` seconds after its input (the filter's
    warm-up is dropped): sample j of the output is the filtered input at
    t0 + delay + j / rate_out.
    """

    def __init__(self, factor: int, channels: int, rate_out: float) -> None:
        self.factor = factor
        self.phase = 0
        self.skip, self.delay = 0, 0.0
        if factor == 1:
            return
        half = DECIMATOR_HALF_LENGTH * factor
        self.taps = firwin(2 * half + 1, 0.9 / factor)
        # a zero state: the outputs of the first 2 * half inputs, which
        # it reaches into, are dropped
        self.state = np.zeros((channels, 2 * half))
        self.skip = 2 * DECIMATOR_HALF_LENGTH
        self.delay = DECIMATOR_HALF_LENGTH / rate_out

    def __call__(self, strain: np.ndarray) -> np.ndarray:
        """(C, n * factor) -> (C, n), n whole."""
        if self.factor == 1:
            return strain
        filtered, self.state = lfilter(
            self.taps, 1.0, strain, axis=-1, zi=self.state
        )
        out = filtered[:, self.phase :: self.factor]
        self.phase = (self.phase - strain.shape[-1]) % self.factor
        if self.skip:
            dropped = min(self.skip, out.shape[-1])
            out = out[:, dropped:]
            self.skip -= dropped
        return out
