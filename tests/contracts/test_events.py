import numpy as np
import pytest

from aframe_contracts.errors import ContractError
from aframe_contracts.events import BackgroundEvents, ForegroundEvents


def events(n=4, Tb=100.0):
    return BackgroundEvents(
        np.arange(n, dtype=float),
        1e9 + np.arange(n),
        np.tile([0.0, 2.0], (n, 1)),
        Tb,
        ["H1", "L1"],
        {"t0": 1e9, "time_window": 0.14},
    )


def test_background_round_trip(tmp_path):
    path = tmp_path / "bg.hdf5"
    events().write(path)
    again = BackgroundEvents.read(path)
    np.testing.assert_array_equal(again.statistic, [0, 1, 2, 3])
    np.testing.assert_array_equal(again.shift[:, 1], 2.0)
    assert (again.Tb, again.ifos) == (100.0, ["H1", "L1"])
    assert again.attrs == {"t0": 1e9, "time_window": 0.14}
    # no events keeps the ifo axis of the shifts
    events(0).write(path)
    assert BackgroundEvents.read(path).shift.shape == (0, 2)


def test_background_is_checked(tmp_path):
    path = tmp_path / "bg.hdf5"
    events(Tb=0).write(path)
    with pytest.raises(ContractError, match="Tb = 0.0 s, it must be positive"):
        BackgroundEvents.read(path)
    bad = events()
    bad.statistic[1] = np.nan
    bad.write(path)
    with pytest.raises(ContractError, match="detection_statistic has NaNs"):
        BackgroundEvents.read(path)
    # a foreground file is not background
    ForegroundEvents({}, {}, {}).write(path)
    with pytest.raises(ContractError, match="is a foreground-events file"):
        BackgroundEvents.read(path)


def test_foreground_round_trip(tmp_path):
    path = tmp_path / "fg.hdf5"
    found = ForegroundEvents(
        {"Tb": 10.0, "num_draws": 3, "ifos": ["H1", "L1"]},
        {
            "snr": np.array([8.0, 12.0]),
            "detection_statistic": np.array([-np.inf, 3.0]),
        },
        {"snr": np.array([2.0])},
    )
    found.write(path)
    again = ForegroundEvents.read(path)
    assert again.attrs["num_draws"] == 3
    np.testing.assert_array_equal(
        again.parameters["detection_statistic"], [-np.inf, 3.0]
    )
    assert again.rejected["snr"].tolist() == [2.0]
