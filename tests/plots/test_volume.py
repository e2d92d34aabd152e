"""Importance reweighting, V0 and the sensitive volume, against known
answers."""

import astropy.units as u
import h5py
import numpy as np
import pytest
from astropy.constants import c
from astropy.cosmology import Planck15, z_at_value
from bilby.gw.prior import UniformComovingVolume
from scipy.integrate import quad

from aframe_plots.errors import PlotsError
from aframe_plots.report import make_report
from aframe_plots.volume import (
    LogNormalPopulation,
    astrophysical_volume,
    importance_weights,
    sampling_density,
    sensitive_distance,
    sensitive_volume,
)
from aframe_priors.priors import get_prior, sample

SIGMA = 0.1


@pytest.fixture(scope="module")
def end_o3_draws():
    """60000 seeded draws of the end_o3_ratesandpops prior."""
    return sample("end_o3_ratesandpops", 60_000, 7)


def test_end_o3_density_is_the_joint_of_the_conditional_prior():
    m1 = np.array([30.0, 30.0, 6.0, 99.0, 20.0, 4.0])
    m2 = np.array([20.0, 31.0, 5.5, 50.0, 4.9, 4.5])
    density = sampling_density(get_prior("end_o3_ratesandpops"))(m1, m2)
    # m1 ~ m1^-2.35 on [5, 100], m2 | m1 ~ m2 on [5, m1]
    p_m1 = 1.35 / (5**-1.35 - 100**-1.35) * m1**-2.35
    p_m2 = 2 * m2 / (m1**2 - 25)
    inside = (5 <= m2) & (m2 <= m1) & (m1 <= 100)
    np.testing.assert_allclose(density, np.where(inside, p_m1 * p_m2, 0))


def test_sampling_prior_as_target_gives_unit_weights(end_o3_draws):
    m1, m2 = end_o3_draws["mass_1_source"], end_o3_draws["mass_2_source"]
    density = sampling_density(get_prior("end_o3_ratesandpops"))
    weights = importance_weights(density, density, m1, m2)
    np.testing.assert_array_equal(weights, 1.0)


@pytest.mark.parametrize("combo", [(35.0, 35.0), (35.0, 20.0)])
def test_log_normal_population_is_normalised_on_m2_below_m1(combo):
    population = LogNormalPopulation(*combo, SIGMA)
    steps = np.linspace(-8, 8, 1601)
    # the m2 grid is half a step off, so no point lies on m2 = m1
    ln_m1 = np.log(combo[0]) + SIGMA * steps
    ln_m2 = np.log(combo[1]) + SIGMA * (steps + (steps[1] - steps[0]) / 2)
    m1, m2 = np.exp(ln_m1)[:, None], np.exp(ln_m2)[None, :]
    # dm1 dm2 = m1 m2 dln m1 dln m2
    step = (SIGMA * (steps[1] - steps[0])) ** 2
    total = np.sum(population(m1, m2) * m1 * m2) * step
    assert total == pytest.approx(1, abs=1e-4)


def test_weights_move_prior_draws_to_a_log_normal_population(end_o3_draws):
    m1, m2 = end_o3_draws["mass_1_source"], end_o3_draws["mass_2_source"]
    population = LogNormalPopulation(35, 20, SIGMA)
    sampling = sampling_density(get_prior("end_o3_ratesandpops"))
    weights = importance_weights(population, sampling, m1, m2)
    # both densities are normalised and the population lies inside the
    # sampled masses, so the weights average to 1
    spread = weights.std() / np.sqrt(weights.size)
    assert abs(weights.mean() - 1) < 4 * spread
    # the log-normal mean is the median times exp(sigma² / 2); with m1 and
    # m2 four sigma apart the m2 <= m1 cut does not move it
    for masses, median in ((m1, 35), (m2, 20)):
        mean = np.average(masses, weights=weights)
        error = np.sqrt(np.sum(weights**2 * (masses - mean) ** 2))
        error /= weights.sum()
        assert abs(mean - median * np.exp(SIGMA**2 / 2)) < 4 * error
        assert error < 0.01 * median


def test_coverage_finds_populations_outside_the_sampled_masses():
    # mlgwsc1_bbh samples masses in [10, 50]
    sampling = sampling_density(get_prior("mlgwsc1_bbh"))
    inside = LogNormalPopulation(30, 20, SIGMA).coverage(sampling)
    half = LogNormalPopulation(20, 10, SIGMA).coverage(sampling)
    assert inside > 0.999
    assert half == pytest.approx(0.5, abs=0.01)


def test_equal_weights_give_the_binomial_error():
    statistic = np.array([-np.inf] * 6 + [1.0, 2.0, 3.0, 4.0])
    volume, error = sensitive_volume(
        statistic, np.full(10, 3.0), np.array([2.0, 5.0]), v0=50.0
    )
    np.testing.assert_allclose(volume, [50 * 0.3, 0])
    np.testing.assert_allclose(error, [50 * np.sqrt(0.3 * 0.7 / 10), 0])


def test_sensitive_distance_is_the_radius_of_the_volume():
    volume = 4 / 3 * np.pi * np.array([1.0, 0.125])
    np.testing.assert_allclose(sensitive_distance(volume), [1000, 500])


def test_v0_needs_the_redshift_prior_it_normalises():
    prior = get_prior("mlgwsc1_bbh")
    # upstream drew p(z) ∝ dVc/dz but normalised with dVc/dz / (1 + z)
    prior["redshift"] = UniformComovingVolume(0, 0.8, name="redshift")
    with pytest.raises(PlotsError, match="UniformSourceFrame"):
        astrophysical_volume(prior)


def volume_to(z_max: float) -> float:
    """4π ∫_0^z_max Dc² (c / H) / (1 + z) dz (Gpc^3).

    The measure the prior draws redshifts from, written with the
    comoving distance of flat Planck15 rather than astropy's
    differential comoving volume.
    """

    def element(z):
        hubble = (c / Planck15.H(z)).to_value("Gpc")
        distance = Planck15.comoving_distance(z).to_value("Gpc")
        return distance**2 * hubble / (1 + z)

    return 4 * np.pi * quad(element, 0, z_max)[0]


def test_found_within_a_distance_gives_the_volume_within_it(files, tmp_path):
    """Draws within 2 Gpc luminosity distance are found at every
    threshold, the rest never; rejected draws (low SNR) are part of the
    denominator.  Masses do not decide finding, so every population has
    the same volume."""
    background, foreground = files
    make_report(
        background,
        foreground,
        tmp_path / "out",
        mass_combos=[[30.0, 20.0], [25.0, 15.0]],
    )
    z_found = z_at_value(Planck15.luminosity_distance, 2 * u.Gpc).value
    expected = volume_to(z_found)
    with h5py.File(tmp_path / "out" / "sensitive_volume.h5") as f:
        # mlgwsc1_bbh draws redshifts up to 0.8
        assert f.attrs["V0"] == pytest.approx(volume_to(0.8), rel=1e-6)
        for name in ("prior", "30-20", "25-15"):
            volume, error = f[name]["sv"][()], f[name]["err"][()]
            assert volume.size == 200
            assert np.all(np.abs(volume - expected) < 3 * error)
            assert np.all(error < 0.06 * expected)


def test_a_constrained_prior_has_one_density_whatever_bilbys_state():
    """bilby estimates mlgwsc1_bbh's m2 <= m1 normalisation by sampling
    from its global generator: 2.0, or 1.99 for some states (the
    seeds below), which changed the report's volumes in their last
    digits from run to run.  The estimate is now seeded, and bilby's
    generator is left as it was."""
    from bilby.core.utils import random

    values = set()
    for seed in (126, 1, 138, 2):
        random.seed(seed)
        state = random.rng.bit_generator.state
        density = sampling_density(get_prior("mlgwsc1_bbh"))
        values.add(float(density(np.array([30.0]), np.array([20.0]))[0]))
        assert random.rng.bit_generator.state == state
    assert len(values) == 1
