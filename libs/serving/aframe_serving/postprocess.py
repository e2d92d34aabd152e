"""From network outputs to events: integrate, cluster, locate, match.

The network answers one question per whitened kernel: does a merger sit
in it?  Its output at time t, the end of the kernel
(``stream.Geometry.output_times``), is high while t - t_c, for the
coalescence time t_c, lies in the network's response span [a, b]
(``ModelSettings.response``).  So an event's response in the output
series is a box of b - a seconds that starts at t_c + a.  Training
places mergers only between kernel_left_pad after the kernel's start and
kernel_right_pad before its end, but the convolutional networks' global
pooling fires wherever the merger is in the kernel: their span is the
whole kernel, [0, kernel_length], and the stacked responses of the
quickstart model to its testing injections have sharp edges at t = t_c
and t = t_c + kernel_length (docs/stages/infer.md).  A template bank
fires only at the lags its templates cover: a span of the kernel less a
template.

The statistic is the output averaged over the integration window, and
events are its loudest samples, one per cluster window.  A plateau of the
integrated statistic is as wide as the integration window minus the
response, so its first sample says little about t_c.  Instead the event
is located on the raw outputs: the kernel-long block of outputs with the
largest sum, among the blocks that overlap the integration window of the
peak, is the response; its centre, minus the centre of the span, is t_c.  With
outputs 1 / inference_sampling_rate apart the estimate is unbiased and
its error is uniform within half an output step, before noise.

A template bank knows better: its detector outputs, beside each
window's logit, the time of the winning template's merger at its peak
in the first ifo less the window's end (the manifest's
``merger_offsets``).  An event of such outputs is timed by the loudest
raw output in the integration window of its peak, whose window holds the
merger: that output's time plus its merger offset, to a sample.
"""

import numpy as np
from scipy.ndimage import maximum_filter1d

from aframe_contracts.errors import check_not_negative, check_positive
from aframe_serving.stream import Geometry


def check_windows(
    integration_window_length: float,
    cluster_window_length: float,
    time_window: float | None = None,
) -> None:
    """Refuse windows events cannot be found with, before any streaming.

    Raises:
        DataError: names the window: the integration window may be 0
            (the raw outputs), the cluster window and the time window
            (when given) must be positive.
    """
    check_not_negative(integration_window_length=integration_window_length)
    check_positive(
        cluster_window_length=cluster_window_length, time_window=time_window
    )


def columns(outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The logits (N,) of outputs (N,) or (N, W), and their merger
    offsets (N,) where the detector gives them (W = 2), else None."""
    outputs = np.asarray(outputs)
    if outputs.ndim == 1:
        return outputs, None
    return outputs[:, 0], outputs[:, 1] if outputs.shape[1] > 1 else None


def integration_outputs(integration_length: float, rate: float) -> int:
    """Outputs the integrated statistic averages: those within
    ``integration_length`` seconds, at ``rate`` outputs per second."""
    return int(round(integration_length * rate)) + 1


def response_outputs(response: tuple[float, float], rate: float) -> int:
    """Outputs a merger's response spans (at least one): the length of
    the model's response span, at ``rate`` outputs per second."""
    start, stop = response
    return max(1, int(round((stop - start) * rate)))


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


def locate(
    outputs: np.ndarray, peaks: np.ndarray, window: int, kernel: int
) -> np.ndarray:
    """The centre of each peak's response, as a fractional output index.

    Args:
        outputs: the raw output series, (N,).
        peaks: indices of the integrated statistic's peaks.
        window: outputs averaged into the integrated statistic.
        kernel: outputs per kernel: the length of a response.

    The response is the ``kernel``-long block with the largest sum among
    the blocks that overlap the integration window ``[p - window + 1,
    p]`` of the peak p; blocks that tie are averaged, so a response wider
    than a kernel is centred too.  (``kernel`` is the response's length,
    which is a kernel's for the convolutional networks.)
    """
    kernel = max(1, min(kernel, outputs.size))
    sums = np.convolve(outputs, np.ones(kernel), "valid")
    centres = np.empty(peaks.size)
    for i, peak in enumerate(peaks):
        first = max(peak - window - kernel + 2, 0)
        last = min(peak, sums.size - 1)
        candidates = sums[first : last + 1]
        best = np.flatnonzero(candidates == candidates.max())
        start = first + (best[0] + best[-1]) / 2
        centres[i] = start + (kernel - 1) / 2
    return centres


def events(
    outputs: np.ndarray,
    times: np.ndarray,
    rate: float,
    integration_length: float,
    cluster_length: float,
    response: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """The (statistic, time) of the clustered events of an output series.

    Args:
        outputs: the network's outputs, (N,) or (N, W) (``columns``).
        times: the end of each output's kernel (GPS s), (N,), evenly
            spaced by 1 / rate.
        rate: outputs per second (Hz).
        integration_length: the statistic's moving average (s).
        cluster_length: one event per this many seconds (s).
        response: the network's response span [a, b] (s): its output
            at t is high while a <= t - t_c <= b.

    Returns:
        the integrated statistic at each event, and its estimated
        coalescence time (GPS s).
    """
    _, statistic, offset = peak_events(
        outputs, rate, integration_length, cluster_length, response
    )
    if statistic.size == 0:
        return np.zeros(0), np.zeros(0)
    return statistic, times[0] + offset


def peak_events(
    outputs: np.ndarray,
    rate: float,
    integration_length: float,
    cluster_length: float,
    response: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``events`` by output index: each event's peak (the output whose
    integrated statistic is the cluster's loudest), its statistic, and
    its coalescence time less the first output's time (s).

    A peak depends on the outputs within half a cluster window after it
    and on those before it, never on later ones: so a stream that is
    still growing knows its events up to half a cluster window ago.
    """
    logits, _ = columns(outputs)
    window = integration_outputs(integration_length, rate)
    statistic = integrate(logits.astype(np.float64), window)
    peaks = cluster(statistic, int(round(cluster_length * rate / 2)))
    if peaks.size == 0:
        return peaks, np.zeros(0), np.zeros(0)
    offsets = coalescence_offsets(
        outputs, peaks, rate, integration_length, response
    )
    return peaks, statistic[peaks], offsets


def coalescence_offsets(
    outputs: np.ndarray,
    indices: np.ndarray,
    rate: float,
    integration_length: float,
    response: tuple[float, float],
) -> np.ndarray:
    """The coalescence time of the events at output ``indices`` less the
    first output's time (s): where the detector gives merger offsets,
    that of the loudest output in the integration window of each
    (``merger_times``); otherwise each one's response located on the
    outputs (``locate``), less the centre of the response span."""
    logits, offsets = columns(outputs)
    window = integration_outputs(integration_length, rate)
    if offsets is not None:
        return merger_times(logits, offsets, indices, window, rate)
    length = response_outputs(response, rate)
    centres = locate(logits, indices, window, length)
    start, stop = response
    return centres / rate - (start + stop) / 2


def merger_times(
    logits: np.ndarray,
    offsets: np.ndarray,
    peaks: np.ndarray,
    window: int,
    rate: float,
) -> np.ndarray:
    """Each peak's merger time less the first output's time (s): the
    merger offset of the loudest raw output among the ``window`` that
    its integrated statistic averages (the first of any tie), at that
    output's time."""
    times = np.empty(peaks.size)
    for i, peak in enumerate(peaks):
        first = max(peak - window + 1, 0)
        loudest = first + int(np.argmax(logits[first : peak + 1]))
        times[i] = loudest / rate + offsets[loudest]
    return times


def match(
    injection_times: np.ndarray,
    event_times: np.ndarray,
    event_statistics: np.ndarray,
    window: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Each injection's loudest event, as MLGWSC-1's evaluate.py counts.

    An event belongs to the injection nearest to it, and only when it is
    within ``window`` seconds of it, so one event finds at most one
    injection.  Injections without an event get statistic -inf and time
    NaN.
    """
    statistic = np.full(injection_times.size, -np.inf)
    time = np.full(injection_times.size, np.nan)
    if injection_times.size == 0 or event_times.size == 0:
        return statistic, time
    order = np.argsort(injection_times)
    ordered = injection_times[order]
    after = np.clip(np.searchsorted(ordered, event_times), 1, ordered.size)
    before = after - 1
    after = np.minimum(after, ordered.size - 1)
    later = np.abs(ordered[after] - event_times) < np.abs(
        ordered[before] - event_times
    )
    nearest = np.where(later, after, before)
    hits = np.flatnonzero(np.abs(ordered[nearest] - event_times) <= window)
    # loudest last, so each injection keeps its loudest event
    hits = hits[np.argsort(event_statistics[hits], kind="stable")]
    for event in hits:
        injection = order[nearest[event]]
        statistic[injection] = event_statistics[event]
        time[injection] = event_times[event]
    return statistic, time


def timing_summary(
    residuals: np.ndarray, quantile: float = 0.95
) -> tuple[float, float]:
    """(median, half-width) of event time - coalescence time (s).

    The half-width is the smallest window around the coalescence that
    holds ``quantile`` of the residuals: the ``quantile`` quantile of
    their absolute values.
    """
    if residuals.size == 0:
        return float("nan"), float("nan")
    return (
        float(np.median(residuals)),
        float(np.quantile(np.abs(residuals), quantile)),
    )


def stream_events(
    outputs: np.ndarray,
    t0: float,
    geometry: Geometry,
    integration_length: float,
    cluster_length: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``events`` of the outputs of a stream that starts at GPS ``t0``."""
    return events(
        outputs,
        geometry.output_times(len(outputs), t0),
        geometry.sample_rate / geometry.stride,
        integration_length,
        cluster_length,
        geometry.response,
    )
