"""Segment lists and time-slide bookkeeping (standard library only).

The branch maps of the data and inference workflows are computed from the
segment lists here, so ``law --print-status`` needs nothing heavier.
Times are GPS seconds.
"""

import itertools
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from aframe_contracts.files import write_atomic

Segment = tuple[float, float]


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


def write_segments(segments: Iterable[Segment], path: Path) -> None:
    """Write segments as segwizard text (``# seg start stop duration``)."""
    lines = ["# seg\tstart\tstop\tduration"]
    for i, (start, stop) in enumerate(segments):
        lines.append(f"{i}\t{start:.6f}\t{stop:.6f}\t{stop - start:.6f}")
    write_atomic(path, "\n".join(lines) + "\n")


def read_segments(path: Path) -> list[Segment]:
    """Read a segwizard file (as written by ``write_segments`` or gwpy)."""
    segments = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 4:
            raise ValueError(
                f"{path}, line {number}: expected 4 columns (seg start stop "
                f"duration), got {len(fields)}: {line!r}"
            )
        start, stop = float(fields[1]), float(fields[2])
        if stop <= start:
            raise ValueError(
                f"{path}, line {number}: segment ends before it starts"
            )
        segments.append((start, stop))
    return segments


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


def shift_vector(shifts: Sequence[float], index: int) -> tuple[float, ...]:
    """The per-ifo shifts (s) of the index-th timeslide."""
    return tuple(index * s for s in shifts)


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

    Timeslide k shifts each ifo by k times its entry in shifts, for
    k = 1, 2, ... (zero lag is never analysed, so the search stays blind).
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
        vector = shift_vector(shifts, index)
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


def coalesce(segments: Iterable[Segment]) -> list[Segment]:
    """Sorted segments with overlapping and touching ones merged."""
    merged: list[Segment] = []
    for start, stop in sorted(segments):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def intersect(a: Iterable[Segment], b: Iterable[Segment]) -> list[Segment]:
    """The times in both segment lists, coalesced."""
    a, b = coalesce(a), coalesce(b)
    common, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        start, stop = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < stop:
            common.append((start, stop))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return common


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
