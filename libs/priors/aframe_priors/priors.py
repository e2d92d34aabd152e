"""Named injection priors (bilby), in the source frame.

Every prior draws source-frame component masses, a redshift, spin
magnitudes and angles, and the extrinsic angles.  Redshifts are uniform in
source-frame time and comoving volume, p(z) ∝ dVc/dz / (1 + z), the same
measure the sensitive-volume normalisation integrates (upstream drew
p(z) ∝ dVc/dz but normalised with the 1/(1 + z) factor).

    sample(name, n, seed) -> dict of arrays

adds the detector-frame masses and the luminosity distance (Planck15).
"""

from collections.abc import Callable

import numpy as np
from bilby.core.prior import (
    ConditionalPowerLaw,
    ConditionalPriorDict,
    Constraint,
    Cosine,
    DeltaFunction,
    PowerLaw,
    PriorDict,
    Sine,
    Uniform,
)
from bilby.gw.prior import UniformSourceFrame

from aframe_contracts.errors import DataError

COSMOLOGY = "Planck15"


def _extrinsic(prior: PriorDict) -> PriorDict:
    prior["dec"] = Cosine(name="dec")
    prior["ra"] = Uniform(0, 2 * np.pi, name="ra", boundary="periodic")
    prior["psi"] = Uniform(0, np.pi, name="psi", boundary="periodic")
    prior["theta_jn"] = Sine(name="theta_jn")
    prior["phase"] = Uniform(0, 2 * np.pi, name="phase", boundary="periodic")
    return prior


def _spins(prior: PriorDict, a_max: float) -> PriorDict:
    for i in (1, 2):
        prior[f"a_{i}"] = (
            Uniform(0, a_max, name=f"a_{i}")
            if a_max
            else DeltaFunction(0.0, name=f"a_{i}")
        )
        prior[f"tilt_{i}"] = Sine(name=f"tilt_{i}")
    prior["phi_12"] = Uniform(0, 2 * np.pi, name="phi_12", boundary="periodic")
    prior["phi_jl"] = Uniform(0, 2 * np.pi, name="phi_jl", boundary="periodic")
    return prior


def _redshift(z_max: float) -> UniformSourceFrame:
    return UniformSourceFrame(0, z_max, name="redshift", cosmology=COSMOLOGY)


def _secondary_below_primary(reference_params, mass_1_source):
    return {"maximum": mass_1_source}


def end_o3_ratesandpops() -> PriorDict:
    """The end-of-O3 rates-and-populations-like BBH population.

    m1 ~ m1^-2.35 on [5, 100], m2 | m1 ~ m2^1 on [5, m1], z on [0, 2],
    isotropic spins up to 0.998.
    """
    prior = ConditionalPriorDict()
    prior["mass_1_source"] = PowerLaw(-2.35, 5, 100, name="mass_1_source")
    prior["mass_2_source"] = ConditionalPowerLaw(
        condition_func=_secondary_below_primary,
        alpha=1,
        minimum=5,
        maximum=100,
        name="mass_2_source",
    )
    prior["redshift"] = _redshift(2)
    return _extrinsic(_spins(prior, 0.998))


def mlgwsc1_bbh() -> PriorDict:
    """An MLGWSC-1 (dataset 4) like population: uniform component masses.

    m1, m2 uniform on [10, 50] with m2 <= m1, z on [0, 0.8], isotropic
    spins up to 0.99.
    """
    return _extrinsic(_spins(_mlgwsc1_masses("_source"), 0.99))


def mlgwsc1_ds1() -> PriorDict:
    """MLGWSC-1 datasets 1 and 2's masses, without spins.

    m1, m2 uniform on [10, 50] in the detector frame, as the challenge
    draws them, with m2 <= m1; z on [0, 0.8] sets the distance only.
    """
    return _extrinsic(_spins(_mlgwsc1_masses(""), 0.0))


def mlgwsc1_ds3() -> PriorDict:
    """MLGWSC-1 datasets 3 and 4's masses and spins.

    m1, m2 uniform on [7, 50] in the detector frame, as the challenge
    draws them, with m2 <= m1; isotropic spins up to 0.99; z on [0, 0.8]
    sets the distance only.
    """
    return _extrinsic(_spins(_mlgwsc1_masses("", minimum=7), 0.99))


def _mlgwsc1_masses(frame: str, minimum: float = 10) -> PriorDict:
    """m1, m2 uniform on [minimum, 50] with m2 <= m1, named
    ``mass_i{frame}`` ("_source" or "" for the detector frame), and z on
    [0, 0.8]."""
    prior = PriorDict(conversion_function=_mass_ratio)
    for i in (1, 2):
        name = f"mass_{i}{frame}"
        prior[name] = Uniform(minimum, 50, name=name)
    prior["mass_ratio"] = Constraint(0, 1, name="mass_ratio")
    prior["redshift"] = _redshift(0.8)
    return prior


def _mass_ratio(parameters):
    parameters = dict(parameters)
    frame = "" if "mass_1" in parameters else "_source"
    parameters["mass_ratio"] = (
        parameters[f"mass_2{frame}"] / parameters[f"mass_1{frame}"]
    )
    return parameters


PRIORS: dict[str, Callable[[], PriorDict]] = {
    "end_o3_ratesandpops": end_o3_ratesandpops,
    "mlgwsc1_bbh": mlgwsc1_bbh,
    "mlgwsc1_ds1": mlgwsc1_ds1,
    "mlgwsc1_ds3": mlgwsc1_ds3,
}


def get_prior(name: str) -> PriorDict:
    """The prior called ``name``; an unknown name lists the known ones."""
    try:
        return PRIORS[name]()
    except KeyError:
        raise DataError(
            f"unknown prior {name!r}: choose one of {', '.join(PRIORS)}"
        ) from None


def detector_frame(parameters: dict[str, np.ndarray]) -> dict:
    """Add the masses of the other frame than the prior's, and the
    luminosity distance (Mpc)."""
    from astropy.cosmology import Planck15

    z = parameters["redshift"]
    parameters = dict(parameters)
    for i in (1, 2):
        if f"mass_{i}" in parameters:
            parameters[f"mass_{i}_source"] = parameters[f"mass_{i}"] / (1 + z)
        else:
            parameters[f"mass_{i}"] = parameters[f"mass_{i}_source"] * (1 + z)
    parameters["luminosity_distance"] = Planck15.luminosity_distance(z).value
    return parameters


# the random streams of the data products: each product draws from its own
# stream of the config seed, so no two products share draws
TRAINING, VALIDATION, TESTING = 0, 1, 2


def stream_seed(seed: int, *keys: int) -> int:
    """An independent seed for the stream ``keys`` of the config seed."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0])


def sample(name: str, n: int, seed: int) -> dict[str, np.ndarray]:
    """n draws from the prior ``name``, seeded, with detector frame added."""
    from bilby.core.utils import random

    prior = get_prior(name)
    random.seed(seed)
    draws = prior.sample(n)
    draws.pop("mass_ratio", None)
    return detector_frame({k: np.asarray(v) for k, v in draws.items()})
