import h5py
import numpy as np
import pytest

from aframe_contracts.errors import ContractError
from aframe_contracts.layout import VERSION_KEY
from aframe_contracts.waveforms import WaveformSet, coalescence_sample

ATTRS = {"sample_rate": 128.0, "duration": 4.0, "right_pad": 0.5}


@pytest.fixture
def injections():
    rng = np.random.default_rng(1)
    return WaveformSet(
        {**ATTRS, "ifos": ["H1", "L1"], "num_draws": 7},
        {"snr": rng.uniform(4, 20, 5), "mass_1": rng.uniform(5, 50, 5)},
        {ifo: rng.standard_normal((5, 512)) for ifo in ("H1", "L1")},
        {"snr": np.array([1.0, 2.0])},
    )


def test_round_trip(injections, tmp_path):
    path = tmp_path / "inj.hdf5"
    injections.write(path)
    again = WaveformSet.read(path)
    # the file's layout is recorded, and not part of the attributes
    assert again.attrs.keys() == injections.attrs.keys()
    assert list(again.attrs["ifos"]) == ["H1", "L1"]
    for name in ("parameters", "waveforms", "rejected"):
        for key, value in getattr(injections, name).items():
            np.testing.assert_array_equal(getattr(again, name)[key], value)
    assert WaveformSet.count(path) == 5
    assert WaveformSet.attributes(path)["num_draws"] == 7
    # waveforms are stored a row at a time: training reads random rows
    with h5py.File(path) as f:
        assert f["waveforms/H1"].chunks == (1, 512)


def test_rows_and_names(injections, tmp_path):
    path = tmp_path / "inj.hdf5"
    injections.write(path)
    some = WaveformSet.read(path, ["L1"], np.array([1, 3]))
    assert list(some.waveforms) == ["L1"]
    np.testing.assert_array_equal(
        some.waveforms["L1"], injections.waveforms["L1"][[1, 3]]
    )
    stacked = WaveformSet.read(path).stacked(["L1", "H1"])
    assert stacked.shape == (5, 2, 512)
    np.testing.assert_array_equal(stacked[:, 1], injections.waveforms["H1"])
    with pytest.raises(ContractError, match="inj.hdf5: no waveforms/cross"):
        WaveformSet.read(path, ["cross"])


def test_the_coalescence_sample():
    # 4 s waveforms that coalesce 0.5 s before their end, at 128 Hz
    assert coalescence_sample(ATTRS, 128) == 448
    assert WaveformSet(ATTRS, {}).coalescence == 448
    assert coalescence_sample(ATTRS, 2048) == 7168


def test_a_newer_layout_is_refused(injections, tmp_path):
    path = tmp_path / "inj.hdf5"
    injections.write(path)
    with h5py.File(path, "a") as f:
        f.attrs[VERSION_KEY] = 2
    with pytest.raises(ContractError, match="version 2 of the waveform-set"):
        WaveformSet.read(path)
