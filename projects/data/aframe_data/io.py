"""Reading and writing the data stage's HDF5 files, atomically."""

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np

from aframe_data.errors import DataError


@contextlib.contextmanager
def atomic_hdf5(path: Path) -> Iterator[h5py.File]:
    """An HDF5 file that appears at ``path`` only once fully written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with h5py.File(tmp, "w") as f:
            yield f
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_background(
    path: Path,
    strain: dict[str, np.ndarray],
    ifos: list[str],
    t0: float,
    sample_rate: float,
) -> None:
    """Background strain: one float64 dataset per ifo, in ``ifos`` order.

    Root attributes ``t0`` (GPS s), ``sample_rate`` (Hz) and ``ifos``; each
    dataset also carries gwpy's ``x0``/``dx`` so gwpy can read it.
    """
    with atomic_hdf5(path) as f:
        f.attrs["t0"] = t0
        f.attrs["sample_rate"] = sample_rate
        f.attrs["ifos"] = list(ifos)
        for ifo in ifos:
            dataset = f.create_dataset(
                ifo, data=np.asarray(strain[ifo], dtype=np.float64)
            )
            dataset.attrs["x0"] = t0
            dataset.attrs["dx"] = 1 / sample_rate


def read_background(path: Path) -> tuple[dict[str, np.ndarray], float, float]:
    """The strain per ifo, t0 (GPS s) and sample rate (Hz) of a file."""
    with h5py.File(path, "r") as f:
        ifos = [str(ifo) for ifo in f.attrs["ifos"]]
        strain = {ifo: f[ifo][:] for ifo in ifos}
        return strain, float(f.attrs["t0"]), float(f.attrs["sample_rate"])


def read_background_span(
    paths: list[Path], start: float, stop: float
) -> tuple[dict[str, np.ndarray], float, float]:
    """The strain of GPS [start, stop) from the background file holding it.

    Returns the strain per ifo, its first sample's GPS time and the sample
    rate (Hz); only the span is read.

    Raises:
        DataError: no file holds the whole span.
    """
    for path in paths:
        with h5py.File(path, "r") as f:
            ifos = [str(ifo) for ifo in f.attrs["ifos"]]
            t0, rate = float(f.attrs["t0"]), float(f.attrs["sample_rate"])
            first = round((start - t0) * rate)
            last = round((stop - t0) * rate)
            if 0 <= first < last <= f[ifos[0]].shape[-1]:
                strain = {ifo: f[ifo][first:last] for ifo in ifos}
                return strain, t0 + first / rate, rate
    raise DataError(
        f"no background file holds GPS [{start}, {stop}): "
        + ", ".join(str(p) for p in paths)
    )


def write_tables(
    path: Path,
    attrs: dict,
    groups: dict[str, dict[str, np.ndarray]],
) -> None:
    """An HDF5 file of groups of equal-length arrays, and root attributes.

    Waveform arrays are chunked a row at a time, so that training reads
    random rows without loading whole files.  The group "" is the root.
    """
    with atomic_hdf5(path) as f:
        for key, value in attrs.items():
            f.attrs[key] = value
        for name, arrays in groups.items():
            group = f.require_group(name) if name else f
            for key, array in arrays.items():
                array = np.asarray(array)
                chunks = (1, *array.shape[1:]) if array.ndim > 1 else None
                if array.size == 0:
                    chunks = None
                group.create_dataset(key, data=array, chunks=chunks)


def read_tables(
    path: Path, groups: tuple[str, ...] = ("parameters",)
) -> tuple[dict, dict[str, dict[str, np.ndarray]]]:
    """The root attributes and the named groups of a ``write_tables`` file."""
    with h5py.File(path, "r") as f:
        attrs = dict(f.attrs)
        tables = {}
        for name in groups:
            group = f[name] if name else f
            tables[name] = {
                key: group[key][()]
                for key in group
                if isinstance(group[key], h5py.Dataset)
            }
    return attrs, tables
