import json

import numpy as np
import pytest

from aframe_contracts.errors import ContractError
from aframe_contracts.events import ForegroundEvents
from aframe_contracts.score import MONTH, Score, found_by_snr, write_summary

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


def two_hours_of_curve() -> Score:
    """evaluate.py's curve on 2 h of background with 5 events: far counts
    the events louder than each, in its order (4 louder ... 0)."""
    louder = np.arange(5)[::-1]
    return Score(
        dataset=3,
        seed=1,
        far=louder * MONTH / 7200,
        distance=np.array([2000.0, 1900.0, 1800.0, 1700.0, 1600.0]),
        distance_error=np.full(5, 100.0),
        duration=7200.0,
        tc=np.zeros(0),
        snr=np.zeros(0),
        statistic=np.zeros(0),
        threshold=0.0,
        var=0.1,
    )


def test_distance_at_a_far():
    """1 per 2 h is the loudest event, 1 per hour the second loudest, and
    1 per day is not resolved by 2 h, nor 6 per 2 h by 5 events."""
    score = two_hours_of_curve()
    assert score.at_far(360.0) == score.loudest == 4
    assert score.at_far(720.0) == 3
    assert score.at_far(5 * 360.0) == 0
    assert score.at_far(30.0) is None and score.at_far(6 * 360.0) is None


def test_summary_reports_the_fars_resolved(tmp_path):
    path = tmp_path / "summary.json"
    write_summary(path, two_hours_of_curve(), {"repository": "repo"})
    summary = json.loads(path.read_text())
    assert summary["repository"] == "repo"
    assert summary["sensitive_distance_mpc"] == 1600.0
    assert summary["sensitive_distance_by_far"] == [
        {
            "far": "1 per 2 h",
            "sensitive_distance_mpc": 1600.0,
            "sensitive_distance_error_mpc": 100.0,
        },
        {
            "far": "1 per hour",
            "sensitive_distance_mpc": 1700.0,
            "sensitive_distance_error_mpc": 100.0,
        },
    ]
