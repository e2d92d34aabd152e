"""lalsimulation's time-domain waveforms, laid out like ours: the reference.

The tests check ``aframe_data.waveforms.polarisations`` against these, and
benchmarks/waveforms.py times both.  Needs lalsuite (the dev extra).
"""

import lal
import lalsimulation
import numpy as np
from lalsimulation import (
    SimInspiralTransformPrecessingNewInitialConditions as lalsim_spins,
)

from aframe_data import waveforms


def lalsim_polarisations(
    parameters: dict[str, np.ndarray],
    approximant: str,
    sample_rate: float,
    duration: float,
    minimum_frequency: float,
    reference_frequency: float,
    right_pad: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(cross, plus) as ``polarisations`` returns them, one call a draw.

    lalsimulation's ``t = 0`` is put ``right_pad`` seconds before the end
    of the window, where ``polarisations`` puts the coalescence; samples
    outside the window are dropped.  Float64.

    Precessing spins go through lalsimulation's own bilby-to-lalsim
    transform; aligned models get chi_i = a_i cos(tilt_i).
    """
    count = len(parameters["mass_1"])
    size = round(duration * sample_rate)
    coalescence = size - round(right_pad * sample_rate)
    cross = np.zeros((count, size), dtype=np.float64)
    plus = np.zeros((count, size), dtype=np.float64)
    code = lalsimulation.GetApproximantFromString(approximant)
    precessing = waveforms.APPROXIMANTS[approximant]
    for i in range(count):
        p = {key: float(value[i]) for key, value in parameters.items()}
        mass_1 = p["mass_1"] * lal.MSUN_SI
        mass_2 = p["mass_2"] * lal.MSUN_SI
        if precessing:
            inclination, *spins = lalsim_spins(
                p["theta_jn"],
                p["phi_jl"],
                p["tilt_1"],
                p["tilt_2"],
                p["phi_12"],
                p["a_1"],
                p["a_2"],
                mass_1,
                mass_2,
                reference_frequency,
                p["phase"],
            )
        else:
            inclination = p["theta_jn"]
            spins = (
                0.0,
                0.0,
                p["a_1"] * np.cos(p["tilt_1"]),
                0.0,
                0.0,
                p["a_2"] * np.cos(p["tilt_2"]),
            )
        hp, hc = lalsimulation.SimInspiralTD(
            mass_1,
            mass_2,
            *spins,
            p["luminosity_distance"] * 1e6 * lal.PC_SI,
            inclination,
            p["phase"],
            0.0,  # longitude of ascending nodes
            0.0,  # eccentricity
            0.0,  # mean periastron anomaly
            1 / sample_rate,
            minimum_frequency,
            reference_frequency,
            None,
            code,
        )
        # the epoch is a whole number of samples before the coalescence
        start = coalescence + round(float(hp.epoch) * sample_rate)
        first, last = max(start, 0), min(start + hp.data.length, size)
        plus[i, first:last] = hp.data.data[first - start : last - start]
        cross[i, first:last] = hc.data.data[first - start : last - start]
    return cross, plus
