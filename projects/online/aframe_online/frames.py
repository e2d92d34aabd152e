"""Low-latency frame files: their names, and reading and writing them.

The detectors' low-latency data come as short frame files, one per ifo
and stretch of time, named in LIGO's convention

    {site}-{ifo}_{frame_type}-{gps}-{duration}.gwf

e.g. ``H-H1_llhoft-1262304000-1.gwf``: site H, ifo H1, frame type
``llhoft`` (low-latency h(t)), one second from GPS 1262304000.  Each
holds the strain channel (``H1:GDS-CALIB_STRAIN_CLEAN``) and the state
vector (``H1:GDS-CALIB_STATE_VECTOR``), whose bits say whether the data
are fit to analyse.  HDF5 frames (``.hdf5``, as gwpy writes a
TimeSeriesDict) hold the same channels and are read the same way.

A frame is written under a temporary name and renamed into place, as the
low-latency writers do, so a file under a frame's name is whole unless
something went wrong; the reader still checks everything it can.
"""

import contextlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aframe_contracts.errors import DataError
from aframe_contracts.files import atomic_path
from aframe_contracts.strain_checks import check_series

SUFFIXES = {".gwf": "gwf", ".hdf5": "hdf5"}
NAME = re.compile(
    r"^(?P<site>[A-Z])-(?P<ifo>[A-Z][0-9])_(?P<frame_type>[A-Za-z0-9_]+)"
    r"-(?P<gps>[0-9]+)-(?P<duration>[0-9]+)(?P<suffix>\.gwf|\.hdf5)$"
)


class FrameError(ValueError):
    """A frame that cannot be analysed: unreadable, incomplete or not
    what its name says."""


@dataclass(frozen=True)
class FrameName:
    """What a frame file's name says: whose data, and when."""

    ifo: str
    frame_type: str
    gps: int
    duration: int
    suffix: str = ".gwf"

    @property
    def name(self) -> str:
        return (
            f"{self.ifo[0]}-{self.ifo}_{self.frame_type}-{self.gps}-"
            f"{self.duration}{self.suffix}"
        )

    @classmethod
    def parse(cls, name: str) -> "FrameName | None":
        """The frame a file name names; None for any other name."""
        match = NAME.match(name)
        if match is None or match["site"] != match["ifo"][0]:
            return None
        return cls(
            match["ifo"],
            match["frame_type"],
            int(match["gps"]),
            int(match["duration"]),
            match["suffix"],
        )


def frame_directory(frame_dir: str | Path, ifo: str) -> Path:
    """Where an ifo's frames are: ``frame_dir`` with ``{ifo}`` filled in
    (the low-latency layout keeps each ifo's frames in a folder of its
    own), or ``frame_dir`` itself."""
    return Path(str(frame_dir).replace("{ifo}", ifo)).expanduser()


@dataclass(frozen=True)
class Frame:
    """One ifo's data in one frame.

    Args:
        ifo: the interferometer.
        t0: GPS time of the first sample (s).
        sample_rate: strain samples per second (Hz).
        strain: the strain, (duration * sample_rate,) float64.
        observing: whether every sample of the state vector had the
            required bits set.
    """

    ifo: str
    t0: float
    sample_rate: float
    strain: np.ndarray
    observing: bool

    @property
    def duration(self) -> float:
        return self.strain.size / self.sample_rate


def read_frame(
    path: Path, channel: str, state_channel: str, state_mask: int
) -> Frame:
    """A frame file's strain and state, checked against its name.

    Args:
        path: the frame file.
        channel: the strain channel, without the ifo prefix.
        state_channel: the state vector, without the ifo prefix.
        state_mask: the bits of the state vector that must all be set for
            the data to be analysed (3: h(t) OK and observation intent).

    Raises:
        FrameError: the name is not a frame's, or the file cannot be read,
            lacks a channel, holds strain that is not floating-point
            samples at a finite positive interval
            (``aframe_contracts.strain_checks``), or holds other times
            than its name says.
    """
    from gwpy.timeseries import TimeSeriesDict

    path = Path(path)
    name = FrameName.parse(path.name)
    if name is None:
        raise FrameError(
            f"{path}: not a frame file name "
            "({site}-{ifo}_{frame_type}-{gps}-{duration}.gwf or .hdf5)"
        )
    channels = [f"{name.ifo}:{channel}", f"{name.ifo}:{state_channel}"]
    try:
        data = TimeSeriesDict.read(
            str(path), channels, format=SUFFIXES[name.suffix]
        )
        strain, state = (data[c] for c in channels)
    except Exception as error:
        # lalframe and h5py raise RuntimeError, OSError, KeyError or
        # ValueError for a truncated file or a missing channel alike
        message = " ".join(str(error).split())[:200]
        raise FrameError(f"{path}: cannot be read ({message})") from None
    try:
        check_series(path, channels[0], strain.dtype, interval=strain.dt.value)
    except DataError as error:
        raise FrameError(str(error)) from None
    rate = float(strain.sample_rate.value)
    t0 = float(strain.t0.value)
    if t0 != name.gps or strain.size != round(name.duration * rate):
        raise FrameError(
            f"{path}: holds {strain.size / rate:g} s from GPS {t0:.3f}, "
            f"its name says {name.duration} s from {name.gps}"
        )
    bits = np.asarray(state.value).astype(np.int64)
    observing = bool(bits.size) and bool(
        np.all((bits & state_mask) == state_mask)
    )
    return Frame(
        name.ifo, t0, rate, np.asarray(strain.value, np.float64), observing
    )


def write_frame(
    directory: Path,
    name: FrameName,
    strain: np.ndarray,
    sample_rate: float,
    channel: str,
    state_channel: str,
    state: int,
    state_rate: float = 16.0,
) -> Path:
    """Write one ifo's frame, whole or not at all: it is written under a
    temporary name in ``directory`` and renamed into place."""
    from gwpy.timeseries import TimeSeries, TimeSeriesDict

    path = Path(directory) / name.name
    data = TimeSeriesDict()
    strain_name = f"{name.ifo}:{channel}"
    state_name = f"{name.ifo}:{state_channel}"
    data[strain_name] = TimeSeries(
        np.asarray(strain, np.float64),
        t0=name.gps,
        sample_rate=sample_rate,
        name=strain_name,
        channel=strain_name,
    )
    count = round(name.duration * state_rate)
    data[state_name] = TimeSeries(
        np.full(count, state, np.int32),
        t0=name.gps,
        sample_rate=state_rate,
        name=state_name,
        channel=state_name,
    )
    with atomic_path(path) as temporary, process_timezone_kept():
        data.write(str(temporary), format=SUFFIXES[name.suffix])
    return path


@contextlib.contextmanager
def process_timezone_kept():
    """Undo lalframe's change of the process's time zone: writing a GWF
    file sets TZ=PST8PDT in the C environment (for the frame's history
    stamp), which turned every later log time of the process into
    Pacific time."""
    before = os.environ.get("TZ")
    try:
        yield
    finally:
        if before is None:
            os.unsetenv("TZ")
        else:
            os.putenv("TZ", before)
        time.tzset()
