"""p_astro against known answers: an exponential background and a
power-law foreground of known rates, whose p_astro is analytic."""

import dataclasses

import numpy as np
import pytest
from scipy.special import logit

from aframe_contracts.errors import ContractError
from aframe_contracts.pastro import PAstroModel
from aframe_pastro.errors import PAstroError
from aframe_pastro.model import PAstro, calibrate, fit

# background: events per year per unit statistic Lb 3 exp(-3 x), x >= 0;
# foreground: Lf 3 x^-4, x >= 1 (a Pareto of index 3); Lb is set so that
# the two rate densities cross at CROSSING
SLOPE, FOREGROUND_RATE, CROSSING = 3.0, 10.0, 3.0
BACKGROUND_RATE = FOREGROUND_RATE * CROSSING**-4 / np.exp(-SLOPE * CROSSING)
NUM_BACKGROUND, NUM_FOUND, NUM_MISSED = 1_000_000, 100_000, 100_000


def true_p_astro(x: np.ndarray) -> np.ndarray:
    foreground = FOREGROUND_RATE * 3 * x**-4
    background = BACKGROUND_RATE * SLOPE * np.exp(-SLOPE * x)
    return foreground / (foreground + background)


def synthetic(seed: int = 0):
    """(background, its years, injections (-inf: missed), weights,
    mergers per year): half the draws are found, so the mergers per year
    are twice the found rate."""
    rng = np.random.default_rng(seed)
    background = rng.exponential(1 / SLOPE, NUM_BACKGROUND)
    found = (1 - rng.random(NUM_FOUND)) ** (-1 / 3)
    injections = np.concatenate([found, np.full(NUM_MISSED, -np.inf)])
    years = NUM_BACKGROUND / BACKGROUND_RATE
    weights = np.ones(injections.size)
    return background, years, injections, weights, 2 * FOREGROUND_RATE


@pytest.fixture(scope="module")
def model() -> PAstroModel:
    return fit(*synthetic(), rate=1.0, population="test")


def test_p_astro_is_the_analytic_value(model):
    """Within 0.3 in log-odds (a rate ratio off by 35%) where both sets
    have data: a rate or a time off by a factor of 2 is 0.69."""
    x = np.linspace(2, 4.5, 11)
    error = PAstro(model).log_odds(x) - logit(true_p_astro(x))
    assert np.abs(error).max() < 0.3, error


def test_half_where_the_rates_cross(model):
    p_astro = PAstro(model)
    assert abs(p_astro(CROSSING) - 0.5) < 0.05
    x = np.linspace(2, 4, 2001)
    crossing = x[np.searchsorted(p_astro(x), 0.5)]
    assert abs(crossing - CROSSING) < 0.1


def test_monotonic_from_below_the_data_to_beyond_it(model):
    p_astro = PAstro(model)
    x = np.linspace(-5, 60, 20001)
    p = p_astro(x)
    assert (np.diff(p) >= 0).all()
    assert p[0] == 0.0
    assert p_astro(60.0) > 1 - 1e-9
    assert isinstance(p_astro(3.0), float)


def test_the_rate_scales_the_odds():
    """Twice the astrophysical rate is twice the odds, everywhere the
    foreground has a density."""
    background, years, injections, weights, mergers = synthetic(1)
    once = PAstro(fit(background, years, injections, weights, mergers, 1, ""))
    twice = PAstro(
        fit(background, years, injections, weights, 2 * mergers, 2, "")
    )
    x = np.linspace(1.5, 30, 50)
    difference = twice.log_odds(x) - once.log_odds(x)
    np.testing.assert_allclose(difference, np.log(2), atol=1e-9)


def test_weights_say_which_injections_count():
    """Weight 0 on every injection above 3 leaves no foreground there
    but its tail, so p_astro at 3.5 falls."""
    background, years, injections, weights, mergers = synthetic(2)
    full = PAstro(fit(background, years, injections, weights, mergers, 1, ""))
    cut = np.where(injections > 3, 0.0, weights)
    partial = PAstro(fit(background, years, injections, cut, mergers, 1, ""))
    assert partial(3.5) < full(3.5) - 0.1


def test_no_astrophysical_rate_is_no_p_astro():
    background, years, injections, weights, _ = synthetic(3)
    p_astro = PAstro(fit(background, years, injections, weights, 0, 0, ""))
    assert (p_astro(np.linspace(-1, 100, 500)) == 0).all()


def test_the_model_file_round_trips(model, tmp_path):
    path = tmp_path / "p_astro.hdf5"
    model.write(path)
    read = PAstroModel.read(path)
    x = np.linspace(-2, 40, 1000)
    np.testing.assert_array_equal(PAstro(read)(x), PAstro(model)(x))
    assert read.population == "test" and read.rate == 1.0
    assert read.attrs["num_background"] == NUM_BACKGROUND
    assert read.calibration is None


def test_a_model_file_with_a_shuffled_grid_is_refused(model, tmp_path):
    path = tmp_path / "p_astro.hdf5"
    PAstroModel(
        model.statistic[::-1],
        model.background_log_density,
        model.foreground_log_density,
        1.0,
        1.0,
        1.0,
        "test",
    ).write(path)
    with pytest.raises(ContractError, match="ascending"):
        PAstroModel.read(path)


def test_the_events_p_astro_read_back_and_must_be_probabilities(
    model, tmp_path
):
    path = tmp_path / "p_astro.hdf5"
    events = {"background": np.array([0.0, 0.5]), "injections": np.ones(3)}
    dataclasses.replace(model, events=events).write(path)
    read = PAstroModel.read(path)
    assert read.events.keys() == events.keys()
    assert all(np.array_equal(read.events[k], v) for k, v in events.items())
    dataclasses.replace(model, events={"background": np.array([1.5])}).write(
        path
    )
    with pytest.raises(ContractError, match=r"events/background .* \[0, 1\]"):
        PAstroModel.read(path)


def test_calibrated_on_held_out_halves():
    """In every bin with events, the share of the rate that injections
    make is the mean p_astro, within 3 sigma and 0.05; the interval
    holds the share, and is wide where a bin holds few events."""
    calibration = calibrate(*synthetic(4))
    populated = calibration.background + calibration.injections > 0
    assert populated.sum() >= 8
    share, p = calibration.fraction[populated], calibration.p_astro[populated]
    low, high = calibration.low[populated], calibration.high[populated]
    assert np.all((low <= share) & (share <= high))
    sigma = np.where(p < share, share - low, high - share)
    gap = np.abs(share - p)
    assert (gap < 3 * sigma + 0.05).all(), (gap, sigma)
    assert calibration.background.sum() == NUM_BACKGROUND
    assert calibration.injections.sum() == NUM_FOUND


@pytest.mark.parametrize(
    "change, message",
    [
        ({"background": np.zeros(0)}, "no background events"),
        ({"mergers_per_year": -1.0}, "must not be negative"),
        ({"background_years": 0.0}, "must be positive"),
        ({"injections": np.full(4, -np.inf)}, "no injection was found"),
        ({"background": np.ones(10)}, "all 10 background events"),
    ],
)
def test_bad_input_is_one_error_naming_it(change, message):
    arguments = {
        "background": np.arange(10.0),
        "background_years": 1.0,
        "injections": np.array([3.0, 4.0, 5.0, -np.inf]),
        "weights": np.ones(4),
        "mergers_per_year": 1.0,
        "rate": 1.0,
        "population": "test",
    }
    arguments.update(change)
    with pytest.raises(PAstroError, match=message):
        fit(**arguments)


def test_a_nan_statistic_has_no_p_astro(model):
    with pytest.raises(PAstroError, match="NaN"):
        PAstro(model)(np.array([1.0, np.nan]))


def test_a_foreground_below_the_background_does_not_lift_the_rest():
    """Injections matched to quiet noise events, below the whole
    background, give Lb ~ 0 and p_astro ~ 1 there; a louder event must
    not inherit it: the monotonic fit pools that spike with the
    background's bulk, and p_astro where both have data stays
    analytic."""
    background, years, injections, weights, mergers = synthetic(5)
    quiet = np.random.default_rng(5).normal(-3, 0.05, 20_000)
    injections = np.concatenate([injections, quiet])
    weights = np.ones(injections.size)
    # the added draws carry their share of the rate: keep the found
    # power law's rate what it was
    mergers *= injections.size / (NUM_FOUND + NUM_MISSED)
    p_astro = PAstro(
        fit(background, years, injections, weights, mergers, 1, "")
    )
    assert p_astro(-3.0) <= p_astro(0.5) < 0.01
    x = np.linspace(2.5, 4.5, 9)
    error = p_astro.log_odds(x) - logit(true_p_astro(x))
    assert np.abs(error).max() < 0.3, error


def test_a_bin_without_background_is_not_certain():
    """Injections alone in a bin give a share of 1, but the interval
    reaches down to the share one background event (1 / Tb) would have
    left: Gehrels' 1.87 of them at one sigma."""
    from aframe_pastro.model import poisson_bounds

    assert poisson_bounds(0) == (0.0, pytest.approx(1.866, abs=1e-3))
    low, high = poisson_bounds(10)
    # Gehrels' table: 6.90 and 14.27 for 10 events
    assert low == pytest.approx(6.90, abs=0.1)
    assert high == pytest.approx(14.27, abs=0.05)
    background, years, injections, weights, rate = synthetic(4)
    calibration = calibrate(
        background, years / 1000, injections, weights, rate
    )
    lone = (calibration.background == 0) & (calibration.injections > 0)
    assert lone.any()
    assert np.all(calibration.fraction[lone] == 1)
    assert np.all(calibration.low[lone] < 0.9)
