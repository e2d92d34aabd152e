"""The named injection priors."""

import numpy as np
import pytest
from astropy.cosmology import Planck15
from scipy import stats

from aframe_contracts.errors import DataError
from aframe_priors import priors


@pytest.mark.parametrize("name", list(priors.PRIORS))
def test_draws(name):
    draws = priors.sample(name, 4000, seed=5)
    assert np.all(draws["mass_2_source"] <= draws["mass_1_source"])
    z = draws["redshift"]
    np.testing.assert_allclose(
        draws["mass_1"], draws["mass_1_source"] * (1 + z)
    )
    np.testing.assert_allclose(
        draws["luminosity_distance"], Planck15.luminosity_distance(z).value
    )
    # redshifts follow dVc/dz / (1 + z), the sensitive-volume measure
    z_max = priors.get_prior(name)["redshift"].maximum
    grid = np.linspace(0, z_max, 2001)
    density = Planck15.differential_comoving_volume(grid).value / (1 + grid)
    cdf = np.cumsum(density)
    cdf /= cdf[-1]
    result = stats.kstest(z, lambda x: np.interp(x, grid, cdf))
    assert result.pvalue > 1e-3
    # the same seed gives the same draws, another seed others
    again = priors.sample(name, 10, seed=5)
    other = priors.sample(name, 10, seed=6)
    np.testing.assert_array_equal(
        again["ra"], priors.sample(name, 10, 5)["ra"]
    )
    assert not np.array_equal(again["ra"], other["ra"])


def test_mlgwsc1_ds1_is_the_challenges_detector_frame_population():
    """Datasets 1 and 2 of MLGWSC-1 draw detector-frame m1 and m2
    uniform on [10, 50] (their ds1.ini), ordered here, without spin."""
    draws = priors.sample("mlgwsc1_ds1", 4000, seed=5)
    m1, m2 = draws["mass_1"], draws["mass_2"]
    assert m1.min() >= 10 and m1.max() <= 50 and np.all(m2 <= m1)
    # the larger of two uniforms: P(m1 < x) = ((x - 10) / 40)^2
    result = stats.kstest(m1, lambda x: np.clip((x - 10) / 40, 0, 1) ** 2)
    assert result.pvalue > 1e-3
    assert np.all(draws["a_1"] == 0) and np.all(draws["a_2"] == 0)


def test_mlgwsc1_ds3_is_the_challenges_precessing_population():
    """Datasets 3 and 4 draw detector-frame m1 and m2 uniform on [7, 50]
    and isotropic spins of magnitude uniform up to 0.99 (ds3.ini)."""
    draws = priors.sample("mlgwsc1_ds3", 4000, seed=5)
    m1, m2 = draws["mass_1"], draws["mass_2"]
    assert m1.min() >= 7 and m1.max() <= 50 and np.all(m2 <= m1)
    result = stats.kstest(m1, lambda x: np.clip((x - 7) / 43, 0, 1) ** 2)
    assert result.pvalue > 1e-3
    result = stats.kstest(draws["a_1"], stats.uniform(0, 0.99).cdf)
    assert result.pvalue > 1e-3
    # isotropic: cos(tilt) uniform on [-1, 1]
    result = stats.kstest(np.cos(draws["tilt_2"]), stats.uniform(-1, 2).cdf)
    assert result.pvalue > 1e-3


def test_streams_differ():
    seeds = {
        priors.stream_seed(1, priors.TRAINING, 0),
        priors.stream_seed(1, priors.VALIDATION),
        priors.stream_seed(1, priors.TESTING, 1240583383, 1),
        priors.stream_seed(1, priors.TESTING, 1240583383, 2),
    }
    assert len(seeds) == 4


def test_unknown_prior_lists_the_known():
    with pytest.raises(DataError, match="unknown prior 'x'.*mlgwsc1_bbh"):
        priors.get_prior("x")
