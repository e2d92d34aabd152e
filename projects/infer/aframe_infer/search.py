"""The time-slid search: its background, its injections, and every
branch's events merged.

The background of a test chunk is analysed over all its timeslides at
once (``background``): a template bank on the local backend filters
each ifo once and pays only its ranking per timeslide
(``aframe_serving.timeslides``), any other model streams each timeslide.
A timeslide with injections streams the shifted chunk with them added
(``analyse``), and its events find the injections within the time
window.  ``analyse`` can also stream the timeslide's background, as one
branch of its own."""

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from aframe_contracts.detectors import check_shifts
from aframe_contracts.events import BackgroundEvents, ForegroundEvents
from aframe_contracts.files import check_outputs
from aframe_contracts.strain import BackgroundStrain
from aframe_contracts.waveforms import WaveformSet, coalescence_sample
from aframe_serving.backends import Serving, streamer
from aframe_serving.bank import BankEngine, local_engine
from aframe_serving.errors import RepositoryError, StreamError
from aframe_serving.postprocess import check_windows, match, stream_events
from aframe_serving.repository import ModelRepository
from aframe_serving.stream import inject, shifted
from aframe_serving.timeslides import SlidBank

logger = logging.getLogger("aframe_infer")

# a chunk's background is analysed at ranking cost from this many
# timeslides on: filtering each ifo once with every test at every lag
# costs about as much as streaming 20 timeslides through the bank
# backend (benchmarks/background.py)
SLID_TIMESLIDES = 20
# the windows events were made with, recorded in every event file
WINDOW_ATTRS = ("integration_window_length", "cluster_window_length")
# the attributes of the injections that the merged foreground keeps
KEPT_ATTRS = (
    "prior",
    "snr_threshold",
    "ifos",
    "sample_rate",
    "approximant",
    "time_window",
    *WINDOW_ATTRS,
)


def analyse(
    repository: Path,
    background_file: Path,
    shifts: list[float],
    output_dir: Path,
    injections_file: Path,
    integration_window_length: float | None = None,
    cluster_window_length: float | None = None,
    serving: Serving = Serving(),
    sequence_id: int = 1,
    time_window: float | None = None,
    force: bool = False,
    background: bool = True,
) -> None:
    """Analyse one timeslide of one test chunk: injections, and its
    background.

    Args:
        repository: the exported model repository.
        background_file: the chunk's strain.
        shifts: each ifo's time shift (s).
        output_dir: gets background.hdf5 and foreground.hdf5, which
            record the windows used.
        injections_file: this timeslide's injections (data stage).
        integration_window_length: moving average of the outputs (s);
            None: the window the model was calibrated with.
        cluster_window_length: one event per this many seconds (s);
            None: the model's, as for the integration window.
        serving: how the model is served: the backend, and for triton
            the server's address or the server to start for the run.
        sequence_id: the background stream's Triton sequence id; the
            foreground's is the next (unique per branch on a shared
            server).
        time_window: an event finds an injection when it is the nearest
            one and this close to its coalescence (s); None: the model's
            calibrated window (timing.json), which holds for the windows
            it was calibrated with (a warning says when these differ).
        force: replace existing event files in output_dir.
        background: also stream the timeslide's background and write its
            events (background.hdf5); False: the injections only, the
            pipeline's branches, whose background comes from
            ``background`` over the chunk's timeslides.
    """
    check_windows(
        integration_window_length, cluster_window_length, time_window
    )
    names = ["background.hdf5"] if background else []
    check_outputs(
        [Path(output_dir) / name for name in [*names, "foreground.hdf5"]],
        [background_file, injections_file],
        force,
    )
    # the inputs are read and checked before any server starts
    model = ModelRepository.open(repository)
    integration, cluster = model.windows(
        integration_window_length, cluster_window_length
    )
    chunk, injections = read_branch(model, background_file, injections_file)
    if time_window is None:
        time_window = model.time_window(integration, cluster)
    streams = branch_streams(chunk, injections, shifts, model.ifos)
    geometry = model.geometry
    Tb = geometry.duration(geometry.valid_outputs(streams[0].shape[-1]))
    if not background:
        streams = streams[1:]
    outputs = []
    if streams:
        with streamer(model, serving, output_dir, sequence_id) as run:
            outputs = run(streams)
    events = [
        stream_events(output, chunk.t0, geometry, integration, cluster)
        for output in outputs
    ]
    if not background:
        events = [None, *events]
    attrs = {
        "shifts": shifts,
        "t0": chunk.t0,
        "time_window": time_window,
        "integration_window_length": integration,
        "cluster_window_length": cluster,
    }
    write_branch(output_dir, events, Tb, injections, model.ifos, attrs)


def background(
    repository: Path,
    background_file: Path,
    shifts: list[list[float]],
    output: Path,
    integration_window_length: float | None = None,
    cluster_window_length: float | None = None,
    serving: Serving = Serving(),
    sequence_id: int = 1,
    force: bool = False,
) -> None:
    """Analyse the time-slid background of one test chunk: every
    timeslide in ``shifts``, into one file of events.

    A template bank on the local backend (``serving.local_engine`` auto
    or bank) is filtered once per ifo and each timeslide pays only the
    coincidence and the ranking (``aframe_serving.timeslides``), once the
    chunk has SLID_TIMESLIDES of them, all shifted by whole output steps;
    otherwise each timeslide streams through the backend, one after
    another, as ``analyse`` streams it.

    Args:
        repository: the exported model repository.
        background_file: the chunk's strain.
        shifts: each timeslide's shifts (s), one per ifo.
        output: the events, with their timeslide's shifts and Tb summed.
        integration_window_length: moving average of the outputs (s);
            None: the window the model was calibrated with.
        cluster_window_length: one event per this many seconds (s);
            None: the model's.
        serving: how the model is served.
        sequence_id: the Triton sequence id of the streams, one at a time
            (unique per branch on a shared server).
        force: replace an existing output.
    """
    check_windows(integration_window_length, cluster_window_length, None)
    if not shifts:
        raise StreamError("no timeslides to analyse: shifts is empty")
    check_outputs([output], [background_file], force)
    model = ModelRepository.open(repository)
    for index, shift in enumerate(shifts):
        check_shifts(shift, model.ifos, f"timeslide {index}: ")
    integration, cluster = model.windows(
        integration_window_length, cluster_window_length
    )
    chunk = BackgroundStrain.read(background_file)
    model.check_strain(background_file, chunk.sample_rate, chunk.ifos)
    geometry = model.geometry
    statistics, times, rows, Tb = [], [], [], 0.0
    slides = timeslide_outputs(
        model, chunk, shifts, serving, Path(output).parent, sequence_id
    )
    for shift, outputs in zip(shifts, slides, strict=True):
        statistic, time = stream_events(
            outputs, chunk.t0, geometry, integration, cluster
        )
        statistics.append(statistic)
        times.append(time)
        rows.append(np.tile(shift, (statistic.size, 1)))
        Tb += geometry.duration(len(outputs))
    statistic = np.concatenate(statistics)
    logger.info(
        "background: %d timeslides, %d events in %.0f s",
        len(shifts),
        statistic.size,
        Tb,
    )
    BackgroundEvents(
        statistic,
        np.concatenate(times),
        np.concatenate(rows),
        Tb,
        model.ifos,
        {
            "t0": chunk.t0,
            "integration_window_length": integration,
            "cluster_window_length": cluster,
        },
    ).write(output)


def timeslide_outputs(
    model: ModelRepository,
    chunk: BackgroundStrain,
    shifts: list[list[float]],
    serving: Serving,
    log_dir: Path,
    sequence_id: int,
) -> Iterator[np.ndarray]:
    """The outputs of each timeslide of a chunk's background, by the
    cheapest path that gives the backend's outputs (``background``)."""
    rate, ifos = chunk.sample_rate, model.ifos
    if serving.backend == "local" and len(shifts) >= SLID_TIMESLIDES:
        engine = local_engine(model, serving.local_engine)
        offsets = None
        if isinstance(engine, BankEngine):
            slid = SlidBank(engine)
            try:
                offsets = [slid.offsets(shift) for shift in shifts]
            except StreamError as error:
                # e.g. shifts of part of an output step
                logger.info("streaming each timeslide: %s", error)
        if offsets is not None:
            logger.info(
                "%d timeslides at ranking cost: filtering each ifo once",
                len(shifts),
            )
            terms = slid.terms(
                shifted(chunk.strain, ifos, [0] * len(ifos), rate)
            )
            yield from slid.paired(terms, offsets)
            return
    with streamer(model, serving, log_dir, sequence_id) as run:
        for shift in shifts:
            strain = shifted(chunk.strain, ifos, shift, rate)
            if strain.shape[-1] < model.geometry.buffer_size:
                # the last timeslides of a chunk can leave less than one
                # request, and no output
                width = model.manifest.output_width
                yield np.zeros((0, width), np.float32)
                continue
            (outputs,) = run([strain])
            yield outputs


def write_branch(
    output_dir: Path,
    events: list[tuple[np.ndarray, np.ndarray]],
    Tb: float,
    injections: WaveformSet,
    ifos: list[str],
    attrs: dict,
) -> None:
    """The branch's background events, and its injections with the event
    that found each.

    Args:
        output_dir: gets background.hdf5 and foreground.hdf5.
        events: (statistic, time) of the background stream (None: not
            streamed, no background.hdf5), then of the foreground's when
            there were injections to stream.
        Tb: the background's analysed time (s).
        injections: the branch's injections.
        ifos: the model's ifos, in its channel order.
        attrs: shifts, t0, time_window and the integration and cluster
            windows, recorded in both files.
    """
    output_dir = Path(output_dir)
    if events[0] is not None:
        statistic, time = events[0]
        logger.info("background: %d events in %.0f s", statistic.size, Tb)
        BackgroundEvents(
            statistic,
            time,
            np.tile(attrs["shifts"], (statistic.size, 1)),
            Tb,
            ifos,
            attrs,
        ).write(output_dir / "background.hdf5")
    injected = events[1] if len(events) > 1 else None
    found = found_injections(injections, injected, attrs["time_window"])
    ForegroundEvents(
        {**injections.attrs, "Tb": Tb, "ifos": ifos, **attrs},
        found,
        injections.rejected or {},
    ).write(output_dir / "foreground.hdf5")


def read_branch(
    model: ModelRepository, background_file: Path, injections_file: Path
) -> tuple[BackgroundStrain, WaveformSet]:
    """The chunk and its injections, checked to match the model.

    Raises:
        RepositoryError: the chunk's rate or ifos are not the model's.
    """
    chunk = BackgroundStrain.read(background_file)
    model.check_strain(background_file, chunk.sample_rate, chunk.ifos)
    return chunk, WaveformSet.read(injections_file, model.ifos)


def branch_streams(
    chunk: BackgroundStrain,
    injections: WaveformSet,
    shifts: list[float],
    ifos: list[str],
) -> list[np.ndarray]:
    """The shifted background, and the same with the injections added
    (when there are any): (C, T) each."""
    rate = chunk.sample_rate
    background = shifted(chunk.strain, ifos, shifts, rate)
    times = injections.parameters.get("injection_time", np.zeros(0))
    if not times.size:
        return [background]
    responses = injections.stacked(ifos)
    coalescence = coalescence_sample(injections.attrs, rate)
    foreground = inject(
        background, chunk.t0, rate, times, responses, coalescence
    )
    return [background, foreground]


def found_injections(
    injections: WaveformSet,
    events: tuple[np.ndarray, np.ndarray] | None,
    time_window: float,
) -> dict[str, np.ndarray]:
    """The injections' parameters with the statistic and time of the event
    that found each (-inf and NaN where none did).

    Args:
        injections: the branch's injections.
        events: (statistic, time) of the foreground's events; None when
            there were no injections to stream.
        time_window: how close to its coalescence an event must be (s).
    """
    parameters = dict(injections.parameters)
    if events is not None:
        times = parameters["injection_time"]
        found, found_time = match(times, events[1], events[0], time_window)
    else:
        found, found_time = np.zeros(0), np.zeros(0)
    parameters["detection_statistic"] = found
    parameters["detection_time"] = found_time
    logger.info(
        "foreground: %d of %d injections found",
        np.isfinite(found).sum(),
        found.size,
    )
    return parameters


def concatenate(tables: list[dict]) -> dict:
    keys = set().union(*tables)
    return {k: np.concatenate([t[k] for t in tables if k in t]) for k in keys}


def aggregate(
    branch_dirs: list[Path],
    background: Path,
    foreground: Path,
    force: bool = False,
) -> None:
    """Merge the branches' events: Tb summed, background sorted.

    Args:
        branch_dirs: the output directory of every analysed branch, each
            holding a background (background.hdf5), injections
            (foreground.hdf5) or both.
        background: the merged background events (sorted by statistic,
            ascending).
        foreground: the merged injections, found or not, with every
            rejected draw.
        force: replace existing output files (never a branch's).
    """
    if not branch_dirs:
        raise RepositoryError("no inference branches to aggregate")
    resolved = [Path(d).resolve() for d in branch_dirs]
    repeated = sorted({str(d) for d in resolved if resolved.count(d) > 1})
    if repeated:
        raise RepositoryError(
            f"branch directories named more than once: {repeated}; their "
            "events and background time would count twice"
        )
    held = {
        name: [
            Path(d) / name for d in branch_dirs if (Path(d) / name).is_file()
        ]
        for name in ("background.hdf5", "foreground.hdf5")
    }
    empty = [
        str(d)
        for d in branch_dirs
        if not any(Path(d) / name in files for name, files in held.items())
    ]
    if empty or not held["background.hdf5"] or not held["foreground.hdf5"]:
        raise RepositoryError(
            "every branch directory must hold background.hdf5 or "
            "foreground.hdf5, and the branches both: "
            + (f"{empty} hold neither" if empty else "one kind is missing")
        )
    check_outputs(
        [background, foreground],
        held["background.hdf5"] + held["foreground.hdf5"],
        force,
    )
    merged = merge_background(
        [BackgroundEvents.read(path) for path in held["background.hdf5"]]
    )
    merged.write(background)
    found = [ForegroundEvents.read(path) for path in held["foreground.hdf5"]]
    merge_foreground(found, merged.Tb).write(foreground)
    logger.info(
        "%d branches: %.0f s of background, %d events; %d injection files",
        len(branch_dirs),
        merged.Tb,
        merged.statistic.size,
        len(found),
    )


def merge_background(branches: list[BackgroundEvents]) -> BackgroundEvents:
    """Every branch's events, sorted by statistic (ascending), Tb summed,
    with the windows they were made with."""
    statistic = np.concatenate([b.statistic for b in branches])
    order = np.argsort(statistic, kind="stable")
    attrs = branches[-1].attrs
    return BackgroundEvents(
        statistic[order],
        np.concatenate([b.time for b in branches])[order],
        np.concatenate([b.shift for b in branches])[order],
        sum(b.Tb for b in branches),
        branches[-1].ifos,
        {k: attrs[k] for k in WINDOW_ATTRS if k in attrs},
    )


def merge_foreground(
    branches: list[ForegroundEvents], Tb: float
) -> ForegroundEvents:
    """Every branch's injections and rejected draws, with the total draws
    and the background time they were measured against."""
    attrs = branches[-1].attrs
    return ForegroundEvents(
        {
            **{k: attrs[k] for k in KEPT_ATTRS if k in attrs},
            "Tb": Tb,
            "num_draws": sum(int(b.attrs["num_draws"]) for b in branches),
        },
        concatenate([b.parameters for b in branches]),
        concatenate([b.rejected for b in branches]),
    )
