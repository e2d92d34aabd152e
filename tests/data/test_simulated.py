"""Simulated Gaussian noise against its target PSD."""

import h5py
import numpy as np
import pytest
from scipy.signal import welch

from aframe_contracts.errors import DataError
from aframe_data import strain
from aframe_data.psd import (
    curve_names,
    interpolate_psd,
    load_psd,
    psd_choices,
)

SAMPLE_RATE = 2048


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


def test_psd_files(tmp_path):
    frequencies = np.linspace(10, 1000, 200)
    asd = 1e-23 * (1 + (30 / frequencies) ** 4)
    np.savetxt(tmp_path / "mine_asd.txt", np.c_[frequencies, asd])
    np.savetxt(tmp_path / "mine.txt", np.c_[frequencies, asd**2])
    f1, psd1 = load_psd(str(tmp_path / "mine_asd.txt"))
    f2, psd2 = load_psd(str(tmp_path / "mine.txt"))
    np.testing.assert_allclose(psd1, psd2)
    np.testing.assert_allclose(f1, frequencies)


def write_frequency_series(path, psd, delta_f):
    """A PSD in pycbc's FrequencySeries layout, as MLGWSC-1 ships them."""
    with h5py.File(path, "w") as f:
        f["data"] = psd
        f["data"].attrs["delta_f"] = delta_f
        f["data"].attrs["epoch"] = 1245464815.0


def test_pycbc_frequency_series(tmp_path):
    frequencies = np.arange(513) * 2.0
    psd = 1e-46 * (1 + (60 / np.maximum(frequencies, 1)) ** 8)
    psd[frequencies < 10] = 0  # pycbc zeroes the PSD below its cutoff
    write_frequency_series(tmp_path / "psd.hdf", psd, 2.0)
    read_f, read_psd = load_psd(str(tmp_path / "psd.hdf"))
    # 0 Hz and the zeroed bins are dropped, the rest kept as written
    np.testing.assert_array_equal(read_f, frequencies[frequencies >= 10])
    np.testing.assert_array_equal(read_psd, psd[frequencies >= 10])

    with h5py.File(tmp_path / "other.hdf", "w") as f:
        f["psd"] = psd
    with pytest.raises(DataError, match="other.hdf: not a PSD file"):
        load_psd(str(tmp_path / "other.hdf"))


def test_psd_choices(tmp_path):
    for ifo in ("H1", "L1"):
        (tmp_path / ifo).mkdir()
        for i in range(3):
            (tmp_path / ifo / f"psd-{i}.hdf").touch()
    choices = psd_choices(f"aLIGO_O4_high {tmp_path}/{{ifo}}/psd-*.hdf", "L1")
    assert choices == [
        ["aLIGO_O4_high"],
        [str(tmp_path / "L1" / f"psd-{i}.hdf") for i in range(3)],
    ]
    with pytest.raises(DataError, match="V1/psd-.*matches no file"):
        psd_choices(f"{tmp_path}/{{ifo}}/psd-*.hdf", "V1")
    with pytest.raises(DataError, match="noise_psd is empty"):
        psd_choices(" ", "H1")


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


def test_unknown_curve_lists_the_known_ones():
    assert "aLIGO_O4_high" in curve_names()
    with pytest.raises(DataError, match="unknown noise_psd 'nope'.*O4"):
        load_psd("nope")


def test_bad_psd_file(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("10 1e-46\n5 1e-46\n")
    with pytest.raises(DataError, match="frequencies must increase"):
        load_psd(str(path))
    path.write_text("a b c\n")
    with pytest.raises(DataError, match="not a two-column"):
        load_psd(str(path))


def test_duration_must_be_whole_samples():
    with pytest.raises(DataError, match="whole number of samples"):
        strain.simulated(["H1"], 0, 1.0001, 1024, "aLIGO_O4_high", 0)
