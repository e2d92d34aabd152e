"""The aframe-infer command line.

aframe-infer analyse --config overrides.yaml   # one (chunk, timeslide)
aframe-infer aggregate --config overrides.yaml # all branches' events
"""

import logging
from pathlib import Path

import h5py
import numpy as np

from aframe.stage_cli import run_cli
from aframe_data.io import read_background, read_tables, write_tables
from aframe_infer.engine import LocalEngine, RepositoryError
from aframe_infer.postprocess import events, match

logger = logging.getLogger("aframe_infer")


def shifted(
    strain: dict[str, np.ndarray], ifos: list[str], shifts: list[float], rate
) -> np.ndarray:
    """(C, T - max shift) strain, ifo c advanced by shifts[c] seconds."""
    offsets = [round(s * rate) for s in shifts]
    size = min(strain[ifo].size for ifo in ifos) - max(offsets)
    if size <= 0:
        raise RepositoryError(
            f"shifts {shifts} s are longer than the strain "
            f"({strain[ifos[0]].size / rate:.0f} s)"
        )
    return np.stack(
        [
            strain[ifo][o : o + size]
            for ifo, o in zip(ifos, offsets, strict=True)
        ]
    )


def inject(
    stream: np.ndarray,
    t0: float,
    rate: float,
    times: np.ndarray,
    responses: np.ndarray,
    coalescence: int,
) -> np.ndarray:
    """The stream with each response's coalescence at its time."""
    stream = stream.copy()
    size = stream.shape[-1]
    for time, response in zip(times, responses, strict=True):
        start = round((time - t0) * rate) - coalescence
        first, last = max(start, 0), min(start + response.shape[-1], size)
        if last > first:
            stream[:, first:last] += response[:, first - start : last - start]
    return stream


def analyse(
    repository: Path,
    background_file: Path,
    shifts: list[float],
    output_dir: Path,
    integration_window_length: float,
    cluster_window_length: float,
    injections_file: Path | None = None,
    backend: str = "local",
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
        backend: local (the embedded engine).
    """
    if backend != "local":
        raise RepositoryError(f"backend {backend!r} is not available yet")
    engine = LocalEngine(repository)
    m = engine.manifest
    strain, t0, rate = read_background(background_file)
    if rate != m["sample_rate"] or set(m["ifos"]) - set(strain):
        raise RepositoryError(
            f"{background_file} ({rate} Hz, {sorted(strain)}) does not match "
            f"the model ({m['sample_rate']} Hz, {m['ifos']})"
        )
    ifos = m["ifos"]
    stream = shifted(strain, ifos, shifts, rate)
    isr = m["inference_sampling_rate"]

    def analyse_stream(data):
        outputs = engine(data)
        times = engine.output_times(outputs.size, t0)
        found = events(
            outputs,
            times,
            isr,
            integration_window_length,
            cluster_window_length,
        )
        return outputs.size / isr, found

    Tb, (statistic, time) = analyse_stream(stream)
    logger.info("background: %d events in %.0f s", statistic.size, Tb)
    attrs = {"Tb": Tb, "ifos": ifos, "shifts": shifts, "t0": t0}
    output_dir.mkdir(parents=True, exist_ok=True)
    write_tables(
        output_dir / "background.hdf5",
        attrs,
        {
            "": {
                "detection_statistic": statistic,
                "detection_time": time,
                "shift": np.tile(shifts, (statistic.size, 1)),
            }
        },
    )

    injection_attrs, tables = read_tables(
        injections_file, ("parameters", "rejected")
    )
    parameters = tables["parameters"]
    times = parameters.get("injection_time", np.zeros(0))
    if times.size:
        with h5py.File(injections_file, "r") as f:
            responses = np.stack([f[f"waveforms/{i}"][:] for i in ifos], 1)
        coalescence = round(
            (injection_attrs["duration"] - injection_attrs["right_pad"]) * rate
        )
        data = inject(stream, t0, rate, times, responses, coalescence)
        _, (fg_statistic, fg_time) = analyse_stream(data)
        found, found_time = match(
            times, fg_time, fg_statistic, cluster_window_length / 2
        )
    else:
        found, found_time = np.zeros(0), np.zeros(0)
    parameters["detection_statistic"] = found
    parameters["detection_time"] = found_time
    logger.info(
        "foreground: %d of %d injections found",
        np.isfinite(found).sum(),
        found.size,
    )
    write_tables(
        output_dir / "foreground.hdf5",
        {**injection_attrs, **attrs},
        {"parameters": parameters, "rejected": tables["rejected"]},
    )


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
        attrs, tables = read_tables(directory / "background.hdf5", ("",))
        bg_tables.append(tables[""])
        Tb += float(attrs["Tb"])
        fg_attrs, tables = read_tables(
            directory / "foreground.hdf5", ("parameters", "rejected")
        )
        fg_tables.append(tables["parameters"])
        rejected.append(tables["rejected"])
        num_draws += int(fg_attrs["num_draws"])
    events_table = concatenate(bg_tables)
    order = np.argsort(events_table["detection_statistic"], kind="stable")
    events_table = {k: v[order] for k, v in events_table.items()}
    keep = ("prior", "snr_threshold", "ifos", "sample_rate", "approximant")
    write_tables(
        background,
        {"Tb": Tb, "ifos": attrs["ifos"]},
        {"": events_table},
    )
    write_tables(
        foreground,
        {
            **{k: fg_attrs[k] for k in keep if k in fg_attrs},
            "Tb": Tb,
            "num_draws": num_draws,
        },
        {
            "parameters": concatenate(fg_tables),
            "rejected": concatenate(rejected),
        },
    )
    logger.info(
        "%d branches: %.0f s of background, %d events",
        len(branch_dirs),
        Tb,
        order.size,
    )


def main(args: list[str] | None = None) -> int:
    return run_cli("aframe-infer", [analyse, aggregate], RepositoryError, args)
