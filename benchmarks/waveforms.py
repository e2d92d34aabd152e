"""Waveforms per second: ml4gw's ``polarisations`` against lalsimulation.

Draws ``--num`` parameter sets from the ``mlgwsc1_bbh`` prior and generates
their (cross, plus) polarisations, the same window in both cases, with

* ``aframe_data.waveforms.polarisations`` on the CPU, and on the GPU when
  torch sees one, in batches;
* a serial loop of ``lalsimulation.SimInspiralTD`` at the same sample
  rate, minimum and reference frequencies, each chirp put in the window
  with its coalescence ``right_pad`` before the end.

Usage::

    .venv/bin/python benchmarks/waveforms.py [--num N] \\
        [--approximant IMRPhenomPv2 IMRPhenomD TaylorF2]
"""

import argparse
import time
from collections.abc import Callable
from unittest import mock

import lal
import lalsimulation
import numpy as np
import torch
from lalsimulation import (
    SimInspiralTransformPrecessingNewInitialConditions as lalsim_spins,
)

from aframe_data import waveforms
from aframe_data.priors import sample


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

    Precessing spins go through lalsimulation's own bilby-to-lalsim
    transform; aligned models get chi_i = a_i cos(tilt_i).
    """
    count = len(parameters["mass_1"])
    size = round(duration * sample_rate)
    coalescence = size - round(right_pad * sample_rate)
    cross = np.zeros((count, size), dtype=np.float32)
    plus = np.zeros((count, size), dtype=np.float32)
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


def rate(generate: Callable[[], object], count: int, repeats: int) -> float:
    """Waveforms per second of ``generate``, the best of ``repeats`` runs.

    The best run is the one least disturbed by the rest of the machine.
    """
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        generate()
        best = min(best, time.perf_counter() - start)
    return count / best


def benchmark(approximant, parameters, settings, devices, args) -> None:
    """Print the rates of ml4gw on each device and of lalsimulation."""
    print(approximant)

    def ml4gw(count=args.num):
        subset = {key: value[:count] for key, value in parameters.items()}
        return waveforms.polarisations(
            subset, approximant, *settings, batch_size=args.batch_size
        )

    rates = {}
    for name, label in devices:
        # polarisations picks the GPU whenever one is visible
        on = torch.device(name)
        with mock.patch.object(waveforms, "device", return_value=on):
            # the first call pays for lazy imports, allocations and (on a
            # GPU) the CUDA context: keep it out of the timing
            ml4gw(count=min(args.num, 2))
            rates[name] = rate(ml4gw, args.num, args.repeats)
        print(f"  ml4gw {name} ({label}): {rates[name]:10.1f} waveforms/s")

    def reference():
        return lalsim_polarisations(parameters, approximant, *settings)

    serial = rate(reference, args.num, args.repeats)
    print(f"  lalsimulation (serial): {serial:10.1f} waveforms/s")
    for name, value in rates.items():
        print(f"  ml4gw {name} / lalsimulation: {value / serial:10.2f}")


def parse_args(argv=None) -> argparse.Namespace:
    """The command line; ``argv`` defaults to ``sys.argv[1:]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--num", type=int, default=512, help="parameter sets to generate"
    )
    parser.add_argument(
        "--approximant",
        nargs="+",
        default=list(waveforms.APPROXIMANTS),
        choices=list(waveforms.APPROXIMANTS),
    )
    parser.add_argument("--prior", default="mlgwsc1_bbh")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample-rate", type=float, default=2048)
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--minimum-frequency", type=float, default=20)
    parser.add_argument("--reference-frequency", type=float, default=50)
    parser.add_argument("--right-pad", type=float, default=0.5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="time each generator this many times and keep the best",
    )
    return parser.parse_args(argv)


def main(argv=None) -> None:
    """Draw the parameters once and benchmark each approximant on them."""
    args = parse_args(argv)
    parameters = sample(args.prior, args.num, args.seed)
    settings = (
        args.sample_rate,
        args.duration,
        args.minimum_frequency,
        args.reference_frequency,
        args.right_pad,
    )
    devices = [("cpu", f"{torch.get_num_threads()} threads")]
    if torch.cuda.is_available():
        devices.append(("cuda", torch.cuda.get_device_name()))
    print(
        f"{args.num} draws from {args.prior} (seed {args.seed}): "
        f"{args.duration:g} s at {args.sample_rate:g} Hz from "
        f"{args.minimum_frequency:g} Hz, f_ref {args.reference_frequency:g}"
        f" Hz, batches of {args.batch_size}"
    )
    for approximant in args.approximant:
        benchmark(approximant, parameters, settings, devices, args)


if __name__ == "__main__":
    main()
