"""Strain from each source (aframe_data.strain): simulated Gaussian noise
against its target PSD, and files (HDF5, GWF, GWOSC) with their
segments and gaps."""

import logging

import h5py
import numpy as np
import pytest
from scipy.signal import welch

from aframe_contracts.errors import DataError
from aframe_data import strain
from aframe_data.psd import interpolate_psd, load_psd
from aframe_data.segments import find_segments
from tests.contracts.test_strain_files import RATE, gwosc_file, mlgwsc_file
from tests.data.test_psd import write_frequency_series

SAMPLE_RATE = 2048


# -------------------------------------------------------------------- files


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


# ---------------------------------------------------------- simulated noise


@pytest.mark.parametrize("curve", ["aLIGO_O4_high", "aLIGO_ZERO_DET_high_P"])
def test_welch_psd_matches_the_curve(curve):
    data = strain.simulated(["H1"], 0, 256, SAMPLE_RATE, curve, seed=3)["H1"]
    frequencies, estimate = welch(
        data, fs=SAMPLE_RATE, nperseg=4 * SAMPLE_RATE, average="mean"
    )
    band = (frequencies >= 20) & (frequencies <= 1000)
    target = interpolate_psd(*load_psd(curve), frequencies[band])
    ratio = estimate[band] / target
    assert abs(np.median(ratio) - 1) < 0.05
    # and bin by bin, within the ~9% scatter of 127 averaged periodograms;
    # the curve's narrow lines (60 Hz, ...) leak into neighbouring bins
    assert np.percentile(np.abs(ratio - 1), 99) < 0.3


def test_seeded_and_independent():
    args = (["H1", "L1"], 1240579783, 64, SAMPLE_RATE, "aLIGO_O4_high")
    first = strain.simulated(*args, seed=7)
    again = strain.simulated(*args, seed=7)
    other = strain.simulated(*args, seed=8)
    np.testing.assert_array_equal(first["H1"], again["H1"])
    np.testing.assert_array_equal(first["L1"], again["L1"])
    assert not np.allclose(first["H1"], other["H1"], rtol=1e-3, atol=0)
    # the ifos are independent
    h1, l1 = first["H1"], first["L1"]
    assert abs(np.corrcoef(h1, l1)[0, 1]) < 0.02
    assert h1.dtype == np.float64 and h1.size == 64 * SAMPLE_RATE


def test_each_chunk_draws_a_psd(tmp_path):
    """With several PSDs, each ifo of each chunk draws one, seeded, and
    its noise has the PSD drawn."""
    frequencies = np.arange(1025.0)
    louder = interpolate_psd(*load_psd("aLIGO_O4_high"), frequencies) * 16
    (tmp_path / "H1").mkdir()
    write_frequency_series(tmp_path / "H1" / "psd-0.hdf", louder, 1.0)
    noise_psd = f"aLIGO_O4_high {tmp_path}/{{ifo}}/psd-*.hdf"
    loud = []
    for start in range(0, 640, 32):
        data = strain.simulated(["H1"], start, 32, SAMPLE_RATE, noise_psd, 5)
        again = strain.simulated(["H1"], start, 32, SAMPLE_RATE, noise_psd, 5)
        np.testing.assert_array_equal(data["H1"], again["H1"])
        f, estimate = welch(data["H1"], fs=SAMPLE_RATE, nperseg=SAMPLE_RATE)
        band = (f >= 30) & (f <= 500)
        target = interpolate_psd(*load_psd("aLIGO_O4_high"), f[band])
        ratio = np.median(estimate[band] / target)
        # either the curve (ratio 1) or the file's, 16 times louder
        assert min(abs(ratio - 1), abs(ratio - 16) / 16) < 0.1
        loud.append(ratio > 4)
    # each entry is drawn half of the time: 20 draws, both seen
    assert 3 <= sum(loud) <= 17


def test_one_psd_keeps_its_noise():
    """The draw of a PSD has a stream of its own: a single PSD's noise
    is the noise the seed gave before there was a choice."""
    data = strain.simulated(["H1"], 100, 4, 256, "aLIGO_O4_high", 9)["H1"]
    rng = np.random.default_rng([9, 100, 0])
    expected = strain.coloured_noise(
        *load_psd("aLIGO_O4_high"), data.size, 256, rng
    )
    np.testing.assert_array_equal(data, expected)


def test_duration_must_be_whole_samples():
    with pytest.raises(DataError, match="whole number of samples"):
        strain.simulated(["H1"], 0, 1.0001, 1024, "aLIGO_O4_high", 0)


def test_files_that_overlap_must_agree(tmp_path):
    """The strain contract's checks, in the files source: two files that
    overlap with other samples are refused before anything is read."""
    first = mlgwsc_file(tmp_path / "a.hdf", [(1000, 8)])
    second = mlgwsc_file(tmp_path / "b.hdf", [(1004, 8)])
    with pytest.raises(DataError) as error:
        strain.files([str(first), str(second)], ["H1"], 1000, 12, RATE, "")
    assert str(error.value) == (
        f"{first}: H1/1000 and {second}: H1/1004 overlap at GPS "
        "1004.0-1008.0 with other samples: expected files that overlap to "
        "hold the same strain"
    )


def test_gwosc_open_data_is_checked(monkeypatch):
    """The strain contract's checks, on what GWOSC serves."""
    from gwpy.timeseries import TimeSeries

    def fetched(ifo, start, stop, cache):
        return TimeSeries(np.zeros(16, np.int16), t0=start, sample_rate=4)

    monkeypatch.setattr(TimeSeries, "fetch_open_data", fetched)
    with pytest.raises(DataError) as error:
        strain.gwosc(["H1"], 1e9, 4, 4)
    assert str(error.value) == (
        "GWOSC open data: H1 holds int16 samples: expected strain as real "
        "floating-point numbers (float32 or float64)"
    )
