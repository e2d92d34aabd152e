"""Segment lists and time-slide bookkeeping (standard library only).

The branch maps of the data and inference workflows are computed from the
segment lists here, so ``law --print-status`` needs nothing heavier.
Times are GPS seconds.
"""

import itertools
import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from aframe_contracts.detectors import timeslide_shifts
from aframe_contracts.segments import Segment, injection_room


class Chunk(NamedTuple):
    """A piece of a segment analysed as one file."""

    start: float
    duration: float

    @property
    def stop(self) -> float:
        return self.start + self.duration


class Timeslide(NamedTuple):
    """One (chunk, time shift) branch of testing and inference."""

    chunk: int
    index: int
    shifts: tuple[float, ...]


def split_segments(
    segments: Iterable[Segment], max_duration: float
) -> list[Chunk]:
    """Split each segment into equal chunks no longer than max_duration.

    Equal chunks (rather than full chunks and a short remainder) keep every
    chunk long enough for its PSD window.  Chunk edges are whole seconds.
    """
    if max_duration <= 0:
        raise ValueError(f"max_duration must be positive, got {max_duration}")
    chunks = []
    for start, stop in segments:
        duration = stop - start
        count = math.ceil(duration / max_duration)
        edges = [start + round(i * duration / count) for i in range(count)]
        edges.append(stop)
        chunks += [Chunk(a, b - a) for a, b in itertools.pairwise(edges)]
    return chunks


def livetime(chunk: Chunk, shifts: Sequence[float], psd_length: float):
    """Analysable seconds of one chunk under one shift vector.

    The first psd_length seconds only estimate the PSD, and the largest
    shift is lost at the end of the chunk.
    """
    return max(0.0, chunk.duration - psd_length - max(shifts))


def timeslides(
    chunks: Sequence[Chunk],
    Tb: float,
    shifts: Sequence[float],
    psd_length: float,
) -> list[Timeslide]:
    """The (chunk, shift) branches whose livetime sums to at least Tb.

    Timeslide k shifts each ifo by k times its entry in shifts
    (``timeslide_shifts``), for k = 1, 2, ... (zero lag is never
    analysed, so the search stays blind).
    Raises ValueError when the chunks cannot supply Tb.
    """
    if Tb <= 0:
        return []
    if not any(shifts):
        raise ValueError(f"shifts must contain a non-zero step: {shifts}")
    branches = []
    total = 0.0
    index = 0
    while total < Tb:
        index += 1
        vector = timeslide_shifts(index, shifts)
        found = False
        for i, chunk in enumerate(chunks):
            seconds = livetime(chunk, vector, psd_length)
            if seconds > 0:
                branches.append(Timeslide(i, index, vector))
                total += seconds
                found = True
        if not found:
            raise ValueError(
                f"the test data supply only {total:.0f} s of time-slid "
                f"background (timeslides up to {index - 1} with shift steps "
                f"{list(shifts)} s and a {psd_length} s PSD window), less "
                f"than Tb = {Tb:.0f} s: lower Tb or add test data"
            )
    return branches


def injection_timeslides(
    branches: Sequence[Timeslide],
    chunks: Sequence[Chunk],
    num_injections: int,
    spacing: float,
    buffer: float,
    psd_length: float,
) -> list[tuple[Timeslide, int]]:
    """The timeslides that carry the injections, each with its count:
    the first of ``branches`` (the background's, in order) that hold
    ``num_injections``, one per ``spacing`` s (and the jitter) of their
    analysable time less ``buffer`` s at each end, shared in proportion
    to their room.  As upstream's ``get_num_shifts_from_num_signals``:
    the injections need not span the whole background, whose every
    timeslide would otherwise be streamed again with them.

    All of them when even all cannot hold the injections: each then
    places what fits (``aframe_signal.placement``).
    """
    rooms = []
    for branch in branches:
        seconds = livetime(chunks[branch.chunk], branch.shifts, psd_length)
        rooms.append(injection_room(seconds - 2 * buffer, spacing))
        if sum(rooms) >= num_injections:
            break
    chosen = branches[: len(rooms)]
    return list(zip(chosen, shares(rooms, num_injections), strict=True))


def shares(weights: Sequence[float], total: int) -> list[int]:
    """Split ``total`` in proportion to ``weights``, summing exactly.

    Largest-remainder rounding: each share is its proportional part rounded
    down, and the leftover units go to the largest remainders.
    """
    weight = sum(weights)
    if total <= 0 or weight <= 0:
        return [0] * len(weights)
    exact = [total * w / weight for w in weights]
    counts = [math.floor(x) for x in exact]
    leftover = total - sum(counts)
    order = sorted(range(len(exact)), key=lambda i: counts[i] - exact[i])
    for i in order[:leftover]:
        counts[i] += 1
    return counts
