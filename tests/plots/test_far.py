"""False alarm rates from the background: counts / Tb, floored, per year."""

import numpy as np

from aframe_plots.far import (
    SECONDS_PER_YEAR,
    TARGETS,
    distinct_points,
    far,
    operating_point,
    threshold_grid,
)
from aframe_plots.plotting import far_figure


def test_year_is_julian():
    assert SECONDS_PER_YEAR == 31_557_600


def test_far_is_louder_events_per_year_floored_at_one_over_tb():
    statistic = np.array([1.0, 2.0, 2.0, 3.0, 5.0])
    Tb = 2 * SECONDS_PER_YEAR
    thresholds = np.array([0.0, 1.0, 2.0, 2.5, 5.0, 6.0])
    # >= each: 5, 5, 4, 2, 1 and 0 events, the last floored at 1
    expected = np.array([5, 5, 4, 2, 1, 1]) / 2
    np.testing.assert_allclose(far(thresholds, statistic, Tb), expected)


def test_threshold_grid_keeps_the_loudest_events():
    statistic = np.random.default_rng(0).normal(size=5000)
    descending = np.sort(statistic)[::-1]
    # few events: every one is a threshold
    np.testing.assert_array_equal(
        threshold_grid(statistic[:50]), np.sort(statistic[:50])[::-1]
    )
    grid = threshold_grid(statistic, max_points=100)
    assert 50 < grid.size <= 100
    assert np.all(np.diff(grid) < 0)
    np.testing.assert_array_equal(grid[:10], descending[:10])
    assert grid[-1] == descending[-1]


def test_operating_point_is_the_quietest_threshold_within_the_far():
    statistic = np.random.default_rng(1).normal(size=100)
    descending = np.sort(statistic)[::-1]
    month = operating_point(statistic, SECONDS_PER_YEAR, 12)
    assert month.threshold == descending[11]
    assert month.far == 12 and month.supported
    year = operating_point(statistic, SECONDS_PER_YEAR, 1)
    assert year.threshold == descending[0]
    assert year.far == 1 and year.supported


def test_operating_point_below_one_over_tb_is_marked():
    statistic = np.random.default_rng(2).normal(size=100)
    point = operating_point(statistic, SECONDS_PER_YEAR / 2, 1)
    assert not point.supported
    assert point.threshold == statistic.max()
    assert point.far == 2


def test_operating_point_above_tied_loudest_events():
    point = operating_point(np.array([5.0, 5.0, 1.0]), SECONDS_PER_YEAR, 1)
    assert 5 < point.threshold < 5 + 1e-12
    assert point.far == 1


def test_targets_below_one_over_tb_are_one_point():
    statistic = np.arange(100.0)
    year = SECONDS_PER_YEAR
    # a year of background: 1 / month and 1 / year are two points
    points = [operating_point(statistic, year, t) for t in TARGETS.values()]
    assert [(names, index) for names, _, index in distinct_points(points)] == [
        ("1 / month", 0),
        ("1 / year", 1),
    ]
    thresholds = threshold_grid(statistic)
    figure = far_figure(thresholds, far(thresholds, statistic, year), points)
    (ax,) = figure.axes
    markers = [line.get_marker() for line in ax.get_lines()[1:]]
    assert len(set(markers)) == 2
    # a week: both fall back to 1 / Tb, one point, one marker and label
    week = year / 52
    points = [operating_point(statistic, week, t) for t in TARGETS.values()]
    ((names, point, index),) = distinct_points(points)
    assert (names, index) == ("1 / month, 1 / year", 0)
    assert not point.supported
    figure = far_figure(thresholds, far(thresholds, statistic, week), points)
    _, labels = figure.axes[0].get_legend_handles_labels()
    assert labels == ["1 / month, 1 / year: FAR 52 / yr (lowest supported)"]
