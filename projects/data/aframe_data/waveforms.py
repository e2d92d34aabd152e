"""Time-domain polarisations from ml4gw's torch approximants.

``polarisations`` turns prior draws (bilby conventions, detector-frame
masses, see ``aframe_priors.priors``) into the approximant's parameters and
generates (cross, plus) in batches, on the GPU when one is visible.  The
coalescence sits ``right_pad`` seconds before the end of each waveform.
"""

import logging

import numpy as np
import torch

from aframe_contracts.errors import DataError

logger = logging.getLogger("aframe_data")

# approximant -> whether it takes precessing spins (s1x..s2z) or aligned
# ones (chi1, chi2)
APPROXIMANTS = {"IMRPhenomPv2": True, "IMRPhenomD": False, "TaylorF2": False}
# inspiral-only models, which must end at the innermost stable orbit
INSPIRALS = {"TaylorF2"}
# the GW frequency of the innermost stable circular orbit times the total
# mass: c^3 / (6^1.5 pi G Msun) (Hz Msun)
ISCO_HZ_MSUN = 4397.0


def end_at_coalescence(
    waveform: torch.Tensor,
    total_mass: torch.Tensor,
    coalescence: int,
    sample_rate: float,
) -> torch.Tensor:
    """Zero an inspiral after coalescence and taper its last ISCO cycle.

    ml4gw's frequency-domain TaylorF2 runs past the ISCO up to the Nyquist
    frequency and its time-domain conditioning tapers the end of the
    buffer, so the chirp would go on; lalsimulation ends it here.
    """
    steps = torch.arange(waveform.shape[-1], device=waveform.device)
    cycle = torch.round(sample_rate * total_mass / ISCO_HZ_MSUN).clamp(min=4)
    start = coalescence - cycle[:, None]
    ramp = ((coalescence - steps[None]) / cycle[:, None]).clamp(0, 1)
    taper = torch.where(
        steps[None] < start, 1.0, 0.5 - 0.5 * torch.cos(torch.pi * ramp)
    )
    return waveform * taper


def device() -> torch.device:
    """The first visible GPU, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def approximant(name: str) -> torch.nn.Module:
    from ml4gw.waveforms import cbc

    if name not in APPROXIMANTS:
        raise DataError(
            f"unknown waveform_approximant {name!r}: choose one of "
            f"{', '.join(APPROXIMANTS)}"
        )
    return getattr(cbc, name)()


def approximant_parameters(
    parameters: dict[str, np.ndarray],
    name: str,
    reference_frequency: float,
    on: torch.device | None = None,
) -> dict[str, torch.Tensor]:
    """bilby-convention draws as the inputs of the approximant ``name``.

    Precessing approximants get the spin vectors (and inclination) at the
    reference frequency from lalsimulation's convention; aligned ones get
    the spin components along the orbital angular momentum.  The mass
    ratio is m2/m1 <= 1, as ml4gw's phenomenological models expect.
    """
    from ml4gw.waveforms.conversion import bilby_spins_to_lalsim

    def tensor(key):
        return torch.as_tensor(
            np.asarray(parameters[key]), dtype=torch.float64, device=on
        )

    mass_1, mass_2 = tensor("mass_1"), tensor("mass_2")
    if torch.any(mass_2 > mass_1):
        raise DataError("mass_2 must not exceed mass_1")
    total = mass_1 + mass_2
    out = {
        "mass_1": mass_1,
        "mass_2": mass_2,
        "chirp_mass": (mass_1 * mass_2) ** 0.6 / total**0.2,
        "mass_ratio": mass_2 / mass_1,
        "distance": tensor("luminosity_distance"),
        "phic": tensor("phase"),
    }
    if APPROXIMANTS[name]:
        inclination, *spins = bilby_spins_to_lalsim(
            tensor("theta_jn"),
            tensor("phi_jl"),
            tensor("tilt_1"),
            tensor("tilt_2"),
            tensor("phi_12"),
            tensor("a_1"),
            tensor("a_2"),
            mass_1,
            mass_2,
            reference_frequency,
            tensor("phase"),
        )
        keys = ("s1x", "s1y", "s1z", "s2x", "s2y", "s2z")
        out.update(zip(keys, spins, strict=True))
        out["inclination"] = inclination
    else:
        chi1 = tensor("a_1") * torch.cos(tensor("tilt_1"))
        chi2 = tensor("a_2") * torch.cos(tensor("tilt_2"))
        out.update(chi1=chi1, chi2=chi2, s1z=chi1, s2z=chi2)
        out["inclination"] = tensor("theta_jn")
    return out


def polarisations(
    parameters: dict[str, np.ndarray],
    approximant_name: str,
    sample_rate: float,
    duration: float,
    minimum_frequency: float,
    reference_frequency: float,
    right_pad: float,
    batch_size: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """(cross, plus), each (N, duration * sample_rate) float32.

    Batches are generated on the GPU when one is visible.  Their runtime
    follows the longest chirp in the batch, so draws are generated in
    order of chirp mass.
    """
    from ml4gw.waveforms.generator import TimeDomainCBCWaveformGenerator

    on = device()
    generator = TimeDomainCBCWaveformGenerator(
        approximant(approximant_name).to(on),
        sample_rate=sample_rate,
        duration=duration,
        f_min=minimum_frequency,
        f_ref=reference_frequency,
        right_pad=right_pad,
    ).to(on)
    inputs = approximant_parameters(
        parameters, approximant_name, reference_frequency, on
    )
    count = inputs["mass_1"].shape[0]
    size = duration * sample_rate
    if abs(size - round(size)) > 1e-6:
        raise DataError(
            f"waveform_duration {duration} s is not a whole number of "
            f"samples at {sample_rate} Hz"
        )
    size = round(size)
    coalescence = size - round(right_pad * sample_rate)
    cross = np.zeros((count, size), dtype=np.float32)
    plus = np.zeros((count, size), dtype=np.float32)
    order = torch.argsort(inputs["chirp_mass"]).cpu()
    for first in range(0, count, batch_size):
        index = order[first : first + batch_size]
        batch = {key: value[index.to(on)] for key, value in inputs.items()}
        with torch.no_grad():
            hc, hp = generator(**batch)
        if approximant_name in INSPIRALS:
            total = batch["mass_1"] + batch["mass_2"]
            hc, hp = (
                end_at_coalescence(h, total, coalescence, sample_rate)
                for h in (hc, hp)
            )
        cross[index.numpy()] = hc.cpu().numpy()
        plus[index.numpy()] = hp.cpu().numpy()
    if not (np.isfinite(cross).all() and np.isfinite(plus).all()):
        raise DataError(
            f"{approximant_name} produced non-finite samples: check the "
            "prior's masses and spins"
        )
    return cross, plus
