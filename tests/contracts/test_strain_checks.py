"""The strain contract (aframe_contracts.strain_checks): each reader of
the contracts refuses a bad file before any work, naming the file, the
dataset and what was expected."""

import re

import h5py
import numpy as np
import pytest

from aframe_contracts.errors import DataError
from aframe_contracts.strain import BackgroundStrain
from aframe_contracts.strain_files import hdf5_spans, index_files
from tests.contracts.test_strain_files import RATE, gwosc_file, mlgwsc_file

T0 = 1e9
FLOAT_EXPECTED = "expected strain as real floating-point numbers"
INTERVAL_EXPECTED = "expected a finite positive number of seconds"


def refused(read, *message: str) -> None:
    """``read()`` raises a DataError whose message holds every part of
    ``message``, in order."""
    pattern = ".*".join(re.escape(part) for part in message)
    with pytest.raises(DataError, match=pattern):
        read()


def background_file(path, strain, rate=RATE, dtype=np.float64):
    """A background-strain file as ``BackgroundStrain.write`` would not
    write it: datasets of ``dtype``, of any lengths, at any rate."""
    size = min(data.size for data in strain.values())
    BackgroundStrain(
        {ifo: data[:size] for ifo, data in strain.items()}, T0, RATE
    ).write(path)
    with h5py.File(path, "a") as f:
        f.attrs["sample_rate"] = rate
        for ifo, data in strain.items():
            del f[ifo]
            f.create_dataset(ifo, data=np.asarray(data).astype(dtype))
    return path


def test_background_strain_is_checked(tmp_path):
    strain = {ifo: np.zeros(4 * RATE) for ifo in ("H1", "L1")}
    integer = background_file(tmp_path / "int.hdf5", strain, dtype=np.int32)
    refused(
        lambda: BackgroundStrain.read(integer),
        str(integer),
        "H1 holds int32 samples",
        FLOAT_EXPECTED,
    )
    zero = background_file(tmp_path / "zero.hdf5", strain, rate=0.0)
    refused(
        lambda: BackgroundStrain.header(zero),
        str(zero),
        "H1 has a sample rate of 0.0 Hz",
        "expected a finite positive rate",
    )
    uneven = {"H1": np.zeros(4 * RATE), "L1": np.zeros(3 * RATE)}
    path = background_file(tmp_path / "uneven.hdf5", uneven)
    refused(
        lambda: BackgroundStrain.read(path, ["H1"]),
        str(path),
        f"L1 holds {3 * RATE} samples",
        f"expected the span of H1, {4 * RATE} samples",
        "background-strain layout has one span for every ifo",
    )


def test_gwosc_files_are_checked(tmp_path):
    integer = gwosc_file(
        tmp_path / "int.hdf5", "H1", T0, np.zeros(RATE, np.int16), RATE
    )
    refused(
        lambda: hdf5_spans(integer, ["H1"]),
        str(integer),
        "strain/Strain holds int16 samples",
        FLOAT_EXPECTED,
    )
    zero = gwosc_file(tmp_path / "zero.hdf5", "H1", T0, np.zeros(RATE), 1)
    with h5py.File(zero, "a") as f:
        f["strain/Strain"].attrs["Xspacing"] = 0.0
    refused(
        lambda: index_files([str(zero)], ["H1"], ""),
        str(zero),
        "strain/Strain has a sampling interval of 0.0 s",
        INTERVAL_EXPECTED,
    )


def test_mlgwsc_files_are_checked(tmp_path):
    nan = mlgwsc_file(tmp_path / "nan.hdf", [(1000, 8)])
    with h5py.File(nan, "a") as f:
        f["L1/1000"].attrs["delta_t"] = np.nan
    refused(
        lambda: hdf5_spans(nan, ["H1", "L1"]),
        str(nan),
        "L1/1000 has a sampling interval of nan s",
        INTERVAL_EXPECTED,
    )
    # the layout has one span per segment for every ifo
    shifted = mlgwsc_file(tmp_path / "shifted.hdf", [(1000, 8)])
    with h5py.File(shifted, "a") as f:
        f["L1/1000"].attrs["start_time"] = 1001.0
    refused(
        lambda: hdf5_spans(shifted, ["H1", "L1"]),
        str(shifted),
        f"L1/1000 holds {8 * RATE} samples from GPS 1001.0",
        "expected the span of H1/1000",
        "MLGWSC-1 layout has one span for every ifo",
    )
    missing = mlgwsc_file(tmp_path / "missing.hdf", [(1000, 8), (1010, 8)])
    with h5py.File(missing, "a") as f:
        del f["L1/1010"]
    refused(
        lambda: hdf5_spans(missing, ["H1", "L1"]),
        str(missing),
        "L1/1010 missing",
        "expected every ifo to hold segment 1010",
    )


def test_gwf_files_are_checked(tmp_path):
    from gwpy.timeseries import TimeSeries

    channel = "H1:GWOSC-4KHZ_R1_STRAIN"
    path = tmp_path / "H-H1-2000-4.gwf"
    TimeSeries(
        np.arange(4 * RATE, dtype=np.int32),
        t0=2000,
        sample_rate=RATE,
        channel=channel,
        name=channel,
    ).write(path)
    refused(
        lambda: index_files([str(path)], ["H1"], "GWOSC-4KHZ_R1_STRAIN"),
        str(path),
        f"{channel} holds int32 samples",
        FLOAT_EXPECTED,
    )


def test_overlapping_files_must_agree(tmp_path):
    first = mlgwsc_file(tmp_path / "a.hdf", [(1000, 8)])
    # a second file that overlaps the first's last 4 s: the same samples
    # are accepted, others refused
    same = tmp_path / "b.hdf"
    with h5py.File(first) as f, h5py.File(same, "w") as g:
        for ifo in ("H1", "L1"):
            data = np.concatenate([f[f"{ifo}/1000"][4 * RATE :]] * 2)
            dataset = g.create_dataset(f"{ifo}/1004", data=data)
            dataset.attrs.update(start_time=1004.0, delta_t=1 / RATE)
    spans = index_files([str(first), str(same)], ["H1", "L1"], "")
    assert [span.start for span in spans["H1"]] == [1000, 1004]
    with h5py.File(same, "a") as g:
        for ifo in ("H1", "L1"):
            g[f"{ifo}/1004"][0] += 1
    refused(
        lambda: index_files([str(first), str(same)], ["H1", "L1"], ""),
        f"{first}: H1/1000 and {same}: H1/1004 overlap at GPS 1004.0-1008.0",
        "with other samples: expected files that overlap to hold the "
        "same strain",
    )
    # sampled off the other's grid
    with h5py.File(same, "a") as g:
        g["H1/1004"].attrs["start_time"] = 1004 + 0.5 / RATE
    refused(
        lambda: index_files([str(first), str(same)], ["H1"], ""),
        f"{first}: H1/1000 and {same}: H1/1004 overlap",
        "0.500 of a sample apart",
        "expected files that overlap to hold the same samples",
    )
