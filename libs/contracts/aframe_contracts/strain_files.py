"""Strain files the user brings, read in place: one reader for every stage.

Three kinds, by what the file holds:

- a GWOSC HDF5 file (``strain/Strain`` with ``Xstart`` and ``Xspacing``,
  ``meta/Detector``): one ifo, one span;
- the MLGWSC-1 layout (``<ifo>/<gps start>`` datasets with
  ``start_time`` and ``delta_t`` attributes): any number of spans per
  ifo;
- a GWF frame file (``.gwf``), channel ``<ifo>:<channel>``, read with
  gwpy (imported only for frames).

A ``Span`` is a contiguous stretch of one ifo's strain in one file, read
on demand.  The data stage's ``files`` source, the MLGWSC-1 commands and
the online replay index files with ``index_files`` and ``hdf5_spans``,
which check what they find with the strain contract
(``strain_checks``) before anything is read.
"""

import glob
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from aframe_contracts.errors import DataError
from aframe_contracts.strain_checks import (
    check_overlaps,
    check_series,
    check_shared_span,
)


@dataclass(frozen=True)
class Span:
    """A contiguous stretch of one ifo's strain in a file."""

    ifo: str
    start: float
    sample_rate: float
    size: int
    path: Path
    key: str  # the dataset (HDF5) or channel (GWF)

    @property
    def stop(self) -> float:
        return self.start + self.size / self.sample_rate

    def read(self, start: float, stop: float) -> np.ndarray:
        first = round((start - self.start) * self.sample_rate)
        last = round((stop - self.start) * self.sample_rate)
        if self.path.suffix == ".gwf":
            from gwpy.timeseries import TimeSeries

            series = TimeSeries.read(
                self.path, self.key, start=start, end=stop
            )
            return series.value
        try:
            with h5py.File(self.path, "r") as f:
                return f[self.key][first:last]
        except OSError as error:
            raise DataError(
                f"{self.path}: {self.key} cannot be read ({error}): is the "
                "file truncated?"
            ) from None


def expand(patterns: list[str]) -> list[Path]:
    """The files named by paths or glob patterns, each pattern non-empty."""
    files = []
    for pattern in patterns:
        found = sorted(glob.glob(str(Path(pattern).expanduser())))
        if not found:
            raise DataError(f"strain_files: nothing matches {pattern!r}")
        files += [Path(p) for p in found]
    return files


def open_strain_file(path: Path) -> h5py.File:
    """An HDF5 strain file, open for reading; a file that is missing,
    empty or not HDF5 is a DataError naming it."""
    if Path(path).is_dir():
        raise DataError(f"{path} is a directory, not a strain file")
    try:
        return h5py.File(path, "r")
    except FileNotFoundError:
        raise DataError(f"{path}: no such strain file") from None
    except OSError as error:
        size = path.stat().st_size if path.exists() else 0
        what = "is empty" if size == 0 else "is not a readable HDF5 file"
        raise DataError(f"{path} {what} ({error})") from None


def hdf5_spans(path: Path, ifos: list[str]) -> list[Span]:
    """The spans of an HDF5 strain file: a GWOSC file's one, or each
    ``<ifo>/<gps start>`` dataset of the MLGWSC-1 layout for ``ifos``.

    Raises:
        DataError: the file is neither, a dataset lacks the layout's
            attributes or is not a series of floating-point samples at a
            finite positive interval, the ifos of an MLGWSC-1 file do not
            share its segments, or segments of one ifo overlap but
            disagree.
    """
    spans = []
    with open_strain_file(path) as f:
        if "strain" in f and "Strain" in f["strain"]:
            # a GWOSC file: one ifo, the start and spacing as attributes
            dataset = f["strain/Strain"]
            ifo = f["meta/Detector"][()]
            ifo = ifo.decode() if isinstance(ifo, bytes) else str(ifo)
            check_series(
                path,
                "strain/Strain",
                dataset.dtype,
                interval=float(dataset.attrs["Xspacing"]),
            )
            spans.append(
                Span(
                    ifo,
                    float(dataset.attrs["Xstart"]),
                    1 / float(dataset.attrs["Xspacing"]),
                    dataset.shape[0],
                    path,
                    "strain/Strain",
                )
            )
            return spans
        # the MLGWSC-1 layout: <ifo>/<gps start> datasets
        found = [ifo for ifo in ifos if ifo in f]
        if not found:
            raise DataError(
                f"{path}: neither a GWOSC file (strain/Strain) nor in the "
                f"MLGWSC-1 layout (groups named {', '.join(ifos)})"
            )
        for ifo in found:
            for name, dataset in f[ifo].items():
                attrs = dataset.attrs
                if "start_time" not in attrs or "delta_t" not in attrs:
                    raise DataError(
                        f"{path}: {ifo}/{name} lacks the start_time and "
                        "delta_t attributes of the MLGWSC-1 layout"
                    )
                if not isinstance(dataset, h5py.Dataset) or dataset.ndim != 1:
                    shape = getattr(dataset, "shape", "a group")
                    raise DataError(
                        f"{path}: {ifo}/{name} is {shape}, not a "
                        "one-dimensional series of strain samples"
                    )
                check_series(
                    path,
                    f"{ifo}/{name}",
                    dataset.dtype,
                    interval=float(attrs["delta_t"]),
                )
                spans.append(
                    Span(
                        ifo,
                        float(attrs["start_time"]),
                        1 / float(attrs["delta_t"]),
                        dataset.shape[0],
                        path,
                        f"{ifo}/{name}",
                    )
                )
    check_segments(path, spans, found)
    return spans


def check_segments(path: Path, spans: list[Span], ifos: list[str]) -> None:
    """The MLGWSC-1 layout's segments: each ``ifos`` group holds the same
    ones, of one span for every ifo; one ifo's segments that overlap hold
    the same strain."""
    segments: dict[str, dict[str, tuple[float, float, int]]] = {}
    for span in spans:
        name = span.key.split("/", 1)[1]
        segments.setdefault(name, {})[span.key] = (
            span.start,
            1 / span.sample_rate,
            span.size,
        )
    for name, shared in segments.items():
        missing = [ifo for ifo in ifos if f"{ifo}/{name}" not in shared]
        if missing:
            raise DataError(
                f"{path}: {', '.join(f'{ifo}/{name}' for ifo in missing)} "
                f"missing: expected every ifo to hold segment {name}, as "
                "the MLGWSC-1 layout has"
            )
        check_shared_span(path, shared, "MLGWSC-1")
    for ifo in ifos:
        check_overlaps([span for span in spans if span.ifo == ifo])


def gwf_spans(path: Path, ifos: list[str], channel: str) -> list[Span]:
    """The ``<ifo>:<channel>`` series of a GWF frame file (gwpy reads
    them)."""
    from gwpy.io.gwf import get_channel_names
    from gwpy.timeseries import TimeSeries

    names = set(get_channel_names(path))
    spans = []
    for ifo in ifos:
        key = f"{ifo}:{channel}"
        if key not in names:
            continue
        series = TimeSeries.read(path, key)
        check_series(path, key, series.dtype, interval=series.dt.value)
        spans.append(
            Span(
                ifo,
                series.t0.value,
                series.sample_rate.value,
                series.size,
                path,
                key,
            )
        )
    return spans


def index_files(
    patterns: list[str], ifos: list[str], channel: str
) -> dict[str, list[Span]]:
    """The spans of each ifo's strain in the files, sorted by start."""
    spans = {ifo: [] for ifo in ifos}
    for path in expand(patterns):
        if path.suffix == ".gwf":
            found = gwf_spans(path, ifos, channel)
        elif path.suffix in (".h5", ".hdf5", ".hdf"):
            found = hdf5_spans(path, ifos)
        else:
            raise DataError(
                f"{path}: unknown strain file type {path.suffix!r} (expected "
                ".gwf, .hdf5, .h5 or .hdf)"
            )
        for span in found:
            if span.ifo in spans:
                spans[span.ifo].append(span)
    for ifo, found in spans.items():
        if not found:
            raise DataError(
                f"strain_files hold no {ifo} strain: {', '.join(patterns)}"
            )
        found.sort(key=lambda span: span.start)
        check_overlaps(found)
    return spans


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """The [first, stop) index spans where ``mask`` is True: the finite
    stretches of strain, say."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [
        (int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)
    ]
