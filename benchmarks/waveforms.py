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

import torch
from lalsim_reference import lalsim_polarisations

from aframe_data import waveforms
from aframe_priors.priors import sample


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
