"""A year of time-slid background for a template bank, at ranking cost.

Simulates ``--chunks`` chunks of ``--chunk`` seconds of coloured Gaussian
noise in H1 and L1 (aLIGO O4 high sensitivity) and analyses them as
``aframe-infer background`` does: the timeslides of ``[0, 1]`` s steps
over the chunks until they reach ``--Tb`` seconds
(``aframe.segments.timeslides``), each chunk filtered once per ifo
(``aframe_serving.timeslides.SlidBank.terms``) and every timeslide
ranked and clustered into events (``postprocess.stream_events``).  It
prints the time of each part, the statistic at a few false-alarm rates,
and the peak memory; and, for scale, the time one timeslide of a chunk
takes through the bank backend (``aframe_serving.bank``) and through the
exported files (the streaming path), with the ratios of an extra
timeslide to each, all measured in this run.

``--repository``: an exported template bank (the quickstart's
``results/model_repo``); without it, the quickstart's bank at random
(``benchmarks/inference.py``).  Usage, from the repository root::

    .venv/bin/python -m benchmarks.background \\
        [--repository DIR] [--Tb 3.15e7] [--chunks 5] [--chunk 3600]
"""

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from aframe.segments import Chunk, timeslides
from aframe_data import strain
from aframe_serving.bank import local_engine
from aframe_serving.engine import LocalEngine
from aframe_serving.postprocess import stream_events
from aframe_serving.repository import ModelRepository
from aframe_serving.timeslides import SlidBank
from benchmarks.inference import exported, save_weights

# a year
YEAR = 3.15e7
# the quickstart's windows: no moving average, one event per 8 s
INTEGRATION, CLUSTER = 0.0, 8.0


def random_bank() -> Path:
    """The quickstart's bank, its ranking at random, exported."""
    work = Path(tempfile.mkdtemp(prefix="aframe-background-"))
    return exported(save_weights(work, "bank", None), work / "repo")


def one_timeslide(repository: ModelRepository, x: np.ndarray) -> dict:
    """Seconds for one timeslide of a chunk through the bank backend and
    through the exported files, as a branch streams it today."""
    geometry = repository.geometry
    updates = [geometry.updates(x)]
    seconds = {}
    for name, engine in (
        ("bank backend", local_engine(repository, "bank")),
        ("streaming path", LocalEngine(repository)),
    ):
        start = time.perf_counter()
        engine.infer(updates)
        seconds[name] = time.perf_counter() - start
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repository", type=Path)
    parser.add_argument("--Tb", type=float, default=YEAR)
    parser.add_argument("--chunks", type=int, default=5)
    parser.add_argument("--chunk", type=float, default=3600.0)
    parser.add_argument(
        "--compare",
        type=float,
        default=600.0,
        help="seconds of a chunk to stream through both engines for scale",
    )
    args = parser.parse_args()

    model = ModelRepository.open(args.repository or random_bank())
    geometry = model.geometry
    psd_length = geometry.psd_length
    chunks = [Chunk(i * args.chunk, args.chunk) for i in range(args.chunks)]
    slides = timeslides(chunks, args.Tb, [0, 1], psd_length)
    slid = SlidBank(local_engine(model, "bank"))
    seconds = dict.fromkeys(
        ["simulate", "filter", "timeslides", "events"], 0.0
    )
    background, statistics, largest = 0.0, [], 0
    start_all = time.perf_counter()
    for index, chunk in enumerate(chunks):
        shifts = [list(b.shifts) for b in slides if b.chunk == index]
        if not shifts:
            break
        start = time.perf_counter()
        noise = strain.simulated(
            model.ifos,
            chunk.start,
            chunk.duration,
            geometry.sample_rate,
            "aLIGO_O4_high",
            seed=index,
        )
        x = np.stack([noise[ifo] for ifo in model.ifos])
        seconds["simulate"] += time.perf_counter() - start
        if index == 0:
            size = round(args.compare * geometry.sample_rate)
            scale = one_timeslide(model, x[:, :size])
        start = time.perf_counter()
        terms = slid.terms(x)
        seconds["filter"] += time.perf_counter() - start
        largest = max(largest, terms.nbytes)
        start = time.perf_counter()
        slid_outputs = slid.slides(terms, shifts)
        seconds["timeslides"] += time.perf_counter() - start
        for outputs in slid_outputs:
            start = time.perf_counter()
            stat, _ = stream_events(
                outputs, 0.0, geometry, INTEGRATION, CLUSTER
            )
            seconds["events"] += time.perf_counter() - start
            statistics.append(stat)
            background += geometry.duration(len(outputs))
        elapsed = time.perf_counter() - start_all
        print(
            f"chunk {index}: {len(shifts)} timeslides, background "
            f"{background:.3g} s after {elapsed:.0f} s",
            flush=True,
        )
        del terms, x, noise

    memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    total = sum(seconds.values())
    print(
        f"\n{index + 1} chunks of {args.chunk:.0f} s, {len(statistics)} "
        f"timeslides, Tb {background:.3g} s ({background / YEAR:.2f} yr), "
        f"torch threads {torch.get_num_threads()}"
    )
    for name, value in seconds.items():
        print(f"{name:<12}{value:>10.1f} s")
    print(f"{'total':<12}{total:>10.1f} s")
    print(
        f"peak memory {memory:.2f} GB (resident), of which one chunk's lag "
        f"terms {largest / 1024**3:.2f} GB"
    )
    statistic = np.sort(np.concatenate(statistics))[::-1]
    print(
        f"FAR 1 / Tb ({YEAR / background:.3g} / yr): the loudest event, "
        f"statistic {statistic[0]:.3f}"
    )
    for name, far in (("day", 86400), ("month", 30 * 86400), ("year", YEAR)):
        rank = int(background / far)
        if rank >= 1:
            print(
                f"FAR 1 / {name}: statistic >= {statistic[rank - 1]:.3f} "
                f"({rank} background events above it)"
            )

    # per second of chunk and timeslide: a full pass of each engine
    # against the shared filtering and an extra timeslide
    per_second = {k: v / args.compare for k, v in scale.items()}
    analysed = background
    extra = seconds["timeslides"] / analysed
    rows = {
        "streaming path, a timeslide": per_second["streaming path"],
        "bank backend, a timeslide": per_second["bank backend"],
        "lag terms, once per chunk": seconds["filter"]
        / ((index + 1) * args.chunk),
        "an extra timeslide": extra,
        "its events": seconds["events"] / analysed,
    }
    print(f"\n{'per second of background':<34}{'ms':>8}{'/ extra':>10}")
    for name, value in rows.items():
        print(f"{name:<34}{1e3 * value:>8.3f}{value / extra:>10.1f}")


if __name__ == "__main__":
    main()
