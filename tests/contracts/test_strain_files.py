"""The reader of users' strain files (aframe_contracts.strain_files):
what it refuses, by name."""

import h5py
import numpy as np
import pytest

from aframe_contracts.errors import DataError
from aframe_contracts.strain_files import index_files, true_runs

RATE = 256


def mlgwsc_file(path, pieces, ifos=("H1", "L1"), nan_at=None):
    """An MLGWSC-1 style file: <ifo>/<gps start> with start_time/delta_t."""
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        for ifo in ifos:
            group = f.create_group(ifo)
            for start, duration in pieces:
                data = rng.standard_normal(duration * RATE)
                if nan_at is not None and nan_at[0] == ifo:
                    offset = round((nan_at[1] - start) * RATE)
                    if 0 <= offset < data.size:
                        data[offset : offset + RATE] = np.nan
                dataset = group.create_dataset(str(start), data=data)
                dataset.attrs["start_time"] = start
                dataset.attrs["delta_t"] = 1 / RATE
    return path


def gwosc_file(path, ifo, start, data, rate):
    """A file in GWOSC's HDF5 layout."""
    with h5py.File(path, "w") as f:
        dataset = f.create_dataset("strain/Strain", data=data)
        dataset.attrs["Xstart"] = start
        dataset.attrs["Xspacing"] = 1 / rate
        f["meta/Detector"] = ifo.encode()
    return path


def test_unreadable_inputs(tmp_path):
    with pytest.raises(DataError, match="nothing matches"):
        index_files([str(tmp_path / "*.hdf5")], ["H1"], "")
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(DataError, match="unknown strain file type"):
        index_files([str(tmp_path / "x.txt")], ["H1"], "")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["V1/0"] = np.zeros(4)
    with pytest.raises(DataError, match="neither a GWOSC file"):
        index_files([str(tmp_path / "other.h5")], ["H1"], "")
    # the files source reads with the same checks as aframe-infer mlgwsc:
    # empty, truncated and two-dimensional files are named
    good = mlgwsc_file(tmp_path / "good.hdf5", [(0, 64)])
    (tmp_path / "empty.hdf5").write_bytes(b"")
    cut = tmp_path / "cut.hdf5"
    cut.write_bytes(good.read_bytes()[:3000])
    with h5py.File(tmp_path / "flat.hdf5", "w") as f:
        for ifo in ("H1", "L1"):
            f.create_dataset(f"{ifo}/0", data=np.zeros((2, 64)))
            f[f"{ifo}/0"].attrs.update(start_time=0, delta_t=1 / RATE)
    for name, problem in [
        ("empty.hdf5", "empty"),
        ("cut.hdf5", "not a readable HDF5"),
        ("flat.hdf5", "not a one-dimensional"),
    ]:
        path = tmp_path / name
        with pytest.raises(DataError, match=f"{path}.*{problem}"):
            index_files([str(path)], ["H1", "L1"], "")


def test_true_runs():
    mask = np.array([1, 1, 0, 0, 1, 0, 1, 1, 1], bool)
    assert true_runs(mask) == [(0, 2), (4, 5), (6, 9)]
    assert true_runs(np.zeros(3, bool)) == []
