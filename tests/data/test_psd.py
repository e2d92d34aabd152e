"""PSDs: bilby curves, PSD files (text and pycbc's HDF5), and choices
among several (aframe_data.psd)."""

import h5py
import numpy as np
import pytest

from aframe_contracts.errors import DataError
from aframe_data.psd import curve_names, load_psd, psd_choices


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
