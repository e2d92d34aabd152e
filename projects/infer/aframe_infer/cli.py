"""The aframe-infer command line.

aframe-infer calibrate --config overrides.yaml # the model's time window
aframe-infer analyse --config overrides.yaml   # one (chunk, timeslide)
aframe-infer aggregate --config overrides.yaml # all branches' events
aframe-infer mlgwsc --input-file X.hdf --output-file Y.hdf --repository R
aframe-infer mlgwsc-data / mlgwsc-score / mlgwsc-benchmark  # MLGWSC-1
"""

import logging
from pathlib import Path

import numpy as np

from aframe_contracts.cli import run_cli
from aframe_contracts.errors import DataError
from aframe_contracts.events import BackgroundEvents, ForegroundEvents
from aframe_contracts.repository import Manifest
from aframe_contracts.strain import BackgroundStrain
from aframe_contracts.waveforms import WaveformSet, coalescence_sample
from aframe_infer.backends import streamer
from aframe_infer.benchmark import (
    mlgwsc,
    mlgwsc_benchmark,
    mlgwsc_data,
    mlgwsc_score,
)
from aframe_infer.challenge import ChallengeError
from aframe_infer.engine import RepositoryError, ServerError
from aframe_infer.postprocess import match, stream_events
from aframe_infer.stream import Geometry, StreamError, inject, shifted
from aframe_infer.timing import calibrate, read_timing

logger = logging.getLogger("aframe_infer")


def analyse(
    repository: Path,
    background_file: Path,
    shifts: list[float],
    output_dir: Path,
    integration_window_length: float,
    cluster_window_length: float,
    injections_file: Path | None = None,
    backend: str = "local",
    triton_url: str = "",
    triton_server: str = "",
    sequence_id: int = 1,
    time_window: float | None = None,
) -> None:
    """Analyse one timeslide of one test chunk: background and injections.

    Args:
        repository: the exported model repository.
        background_file: the chunk's strain.
        shifts: each ifo's time shift (s).
        output_dir: gets background.hdf5 and foreground.hdf5.
        integration_window_length: moving average of the outputs (s).
        cluster_window_length: one event per this many seconds (s).
        injections_file: this timeslide's injections (data stage).
        backend: local (the exported files in process) or triton.
        triton_url: gRPC address of a running Triton server; empty starts
            one for the run (triton backend).
        triton_server: the server to start: the nvidia-pytriton
            environment (default: .venv-triton beside this venv), a
            tritonserver binary, or an Apptainer image of NVIDIA's Triton.
        sequence_id: the background stream's Triton sequence id; the
            foreground's is the next (unique per branch on a shared
            server).
        time_window: an event finds an injection when it is the nearest
            one and this close to its coalescence (s); None: the model's
            calibrated window (timing.json).
    """
    # the inputs are read and checked before any server starts
    m = Manifest.read(repository)
    chunk = BackgroundStrain.read(background_file)
    strain, t0, rate = chunk.strain, chunk.t0, chunk.sample_rate
    if rate != m.sample_rate or set(m.ifos) - set(strain):
        raise RepositoryError(
            f"{background_file} ({rate} Hz, {sorted(strain)}) does not "
            f"match the model ({m.sample_rate} Hz, {m.ifos})"
        )
    if time_window is None:
        time_window = read_timing(repository).half_width
    ifos = m.ifos
    background = shifted(strain, ifos, shifts, rate)
    injections = WaveformSet.read(injections_file, ifos)
    parameters = injections.parameters
    times = parameters.get("injection_time", np.zeros(0))
    streams = [background]
    if times.size:
        responses = injections.stacked(ifos)
        coalescence = coalescence_sample(injections.attrs, rate)
        streams.append(
            inject(background, t0, rate, times, responses, coalescence)
        )
    with streamer(
        repository,
        backend,
        triton_url,
        triton_server,
        output_dir,
        sequence_id,
    ) as run:
        outputs = run(streams)

    geometry = Geometry.from_manifest(m)

    def find_events(output):
        return stream_events(
            output,
            t0,
            geometry,
            integration_window_length,
            cluster_window_length,
        )

    Tb = outputs[0].size * geometry.stride / rate
    statistic, time = find_events(outputs[0])
    logger.info("background: %d events in %.0f s", statistic.size, Tb)
    attrs = {"shifts": shifts, "t0": t0, "time_window": time_window}
    BackgroundEvents(
        statistic,
        time,
        np.tile(shifts, (statistic.size, 1)),
        Tb,
        ifos,
        attrs,
    ).write(output_dir / "background.hdf5")
    if times.size:
        fg_statistic, fg_time = find_events(outputs[1])
        found, found_time = match(times, fg_time, fg_statistic, time_window)
    else:
        found, found_time = np.zeros(0), np.zeros(0)
    parameters["detection_statistic"] = found
    parameters["detection_time"] = found_time
    logger.info(
        "foreground: %d of %d injections found",
        np.isfinite(found).sum(),
        found.size,
    )
    ForegroundEvents(
        {**injections.attrs, "Tb": Tb, "ifos": ifos, **attrs},
        parameters,
        injections.rejected or {},
    ).write(output_dir / "foreground.hdf5")


def concatenate(tables: list[dict]) -> dict:
    keys = set().union(*tables)
    return {k: np.concatenate([t[k] for t in tables if k in t]) for k in keys}


def aggregate(
    branch_dirs: list[Path], background: Path, foreground: Path
) -> None:
    """Merge the branches' events: Tb summed, background sorted.

    Args:
        branch_dirs: the output_dir of every analysed branch.
        background: the merged background events (sorted by statistic,
            ascending).
        foreground: the merged injections, found or not, with every
            rejected draw.
    """
    if not branch_dirs:
        raise RepositoryError("no inference branches to aggregate")
    bg_tables, fg_tables, rejected, Tb, num_draws = [], [], [], 0.0, 0
    for directory in branch_dirs:
        events = BackgroundEvents.read(directory / "background.hdf5")
        bg_tables.append(
            {
                "statistic": events.statistic,
                "time": events.time,
                "shift": events.shift,
            }
        )
        Tb += events.Tb
        found = ForegroundEvents.read(directory / "foreground.hdf5")
        fg_tables.append(found.parameters)
        rejected.append(found.rejected)
        num_draws += int(found.attrs["num_draws"])
        fg_attrs = found.attrs
    merged = concatenate(bg_tables)
    order = np.argsort(merged["statistic"], kind="stable")
    keep = (
        "prior",
        "snr_threshold",
        "ifos",
        "sample_rate",
        "approximant",
        "time_window",
    )
    BackgroundEvents(
        merged["statistic"][order],
        merged["time"][order],
        merged["shift"][order],
        Tb,
        events.ifos,
    ).write(background)
    ForegroundEvents(
        {
            **{k: fg_attrs[k] for k in keep if k in fg_attrs},
            "Tb": Tb,
            "num_draws": num_draws,
        },
        concatenate(fg_tables),
        concatenate(rejected),
    ).write(foreground)
    logger.info(
        "%d branches: %.0f s of background, %d events",
        len(branch_dirs),
        Tb,
        order.size,
    )


def main(args: list[str] | None = None) -> int:
    return run_cli(
        "aframe-infer",
        {
            "calibrate": calibrate,
            "analyse": analyse,
            "aggregate": aggregate,
            "mlgwsc": mlgwsc,
            "mlgwsc-data": mlgwsc_data,
            "mlgwsc-score": mlgwsc_score,
            "mlgwsc-benchmark": mlgwsc_benchmark,
        },
        (
            RepositoryError,
            ServerError,
            StreamError,
            DataError,
            ChallengeError,
        ),
        args,
    )
