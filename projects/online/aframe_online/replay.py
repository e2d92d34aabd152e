"""Replay: existing strain written out as live low-latency frames.

As LIGO's mock data challenges do, ``replay`` turns strain files into a
frame directory that fills at real time, or ``speed`` times it: each
frame appears, whole (written under a temporary name, then renamed),
once the time it covers has passed.  The strain can be:

- the data stage's background files (``background-<t0>-<duration>.hdf5``);
- MLGWSC-1 files (each of their segments in turn, with the gaps between
  them left as gaps), GWOSC HDF5 files, or GWF files (``channel``);

with the signals of an injection file (the data stage's waveform layout,
``injection_time`` giving each coalescence) added, or without.

The frames carry the strain channel and a state vector whose bits
``state`` are set, as the detectors' low-latency frames do.
"""

import logging
import time
from pathlib import Path

import numpy as np

from aframe_contracts.errors import DataError
from aframe_contracts.layout import open_hdf5
from aframe_contracts.strain import BackgroundStrain
from aframe_contracts.strain_files import index_files
from aframe_contracts.waveforms import WaveformSet, coalescence_sample
from aframe_online.frames import FrameName, frame_directory, write_frame
from aframe_serving.stream import inject

logger = logging.getLogger("aframe_online")


def read_segments(
    strain_files: list[str], ifos: list[str], channel: str
) -> list[tuple[float, float, np.ndarray]]:
    """(t0, sample rate, (C, T) strain) of each stretch that every ifo
    covers, in time order."""
    if len(strain_files) == 1 and is_background(Path(strain_files[0])):
        chunk = BackgroundStrain.read(Path(strain_files[0]))
        missing = set(ifos) - set(chunk.ifos)
        if missing:
            raise DataError(f"{strain_files[0]} has no {sorted(missing)}")
        strain = np.stack([chunk.strain[ifo] for ifo in ifos])
        return [(chunk.t0, chunk.sample_rate, strain)]
    spans = index_files(strain_files, ifos, channel)
    segments = []
    for span in spans[ifos[0]]:
        start, stop = span.start, span.stop
        parts = [span]
        for ifo in ifos[1:]:
            other = next(
                (s for s in spans[ifo] if s.start < stop and s.stop > start),
                None,
            )
            if other is None:
                break
            start, stop = max(start, other.start), min(stop, other.stop)
            parts.append(other)
        else:
            strain = np.stack([p.read(start, stop) for p in parts])
            segments.append((start, span.sample_rate, strain))
    if not segments:
        raise DataError(
            f"{', '.join(strain_files)}: no stretch of time that "
            f"{', '.join(ifos)} all cover"
        )
    return segments


def is_background(path: Path) -> bool:
    """Whether a file is in the data stage's background-strain layout."""
    if path.suffix not in (".hdf5", ".h5", ".hdf"):
        return False
    with open_hdf5(path, "strain") as f:
        return f.attrs.get("layout") == "background-strain"


def replay(
    strain_files: list[str],
    frame_dir: str,
    ifos: list[str] | None = None,
    frame_type: str = "llhoft",
    channel: str = "GDS-CALIB_STRAIN_CLEAN",
    state_channel: str = "GDS-CALIB_STATE_VECTOR",
    state: int = 3,
    frame_length: int = 1,
    speed: float = 1.0,
    injections_file: Path | None = None,
    suffix: str = ".gwf",
    retain: float = 0.0,
) -> int:
    """Write the strain as frames at ``speed`` times real time; return
    the number of frame times written.

    Args:
        strain_files: the strain: files or glob patterns.
        frame_dir: where the frames go; ``{ifo}`` in it is each ifo's
            folder (the low-latency layout).
        ifos: the interferometers (default H1 and L1).
        frame_type: the frame type of the names (``llhoft``).
        channel: the strain channel, without the ifo prefix; for GWF
            input files, the channel read from them too.
        state_channel: the state vector, without the ifo prefix.
        state: the state vector's value (3: h(t) OK, observing).
        frame_length: seconds per frame (whole).
        speed: how many times faster than real time (0: as fast as
            frames can be written).
        injections_file: signals to add (the data stage's waveform
            layout, at the strain's rate), or None.
        suffix: .gwf or .hdf5 frames.
        retain: delete frames older than this many seconds of data, as
            the low-latency directories do (0: keep every frame).
    """
    ifos = ifos or ["H1", "L1"]
    if suffix not in (".gwf", ".hdf5"):
        raise DataError(f"suffix {suffix!r}: choose .gwf or .hdf5")
    if frame_length < 1:
        raise DataError(f"frame_length = {frame_length}: at least 1 s")
    if speed < 0:
        raise DataError(
            f"speed = {speed}: a positive multiple of real time, or 0 for "
            "as fast as frames can be written"
        )
    for ifo in ifos:
        directory = frame_directory(frame_dir, ifo)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DataError(
                f"cannot make the {ifo} frame directory {directory}: {error}"
            ) from None
    segments = read_segments(strain_files, ifos, channel)
    signals = None
    if injections_file is not None:
        signals = WaveformSet.read(injections_file, ifos)
    written = 0
    started = time.monotonic()
    first_gps = None
    for t0, rate, strain in segments:
        if signals is not None:
            if signals.attrs.get("sample_rate", rate) != rate:
                raise DataError(
                    f"{injections_file} is at {signals.attrs['sample_rate']}"
                    f" Hz, the strain at {rate} Hz"
                )
            strain = inject(
                strain,
                t0,
                rate,
                signals.parameters.get("injection_time", np.zeros(0)),
                signals.stacked(ifos),
                coalescence_sample(signals.attrs, rate),
            )
        # whole frames from the first whole second on
        gps = int(np.ceil(t0))
        offset = round((gps - t0) * rate)
        per_frame = round(frame_length * rate)
        count = (strain.shape[-1] - offset) // per_frame
        first_gps = gps if first_gps is None else first_gps
        logger.info(
            "replaying %d frames of %d s from GPS %d at %gx real time",
            count,
            frame_length,
            gps,
            speed,
        )
        for k in range(count):
            frame_gps = gps + k * frame_length
            if speed > 0:
                # a frame is on disk once the time it covers has passed
                due = (frame_gps + frame_length - first_gps) / speed
                time.sleep(max(0.0, started + due - time.monotonic()))
            piece = strain[:, offset + k * per_frame :][:, :per_frame]
            for ifo, samples in zip(ifos, piece, strict=True):
                name = FrameName(
                    ifo, frame_type, frame_gps, frame_length, suffix
                )
                write_frame(
                    frame_directory(frame_dir, ifo),
                    name,
                    samples,
                    rate,
                    channel,
                    state_channel,
                    state,
                )
                if retain > 0:
                    prune(frame_dir, ifo, frame_gps - retain)
            written += 1
    logger.info("replayed %d frame times to %s", written, frame_dir)
    return written


def prune(frame_dir: str, ifo: str, before: float) -> None:
    """Delete an ifo's frames that end before GPS ``before``."""
    for path in frame_directory(frame_dir, ifo).iterdir():
        name = FrameName.parse(path.name)
        if name is not None and name.gps + name.duration < before:
            path.unlink(missing_ok=True)
