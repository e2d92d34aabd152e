"""The files source: MLGWSC-1 HDF5, GWOSC HDF5 and GWF strain."""

import logging

import h5py
import numpy as np
import pytest

from aframe_contracts.errors import DataError
from aframe_data import strain
from aframe_data.segments import find_segments

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


def test_mlgwsc_segments_and_strain(tmp_path):
    path = mlgwsc_file(
        tmp_path / "bg.hdf", [(1000, 100), (1100, 50), (1200, 80)]
    )
    found = find_segments(
        "files", ["H1", "L1"], 0, 2000, strain_files=[str(path)]
    )
    # touching datasets merge; the gap at 1150-1200 splits
    assert found == [(1000, 1150), (1200, 1280)]
    assert find_segments(
        "files", ["H1", "L1"], 1020, 1260, 60, strain_files=[str(path)]
    ) == [(1020, 1150), (1200, 1260)]

    # a chunk across two datasets reads both
    data = strain.files([str(path)], ["H1", "L1"], 1090, 20, RATE, "")
    with h5py.File(path) as f:
        expected = np.concatenate(
            [f["H1/1000"][90 * RATE :], f["H1/1100"][: 10 * RATE]]
        )
    np.testing.assert_array_equal(data["H1"], expected)

    with pytest.raises(DataError, match="do not cover H1 from GPS 1150"):
        strain.files(
            [str(tmp_path / "*.hdf")], ["H1", "L1"], 1140, 20, RATE, ""
        )


def test_nan_stretches_are_left_out(tmp_path, caplog):
    path = mlgwsc_file(tmp_path / "bg.hdf", [(1000, 100)], nan_at=("L1", 1040))
    with caplog.at_level(logging.WARNING):
        found = find_segments(
            "files", ["H1", "L1"], 0, 2000, strain_files=[str(path)]
        )
    assert found == [(1000, 1040), (1041, 1100)]
    assert "256 NaN samples" in caplog.text
    with pytest.raises(DataError, match="NaN.*GPS 1040.000"):
        strain.files([str(path)], ["H1", "L1"], 1030, 20, RATE, "")


def test_missing_ifo(tmp_path):
    path = mlgwsc_file(tmp_path / "bg.hdf", [(1000, 100)], ifos=("H1",))
    with pytest.raises(DataError, match="hold no L1 strain"):
        find_segments("files", ["H1", "L1"], 0, 2000, strain_files=[str(path)])


def test_unreadable_inputs(tmp_path):
    with pytest.raises(DataError, match="nothing matches"):
        strain.index_files([str(tmp_path / "*.hdf5")], ["H1"], "")
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(DataError, match="unknown strain file type"):
        strain.index_files([str(tmp_path / "x.txt")], ["H1"], "")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["V1/0"] = np.zeros(4)
    with pytest.raises(DataError, match="neither a GWOSC file"):
        strain.index_files([str(tmp_path / "other.h5")], ["H1"], "")


def test_gwosc_hdf5_resampled(tmp_path):
    """GWOSC files at 4096 Hz, read at 1024 Hz: a 50 Hz tone survives."""
    rate, start, duration = 4096, 1126259446, 32
    times = np.arange(duration * rate) / rate
    tone = np.sin(2 * np.pi * 50 * times)
    for ifo in ("H1", "L1"):
        gwosc_file(
            tmp_path / f"{ifo[0]}-{ifo}_GWOSC.hdf5", ifo, start, tone, rate
        )
    data = strain.files(
        [str(tmp_path / "*.hdf5")], ["H1", "L1"], start + 8, 16, 1024, ""
    )
    expected = np.sin(2 * np.pi * 50 * (8 + np.arange(16 * 1024) / 1024))
    assert data["L1"].size == 16 * 1024
    np.testing.assert_allclose(
        data["L1"][1024:-1024], expected[1024:-1024], atol=5e-3
    )


def test_gwf(tmp_path):
    from gwpy.timeseries import TimeSeries

    rng = np.random.default_rng(1)
    for ifo in ("H1", "L1"):
        channel = f"{ifo}:GWOSC-4KHZ_R1_STRAIN"
        TimeSeries(
            rng.standard_normal(64 * RATE),
            t0=2000,
            sample_rate=RATE,
            channel=channel,
            name=channel,
        ).write(tmp_path / f"{ifo[0]}-{ifo}-2000-64.gwf")
    files = [str(tmp_path / "*.gwf")]
    found = find_segments("files", ["H1", "L1"], 0, 5000, strain_files=files)
    assert found == [(2000, 2064)]
    data = strain.files(
        files, ["H1", "L1"], 2010, 4, RATE, "GWOSC-4KHZ_R1_STRAIN"
    )
    whole = TimeSeries.read(
        tmp_path / "L-L1-2000-64.gwf", "L1:GWOSC-4KHZ_R1_STRAIN"
    )
    np.testing.assert_array_equal(
        data["L1"], whole.value[10 * RATE : 14 * RATE]
    )


@pytest.mark.network
def test_gwosc_open_data():
    """GW150914's hour: open segments and strain from GWOSC."""
    start = 1126259462 - 16
    found = find_segments("gwosc", ["H1", "L1"], start, start + 32)
    assert found == [(start, start + 32)]
    data = strain.gwosc(["H1", "L1"], start, 32, 2048)
    assert data["H1"].size == 32 * 2048
    assert 1e-22 < np.std(data["H1"]) < 1e-17
