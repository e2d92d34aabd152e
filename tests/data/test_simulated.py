"""Simulated Gaussian noise against its target PSD."""

import numpy as np
import pytest
from scipy.signal import welch

from aframe_contracts.errors import DataError
from aframe_data import strain
from aframe_data.psd import curve_names, interpolate_psd, load_psd

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
