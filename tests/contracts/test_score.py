import numpy as np
import pytest

from aframe_contracts.errors import ContractError
from aframe_contracts.events import ForegroundEvents
from aframe_contracts.score import MONTH, Score, found_by_snr

SCORE = Score(
    dataset=1,
    seed=7,
    far=np.array([1e3, 10.0, 360.0]),
    distance=np.array([3000.0, 2500.0, 2600.0]),
    distance_error=np.array([100.0, 150.0, 140.0]),
    duration=7200.0,
    tc=np.array([1.0, 2.0, 3.0, 4.0]),
    snr=np.array([7.0, 9.0, 9.5, 20.0]),
    statistic=np.array([-np.inf, 5.0, 1.0, 9.0]),
    threshold=2.0,
    var=0.14,
)


def test_round_trip(tmp_path):
    path = tmp_path / "score.hdf5"
    SCORE.write(path)
    again = Score.read(path)
    for name in ("far", "distance", "tc", "snr", "statistic"):
        np.testing.assert_array_equal(
            getattr(again, name), getattr(SCORE, name)
        )
    assert (again.dataset, again.seed, again.var) == (1, 7, 0.14)
    # the lowest FAR two hours resolve, and the curve's point there
    assert again.lowest_far == MONTH / 7200 and again.loudest == 1
    assert again.name == "dataset 1, 7200 s, seed 7"


def test_found_by_snr_and_other_files(tmp_path):
    rows = {(lo, hi): (f, n) for lo, hi, f, n in found_by_snr(SCORE)}
    assert rows[(8.0, 10.0)] == (1, 2) and rows[(6.0, 8.0)] == (0, 1)
    path = tmp_path / "fg.hdf5"
    ForegroundEvents({}, {}, {}).write(path)
    with pytest.raises(ContractError, match="not an MLGWSC-1 score"):
        Score.read(path)
