"""The p_astro model of a search, fitted to its offline events.

``fit_p_astro`` (``aframe-plots p-astro``) weights the injection draws to
an astrophysical population, scales them to a merger rate, fits the
background's and the foreground's rate densities of the statistic
(``aframe_pastro``), checks the fit on held-out halves, and writes the
model (``aframe_contracts.pastro``) that the report and the online search
read.
"""

import dataclasses
import logging
from pathlib import Path

import numpy as np

from aframe_contracts.errors import DataError
from aframe_contracts.events import BackgroundEvents, background_years
from aframe_contracts.files import check_output
from aframe_contracts.rates import GWTC3_BBH_RATE
from aframe_pastro.errors import PAstroError
from aframe_pastro.model import PAstro, calibrate, fit
from aframe_plots.errors import PlotsError
from aframe_plots.io import read_draws
from aframe_plots.volume import (
    astrophysical_volume,
    importance_weights,
    sampling_density,
)
from aframe_priors.priors import get_prior

logger = logging.getLogger("aframe_plots")

# the populations the injections can be weighted to, by name: "prior",
# the injection prior's own masses (weights 1)
POPULATIONS = ("prior",)


def population_weights(name: str, draws, prior) -> np.ndarray:
    """Every draw's weight to the population ``name``.

    Raises:
        PlotsError: an unknown population.
    """
    if name not in POPULATIONS:
        raise PlotsError(
            f"unknown population {name!r}: choose one of "
            f"{', '.join(POPULATIONS)}"
        )
    sampling = sampling_density(prior)
    return importance_weights(
        sampling, sampling, draws.mass_1_source, draws.mass_2_source
    )


def fit_p_astro(
    background: Path,
    foreground: Path,
    output: Path,
    rate: float = GWTC3_BBH_RATE,
    population: str = "prior",
    force: bool = False,
) -> Path:
    """Fit p_astro to the offline events and write its model.

    Args:
        background: the time-slid background events
            (``background-events``).
        foreground: the injection draws (``foreground-events``).
        output: the model file to write (``p-astro-model``).
        rate: the astrophysical BBH merger rate density (Gpc^-3 yr^-1);
            the default, GWTC3_BBH_RATE, is the geometric mean of GWTC-3's
            17.9-44 at z = 0.2.
        population: the source-frame mass population the injections are
            weighted to: ``prior``, the injection prior's.
        force: replace an existing model.

    Returns:
        the model's path.

    Raises:
        ContractError: an input is missing or of another layout.
        PlotsError, PAstroError: bad input, naming it.
    """
    if not (np.isfinite(rate) and rate >= 0):
        raise PlotsError(
            f"rate = {rate} Gpc^-3 yr^-1: it must not be negative"
        )
    try:
        check_output(output, [background, foreground], force)
    except DataError as error:
        raise PlotsError(str(error)) from None
    events = BackgroundEvents.read(background)
    draws = read_draws(foreground)
    try:
        prior = get_prior(draws.prior)
    except DataError as error:
        raise PlotsError(f"{foreground}: {error}") from None
    weights = population_weights(population, draws, prior)
    v0 = astrophysical_volume(prior)
    inputs = (
        events.statistic,
        background_years(events.Tb),
        draws.statistic,
        weights,
        rate * v0,
    )
    model = fit(
        *inputs,
        rate=rate,
        population=population,
        attrs={"V0": v0, "prior": draws.prior},
    )
    attrs = dict(model.attrs)
    try:
        calibration = calibrate(*inputs)
    except PAstroError as error:
        # a background too small to halve still gets its model
        logger.warning("no calibration check: %s", error)
        attrs["calibration_message"] = f"a half cannot be fitted: {error}"
        calibration = None
    # every offline event gets its p_astro; an injection that found
    # nothing has none to speak of
    p_astro = PAstro(model)
    analysed = draws.statistic[: draws.num_analysed]
    found = np.isfinite(analysed)
    injections = np.zeros(analysed.size)
    injections[found] = p_astro(analysed[found])
    model = dataclasses.replace(
        model,
        attrs=attrs,
        calibration=calibration,
        events={
            "background": p_astro(events.statistic),
            "injections": injections,
        },
    )
    model.write(output)
    logger.info(
        "p_astro at R = %g Gpc^-3 yr^-1 (%.4g mergers per year in V0 = "
        "%.4g Gpc^3): wrote %s",
        rate,
        rate * v0,
        v0,
        output,
    )
    return Path(output)
