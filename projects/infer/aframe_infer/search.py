"""The time-slid search: one branch's events, and every branch's merged.

A branch is one timeslide of one test chunk.  It streams two sequences
through the model repository, the shifted background and the same strain
with the branch's injections added, and turns each output series into
events (``postprocess``): the background's are the search's background,
the foreground's find the injections within the time window.
"""

import logging
from pathlib import Path

import numpy as np

from aframe_contracts.events import BackgroundEvents, ForegroundEvents
from aframe_contracts.files import check_outputs
from aframe_contracts.strain import BackgroundStrain
from aframe_contracts.waveforms import WaveformSet, coalescence_sample
from aframe_serving.backends import Serving, streamer
from aframe_serving.errors import RepositoryError
from aframe_serving.postprocess import check_windows, match, stream_events
from aframe_serving.repository import ModelRepository
from aframe_serving.stream import inject, shifted

logger = logging.getLogger("aframe_infer")

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
) -> None:
    """Analyse one timeslide of one test chunk: background and injections.

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
    """
    check_windows(
        integration_window_length, cluster_window_length, time_window
    )
    check_outputs(
        [
            Path(output_dir) / "background.hdf5",
            Path(output_dir) / "foreground.hdf5",
        ],
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
    with streamer(model, serving, output_dir, sequence_id) as run:
        outputs = run(streams)

    geometry = model.geometry
    events = [
        stream_events(output, chunk.t0, geometry, integration, cluster)
        for output in outputs
    ]
    Tb = outputs[0].size * geometry.stride / chunk.sample_rate
    attrs = {
        "shifts": shifts,
        "t0": chunk.t0,
        "time_window": time_window,
        "integration_window_length": integration,
        "cluster_window_length": cluster,
    }
    write_branch(output_dir, events, Tb, injections, model.ifos, attrs)


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
        events: (statistic, time) of the background stream, then of the
            foreground's when there were injections to stream.
        Tb: the background's analysed time (s).
        injections: the branch's injections.
        ifos: the model's ifos, in its channel order.
        attrs: shifts, t0, time_window and the integration and cluster
            windows, recorded in both files.
    """
    output_dir = Path(output_dir)
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
        branch_dirs: the output_dir of every analysed branch.
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
    inputs = [
        Path(d) / name
        for d in branch_dirs
        for name in ("background.hdf5", "foreground.hdf5")
    ]
    check_outputs([background, foreground], inputs, force)
    events = [
        BackgroundEvents.read(Path(d) / "background.hdf5") for d in branch_dirs
    ]
    found = [
        ForegroundEvents.read(Path(d) / "foreground.hdf5") for d in branch_dirs
    ]
    merged = merge_background(events)
    merged.write(background)
    merge_foreground(found, merged.Tb).write(foreground)
    logger.info(
        "%d branches: %.0f s of background, %d events",
        len(branch_dirs),
        merged.Tb,
        merged.statistic.size,
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
