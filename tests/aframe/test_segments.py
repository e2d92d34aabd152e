"""Chunks and the time-slide branch arithmetic."""

import pytest

from aframe.segments import (
    Chunk,
    injection_timeslides,
    split_segments,
    timeslides,
)


def test_split_into_equal_whole_second_chunks():
    chunks = split_segments([(0, 50000), (60000, 61000)], 20000)
    assert chunks == [
        Chunk(0, 16667),
        Chunk(16667, 16666),
        Chunk(33333, 16667),
        Chunk(60000, 1000),
    ]
    assert all(c.duration <= 20000 for c in chunks)
    assert chunks[2].stop == 50000


def test_split_rejects_bad_duration():
    with pytest.raises(ValueError, match="max_duration"):
        split_segments([(0, 10)], 0)


def brute_force_livetime(chunks, shifts, psd_length, k):
    return sum(
        max(0, c.duration - psd_length - k * max(shifts)) for c in chunks
    )


@pytest.mark.parametrize("Tb", [1, 3000, 10000, 20000])
def test_timeslides_reach_Tb_with_fewest_shifts(Tb):
    chunks = [Chunk(0, 1800), Chunk(2000, 1800), Chunk(5000, 60)]
    branches = timeslides(chunks, Tb, [0, 1], psd_length=64)
    k = max(b.index for b in branches)
    total = sum(
        brute_force_livetime(chunks, [0, 1], 64, j) for j in range(1, k + 1)
    )
    assert total >= Tb
    previous = total - brute_force_livetime(chunks, [0, 1], 64, k)
    assert previous < Tb
    # the short chunk cannot hold a 64 s PSD and a shift
    assert all(b.chunk != 2 for b in branches)
    assert branches[0].shifts == (0, 1)
    for branch in branches:
        assert branch.shifts == (0, branch.index)


def test_no_timeslides_without_Tb():
    assert timeslides([Chunk(0, 100)], 0, [0, 1], 8) == []


def test_timeslides_that_cannot_reach_Tb():
    with pytest.raises(ValueError, match="lower Tb or add test data"):
        timeslides([Chunk(0, 100)], 1e6, [0, 1], 8)
    with pytest.raises(ValueError, match="non-zero"):
        timeslides([Chunk(0, 100)], 10, [0, 0], 8)


def test_injections_fill_the_fewest_timeslides():
    """The first timeslides whose room holds the injections carry them,
    in proportion to their room, and none beyond; when all cannot hold
    them, all carry what they hold."""
    chunks = [Chunk(0, 1000), Chunk(2000, 500)]
    branches = timeslides(chunks, 5000, [0, 1], psd_length=64)
    # rooms: (1000 - 64 - k - 2 * 8) // 5 and (500 - 64 - k - 16) // 5
    chosen = injection_timeslides(branches, chunks, 250, 4, 8, 64)
    assert [(b.chunk, b.index) for b, _ in chosen] == [(0, 1), (1, 1)]
    counts = [n for _, n in chosen]
    assert sum(counts) == 250 and counts[0] > counts[1]
    assert all(n <= room for n, room in zip(counts, [183, 83], strict=True))
    everything = injection_timeslides(branches, chunks, 10**6, 4, 8, 64)
    assert [b for b, _ in everything] == branches
