"""How well an exported model times events: its calibrated time window.

``calibrate`` injects the validation signals into the background that
training held out (``validation_span`` in the model's settings), streams
it through the repository as inference does, with the same integration,
clustering and event-time estimate (``aframe_serving.postprocess``), and
measures event time - coalescence time for the injections found above
the loudest event of the same background without them.  ``timing.json``,
beside the repository's manifest, keeps the median of these residuals,
the half-width that holds 95% of them (the model's timing accuracy), and
the time window: the half-width that holds 99% of them, but never less
than half an output step.

The residuals are bounded, not long-tailed: an event time is off by up
to half an output step wherever the coalescence falls between two
outputs, and a loud signal's response starts up to ~0.1 s early, as its
inspiral shows before the merger enters the kernel.  A window that holds
95% of them would throw away one found signal in twenty, most of them
loud, for tens of milliseconds of window; 99% keeps them.  The window is
where inference matches events to injections and the ``var`` of MLGWSC-1
event files: an outside scorer counts an event only that close to the
coalescence, so the pipeline counts nothing farther.
"""

import logging
from pathlib import Path

import numpy as np

from aframe_contracts.detectors import ifo_steps, timeslide_shifts
from aframe_contracts.repository import TimeCalibration
from aframe_contracts.strain import BackgroundStrain
from aframe_contracts.waveforms import WaveformSet, coalescence_sample
from aframe_serving.backends import Serving, streamer
from aframe_serving.errors import RepositoryError
from aframe_serving.postprocess import (
    check_windows,
    match,
    stream_events,
    timing_summary,
)
from aframe_serving.repository import ModelRepository
from aframe_serving.stream import Geometry, inject, shifted
from aframe_signal.placement import arrival_delays, injection_times

logger = logging.getLogger("aframe_infer")

# the share of found signals the accuracy figure (spread) holds
SPREAD_QUANTILE = 0.95
# fewer found injections than this cannot pin down a 95% window
MIN_FOUND = 20
# the network SNR above which the merger offsets' accuracy is figured
LOUD_SNR = 12.0
# the Earth's radius over the speed of light (s): how far an ifo's
# coalescence time can be from the geocentre's
LIGHT_TIME = 6.371e6 / 299_792_458


def read_signals(
    path: Path, ifos: list[str], count: int, seed: int
) -> WaveformSet:
    """Up to ``count`` projected signals of a waveform file, at random."""
    total = WaveformSet.count(path)
    rows = np.sort(np.random.default_rng(seed).permutation(total)[:count])
    return WaveformSet.read(path, ifos, rows)


def calibration_streams(
    strain: dict[str, np.ndarray],
    t0: float,
    rate: float,
    geometry: Geometry,
    ifos: list[str],
    count: int,
    pitch: float,
    seed: int,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Background streams, timeslide by timeslide, and injection times.

    ``count`` injections, ``pitch`` seconds or more apart, go into as many
    timeslides of the strain as they need; each time is jittered, so the
    events fall at every phase of the output grid.

    Returns:
        the (C, T) background of each timeslide and the injection times
        (GPS s) of each.
    """
    rng = np.random.default_rng(seed)
    backgrounds, times = [], []
    placed, timeslide = 0, 0
    while placed < count:
        timeslide += 1
        shifts = timeslide_shifts(timeslide, ifo_steps(len(ifos)))
        background = shifted(strain, ifos, shifts, rate)
        size = background.shape[-1]
        if size < geometry.buffer_size:
            raise RepositoryError(
                f"{count - placed} validation signals are left after "
                f"{timeslide - 1} timeslides of the held-out background: "
                "lower max_injections"
            )
        outputs = geometry.output_times(geometry.valid_outputs(size), t0)
        # each response, its integration and its cluster window lie
        # inside the outputs of its timeslide
        start, stop = outputs[0] + pitch / 2, outputs[-1] - pitch / 2
        fits = min(count - placed, int((stop - start) // pitch))
        slide = injection_times(start, stop, fits, pitch - 1, rng)
        if slide.size == 0:
            raise RepositoryError(
                f"the held-out background ({size / rate:.0f} s) is too "
                f"short for one injection {pitch:.1f} s from others"
            )
        backgrounds.append(background)
        times.append(slide)
        placed += slide.size
    return backgrounds, times


def found_residuals(
    outputs: list[np.ndarray],
    times: list[np.ndarray],
    t0: float,
    geometry: Geometry,
    integration_window_length: float,
    cluster_window_length: float,
) -> tuple[np.ndarray, float, float]:
    """Event time - injection time of each injection, where it was
    found above the loudest background event.

    Args:
        outputs: the background streams' outputs, then the foreground
            streams', in the order of ``times``.
        times: each foreground stream's injection times (GPS s).

    Returns:
        the residuals (s; NaN where not found), in the order of the
        injections, the loudest background event's statistic, and the
        background's duration (s).
    """

    def find_events(output):
        return stream_events(
            output,
            t0,
            geometry,
            integration_window_length,
            cluster_window_length,
        )

    backgrounds, foregrounds = outputs[: len(times)], outputs[len(times) :]
    threshold, livetime = -np.inf, 0.0
    for output in backgrounds:
        statistic, _ = find_events(output)
        threshold = max(threshold, statistic.max(initial=-np.inf))
        livetime += geometry.duration(len(output))
    residuals = []
    for output, injected in zip(foregrounds, times, strict=True):
        statistic, time = find_events(output)
        # injections are a pitch apart: no event is ambiguous, so any
        # event of the cluster window counts, however far off its time
        found, found_time = match(
            injected, time, statistic, cluster_window_length / 2
        )
        residual = found_time - injected
        residual[found <= threshold] = np.nan
        residuals.append(residual)
    return np.concatenate(residuals), threshold, livetime


def longest_piece(
    paths: list[Path], span: tuple[float, float]
) -> tuple[float, float]:
    """GPS [start, stop) of the longest part of ``span`` in one file: the
    held-out background may end one file and fill the next ones."""
    pieces = []
    for path in paths:
        header = BackgroundStrain.header(path)
        start, stop = max(span[0], header.t0), min(span[1], header.stop)
        if stop > start:
            pieces.append((stop - start, start, stop))
    if not pieces:
        raise RepositoryError(
            f"no background file holds any of GPS {span[0]}-{span[1]}"
        )
    return max(pieces)[1:]


def recorded_validation_span(model: ModelRepository) -> tuple[float, float]:
    """The background the model's training held out (GPS [start, stop))."""
    span = model.manifest.settings.validation_span
    if span is None:
        raise RepositoryError(
            f"{model.path}'s model records no validation_span (the "
            "background training held out): give span, GPS "
            "[start, stop) of background it never trained on"
        )
    return span


def held_out_background(
    paths: list[Path],
    span: tuple[float, float],
    model: ModelRepository,
    duration: float,
) -> BackgroundStrain:
    """At most ``duration`` seconds from the start of the longest piece
    of ``span`` in one file, checked to be the model's rate and ifos."""
    start, stop = longest_piece(paths, span)
    held_out = BackgroundStrain.read_span(
        paths, start, min(stop, start + duration)
    )
    model.check_strain(
        "the background", held_out.sample_rate, list(held_out.strain)
    )
    return held_out


def calibrate(
    repository: Path,
    background_files: list[Path],
    waveforms_file: Path,
    integration_window_length: float | None = None,
    cluster_window_length: float | None = None,
    span: tuple[float, float] | None = None,
    max_injections: int = 1000,
    window_quantile: float = 0.99,
    serving: Serving = Serving(),
    seed: int = 0,
) -> TimeCalibration:
    """Measure the model's event-time residuals; write timing.json.

    Args:
        repository: the exported model repository.
        background_files: background strain (data-stage HDF5), one of
            which holds ``span``.
        waveforms_file: projected validation signals (data stage):
            waveforms/<ifo> with their attributes duration and right_pad.
        integration_window_length: the statistic's moving average (s), as
            inference will use it; None: the window of the model's
            earlier calibration (timing.json) of this version.
        cluster_window_length: one event per this many seconds (s); None:
            the earlier calibration's, as for the integration window.
        span: GPS [start, stop) of background the model never trained
            on; None: the ``validation_span`` its training recorded.
        max_injections: at most this many signals, chosen at random.
        window_quantile: the share of the found signals' residuals that
            the time window holds.
        serving: how the model is served: the backend, and for triton
            the address of a running server or the server to start.
        seed: seeds the choice of signals and their times.

    Raises:
        RepositoryError: too few injections were found to measure a
            window, or the inputs do not fit the model.
    """
    check_windows(integration_window_length, cluster_window_length)
    if not 0 < window_quantile <= 1:
        raise RepositoryError(
            f"window_quantile = {window_quantile}: it is a share of the "
            "residuals, in (0, 1]"
        )
    model = ModelRepository.open(repository)
    integration_window_length, cluster_window_length = model.windows(
        integration_window_length, cluster_window_length
    )
    manifest, geometry = model.manifest, model.geometry
    ifos, rate = model.ifos, model.sample_rate
    signals = read_signals(waveforms_file, ifos, max_injections, seed)
    responses = signals.stacked(ifos)
    coalescence = coalescence_sample(signals.attrs, rate)
    # neighbours stay out of each other's response, integration and
    # cluster windows; one timeslide of background enough for them all
    # is as much as is read
    pitch = (
        cluster_window_length
        + integration_window_length
        + geometry.kernel_length
    )
    if span is None:
        span = recorded_validation_span(model)
    held_out = held_out_background(
        background_files,
        span,
        model,
        geometry.buffer_size / rate + (len(responses) + 1) * pitch,
    )
    strain, t0 = held_out.strain, held_out.t0
    backgrounds, times = calibration_streams(
        strain, t0, rate, geometry, ifos, len(responses), pitch, seed
    )
    foregrounds, first = [], 0
    for background, injected in zip(backgrounds, times, strict=True):
        chosen = responses[first : first + injected.size]
        foregrounds.append(
            inject(background, t0, rate, injected, chosen, coalescence)
        )
        first += injected.size
    logger.info(
        "calibrating event times: %d validation signals in %d timeslides "
        "of %.0f s of held-out background",
        first,
        len(backgrounds),
        strain[ifos[0]].size / rate,
    )
    with streamer(model, serving, model.path / "logs", 1) as run:
        outputs = run(backgrounds + foregrounds)
    windows = (integration_window_length, cluster_window_length)
    every, threshold, livetime = found_residuals(
        outputs, times, t0, geometry, *windows
    )
    found = ~np.isnan(every)
    residuals = every[found]
    if residuals.size < MIN_FOUND:
        raise RepositoryError(
            f"only {residuals.size} of {first} validation signals were "
            f"found above the loudest background event ({threshold:.3g} "
            f"in {livetime:.0f} s): at least {MIN_FOUND} are needed to "
            "measure a time window; add validation signals or background"
        )
    median, spread = timing_summary(residuals, SPREAD_QUANTILE)
    _, window = timing_summary(residuals, window_quantile)
    arrival_spread = grid_spread = None
    if manifest.merger_offsets:
        # the estimator's own error: against the coalescence at the
        # first ifo, for the signals loud enough to time
        loud = found & (signals.parameters["snr"] >= LOUD_SNR)
        delays = arrival_delays(
            ifos[0],
            signals.parameters["dec"],
            signals.parameters["phi"],
            rate,
        )
        arrival = (every - delays)[loud]
        if arrival.size:
            _, arrival_spread = timing_summary(arrival, SPREAD_QUANTILE)
            # and the output grid's estimate on the same outputs
            logits = [output[:, :1] for output in outputs]
            grid, *_ = found_residuals(logits, times, t0, geometry, *windows)
            _, grid_spread = timing_summary(grid[loud], SPREAD_QUANTILE)
        # an exact time at the first ifo is up to the light travel time
        # from the geocentre off the coalescence
        floor = LIGHT_TIME
    else:
        floor = geometry.stride / rate / 2
    timing = TimeCalibration(
        median=median,
        spread=spread,
        half_width=max(window, floor),
        window_quantile=window_quantile,
        found=int(residuals.size),
        injected=int(first),
        threshold=float(threshold),
        livetime=float(livetime),
        integration_window_length=integration_window_length,
        cluster_window_length=cluster_window_length,
        version=manifest.version,
        weights_sha256=manifest.weights_sha256,
        arrival_spread=arrival_spread,
        grid_spread=grid_spread,
    )
    timing.write(model.path)
    logger.info(
        "%d of %d validation signals found above the loudest background "
        "event: event time - coalescence time has median %+.3f s, and "
        "%.0f%% lie within %.3f s; the time window is %.3f s",
        timing.found,
        timing.injected,
        median,
        100 * SPREAD_QUANTILE,
        spread,
        timing.half_width,
    )
    if arrival_spread is not None:
        logger.info(
            "above SNR %.0f, %.0f%% lie within %.4f s of the coalescence at "
            "%s, and %.0f%% of the output grid's estimates within %.3f s "
            "of the geocentric coalescence",
            LOUD_SNR,
            100 * SPREAD_QUANTILE,
            arrival_spread,
            ifos[0],
            100 * SPREAD_QUANTILE,
            grid_spread,
        )
    return timing
