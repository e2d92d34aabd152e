"""Sensitive volume by importance reweighting of the injection draws.

Every draw i of the sampling prior, injected or rejected, is weighted to
a target population by its source-frame masses:

    w_i = p_target(m1_i, m2_i) / p_sample(m1_i, m2_i).

The target populations take every other parameter from the sampling
prior (the redshift, p(z) ∝ dVc/dz / (1 + z) up to the prior's z_max, the
spins, the sky position and the orientation), so those densities are the
same in both and cancel in the ratio.  The sensitive volume at a
threshold is the self-normalised importance-sampling estimate

    V(thr) = V0 Σ w_i f_i / Σ w_i,    f_i = [statistic_i >= thr],

rejected draws never being found, where

    V0 = Ω ∫_{z_min}^{z_max} dVc/dz / (1 + z) dz

is the volume that p(z) is normalised over (Ω the prior's sky solid
angle, 4π), so that the rate of detections is R V for a source-frame
merger rate density R.  Its error is the delta-method standard error of
the ratio,

    δV = V0 sqrt(Σ w_i² (f_i - μ)²) / Σ w_i,    μ = Σ w_i f_i / Σ w_i,

which for equal weights is the binomial V0 sqrt(μ (1 - μ) / N).
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from bilby.core.prior import Cosine, PriorDict, Uniform
from bilby.core.utils import random as bilby_random
from bilby.gw.prior import UniformSourceFrame
from scipy import stats
from scipy.integrate import quad

from aframe_plots.errors import PlotsError

MASSES = ("mass_1_source", "mass_2_source")
# seeds bilby's estimate of a constrained prior's normalisation
NORMALISATION_SEED = 20190401

# p(m1, m2) of source-frame masses (solar masses), per solar mass squared
MassDensity = Callable[[np.ndarray, np.ndarray], np.ndarray]


def sampling_density(prior: PriorDict) -> MassDensity:
    """The sampling prior's joint density of the source-frame masses.

    bilby evaluates the marginal of the two masses: for a conditional
    prior (m2 | m1) the product p(m1) p(m2 | m1), for a constrained one
    (m2 <= m1) the product renormalised over the allowed region.
    """
    missing = [key for key in MASSES if key not in prior]
    if missing:
        raise PlotsError(f"the sampling prior has no {', '.join(missing)}")
    # bilby renormalises a constrained prior by a Monte Carlo estimate of
    # the allowed share, rounded to its precision: from bilby's global
    # generator, 2.0 in most runs of mlgwsc1_bbh and 1.99 in some.
    # Volumes do not depend on the constant (weights are normalised), but
    # their last digits did, from run to run: estimate it from a fixed seed
    held = bilby_random.Generator.rng
    bilby_random.seed(NORMALISATION_SEED)
    try:
        prior.normalize_constraint_factor(MASSES)
    finally:
        bilby_random.Generator.rng = held

    def density(m1: np.ndarray, m2: np.ndarray) -> np.ndarray:
        m1, m2 = np.broadcast_arrays(np.asarray(m1, float), m2)
        sample = {MASSES[0]: m1.ravel(), MASSES[1]: m2.ravel()}
        return np.asarray(prior.prob(sample, axis=0), float).reshape(m1.shape)

    return density


@dataclass(frozen=True)
class LogNormalPopulation:
    """Log-normal source-frame masses around (mass_1, mass_2), m2 <= m1.

    p(m1, m2) = LN(m1; ln mass_1, sigma) LN(m2; ln mass_2, sigma)
    [m2 <= m1] / P, where P = Φ(ln(mass_1 / mass_2) / (sigma √2)) is the
    probability of m2 <= m1 without the restriction (ln m1 - ln m2 is
    normal, of mean ln(mass_1 / mass_2) and width sigma √2).

    Args:
        mass_1: median primary mass (solar masses).
        mass_2: median secondary mass (solar masses), <= mass_1.
        sigma: width of ln m.
    """

    mass_1: float
    mass_2: float
    sigma: float

    @property
    def name(self) -> str:
        return f"{self.mass_1:g}-{self.mass_2:g}"

    def __call__(self, m1: np.ndarray, m2: np.ndarray) -> np.ndarray:
        m1, m2 = np.asarray(m1, float), np.asarray(m2, float)
        ordered = stats.norm.cdf(
            np.log(self.mass_1 / self.mass_2) / (self.sigma * np.sqrt(2))
        )
        p = stats.lognorm.pdf(m1, self.sigma, scale=self.mass_1)
        p = p * stats.lognorm.pdf(m2, self.sigma, scale=self.mass_2)
        return np.where(m2 <= m1, p, 0.0) / ordered

    def coverage(self, sampling: MassDensity, points: int = 401) -> float:
        """The fraction of the population inside the sampled mass region.

        Integrated on a grid of ln m1, ln m2 over ±7 sigma; the rest of
        the population has no draws, so its reweighted volume leaves it
        out.
        """
        steps = np.linspace(-7, 7, points)
        # the m2 grid sits half a step off the m1 grid, so that for equal
        # masses no grid point lies on the edge m2 = m1, where a sampling
        # prior may be zero although the region around it is sampled
        offset = steps + (steps[1] - steps[0]) / 2
        ln_m1 = np.log(self.mass_1) + self.sigma * steps[:, None]
        ln_m2 = np.log(self.mass_2) + self.sigma * offset[None, :]
        mass = stats.norm.pdf(steps[:, None]) * stats.norm.pdf(offset)
        mass = np.where(ln_m2 <= ln_m1, mass, 0.0)
        inside = sampling(np.exp(ln_m1), np.exp(ln_m2)) > 0
        return float(mass[inside].sum() / mass.sum())


def importance_weights(
    target: MassDensity,
    sampling: MassDensity,
    m1: np.ndarray,
    m2: np.ndarray,
) -> np.ndarray:
    """w_i = p_target / p_sample at each draw's masses; 0 outside the
    sampled region.

    Args:
        target: the target population's mass density.
        sampling: the sampling prior's mass density.
        m1: source-frame primary masses (solar masses), (N,).
        m2: source-frame secondary masses (solar masses), (N,).
    """
    p_sample = sampling(m1, m2)
    weights = np.zeros(p_sample.shape)
    inside = p_sample > 0
    weights[inside] = target(m1[inside], m2[inside]) / p_sample[inside]
    return weights


def effective_draws(weights: np.ndarray) -> float:
    """Kish's effective sample size (Σ w)² / Σ w² of the weights."""
    squares = np.sum(weights**2)
    return float(np.sum(weights) ** 2 / squares) if squares > 0 else 0.0


def astrophysical_volume(prior: PriorDict) -> float:
    """V0 = Ω ∫ dVc/dz / (1 + z) dz over the prior's redshifts (Gpc^3).

    Raises:
        PlotsError: the prior's redshift is not drawn from dVc/dz / (1 + z)
            (bilby's UniformSourceFrame) or its sky is not isotropic, so
            V0 would not be its normalisation.
    """
    missing = [key for key in ("redshift", "ra", "dec") if key not in prior]
    if missing:
        raise PlotsError(f"the sampling prior has no {', '.join(missing)}")
    redshift, ra, dec = prior["redshift"], prior["ra"], prior["dec"]
    if not isinstance(redshift, UniformSourceFrame):
        raise PlotsError(
            f"the sampling prior draws redshifts from {redshift!r}, not "
            "UniformSourceFrame: V0 integrates dVc/dz / (1 + z)"
        )
    if not (isinstance(ra, Uniform) and isinstance(dec, Cosine)):
        raise PlotsError("the sampling prior's sky is not isotropic")
    cosmology = redshift.cosmology

    def element(z: float) -> float:
        volume = cosmology.differential_comoving_volume(z)
        return volume.to_value("Gpc3 / sr") / (1 + z)

    integral, _ = quad(
        element, redshift.minimum, redshift.maximum, epsrel=1e-10
    )
    solid_angle = (ra.maximum - ra.minimum) * (
        np.sin(dec.maximum) - np.sin(dec.minimum)
    )
    return solid_angle * integral


def sensitive_volume(
    statistic: np.ndarray,
    weights: np.ndarray,
    thresholds: np.ndarray,
    v0: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The sensitive volume and its error at each threshold (Gpc^3).

    Args:
        statistic: every draw's detection statistic, -inf where not
            found, (N,).
        weights: every draw's importance weight, (N,).
        thresholds: detection-statistic thresholds, (T,).
        v0: the prior's volume V0 (Gpc^3).

    Returns:
        V and δV, each (T,).
    """
    order = np.argsort(statistic, kind="stable")
    ordered, w = statistic[order], weights[order]
    total = w.sum()
    if not total > 0:
        raise PlotsError("no draw has weight in this population")
    # sums of w and w² over the draws below (head) and at or above (tail)
    # each cut, each summed on its own so no difference can go negative
    head = [np.concatenate([[0.0], np.cumsum(x)]) for x in (w, w**2)]
    tail = [
        np.concatenate([np.cumsum(x[::-1])[::-1], [0.0]]) for x in (w, w**2)
    ]
    cut = np.searchsorted(ordered, thresholds, side="left")
    mu = tail[0][cut] / total
    variance = tail[1][cut] * (1 - mu) ** 2 + head[1][cut] * mu**2
    return v0 * mu, v0 * np.sqrt(variance) / total


def sensitive_distance(volume: np.ndarray) -> np.ndarray:
    """The radius (Mpc) of a sphere of ``volume`` (Gpc^3)."""
    return 1e3 * np.cbrt(3 * np.asarray(volume) / (4 * np.pi))


@dataclass
class Population:
    """A target population and what its reweighting gives.

    Args:
        name: ``"<m1>-<m2>"`` or ``"prior"``.
        coverage: fraction of its probability in the sampled masses.
        message: why it has no volume, or None.
        effective_draws: Kish's effective number of weighted draws.
        volume: V and δV (Gpc^3) at each threshold of the curve, (T,).
        at_points: (V, δV) (Gpc^3) at each operating point.
    """

    name: str
    coverage: float
    message: str | None = None
    effective_draws: float = 0.0
    volume: tuple[np.ndarray, np.ndarray] | None = None
    at_points: list[tuple[float, float]] | None = None
