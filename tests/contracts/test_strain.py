import gwpy.timeseries
import h5py
import numpy as np
import pytest

from aframe_contracts.errors import ContractError
from aframe_contracts.layout import LAYOUT_KEY
from aframe_contracts.strain import BackgroundStrain

T0, RATE = 1e9, 256.0


@pytest.fixture
def chunk():
    rng = np.random.default_rng(0)
    strain = {ifo: rng.standard_normal(int(RATE) * 10) for ifo in ("L1", "H1")}
    return BackgroundStrain(strain, T0, RATE)


def test_round_trip(chunk, tmp_path):
    path = tmp_path / "bg.hdf5"
    chunk.write(path)
    again = BackgroundStrain.read(path)
    assert again.ifos == ["L1", "H1"]  # the written order
    assert (again.t0, again.sample_rate, again.size) == (T0, RATE, 2560)
    for ifo in chunk.ifos:
        np.testing.assert_array_equal(again.strain[ifo], chunk.strain[ifo])
    header = BackgroundStrain.header(path)
    assert (header.ifos, header.size, header.stop) == (
        ["L1", "H1"],
        2560,
        T0 + 10,
    )
    # gwpy reads each ifo as a TimeSeries of the right times
    series = gwpy.timeseries.TimeSeries.read(path, path="H1")
    assert series.t0.value == T0 and series.dt.value == 1 / RATE


def test_spans_and_ifos(chunk, tmp_path):
    path = tmp_path / "bg.hdf5"
    chunk.write(path)
    part = BackgroundStrain.read_span([path], T0 + 2, T0 + 3, ["H1"])
    assert part.ifos == ["H1"] and part.t0 == T0 + 2
    np.testing.assert_array_equal(
        part.strain["H1"], chunk.strain["H1"][512:768]
    )
    with pytest.raises(ContractError, match="no background file holds GPS"):
        BackgroundStrain.read_span([path], T0 + 9, T0 + 11)
    with pytest.raises(ContractError, match="bg.hdf5: no ifo V1"):
        BackgroundStrain.read(path, ["H1", "V1"])


def test_other_files_are_refused(chunk, tmp_path):
    path = tmp_path / "bg.hdf5"
    chunk.write(path)
    with h5py.File(path, "a") as f:
        f.attrs[LAYOUT_KEY] = "waveform-set"
    with pytest.raises(ContractError, match="is a waveform-set file"):
        BackgroundStrain.read(path)
    with pytest.raises(ContractError, match="equal-length vectors"):
        BackgroundStrain({"H1": np.zeros(3), "L1": np.zeros(4)}, 0, 1).write(
            tmp_path / "x.hdf5"
        )
