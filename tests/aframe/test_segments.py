"""Segment lists, chunks and the time-slide branch arithmetic."""

import pytest

from aframe.segments import (
    Chunk,
    read_segments,
    split_segments,
    timeslides,
    write_segments,
)


def test_round_trip(tmp_path):
    segments = [(1240579783.0, 1240583383.0), (1240590000.5, 1240600000.0)]
    path = tmp_path / "segments.txt"
    write_segments(segments, path)
    assert read_segments(path) == segments
    assert path.read_text().startswith("# seg\tstart\tstop\tduration\n")


def test_reads_gwpy_segwizard(tmp_path):
    path = tmp_path / "segments.txt"
    path.write_text("# seg start stop duration\n0 10 20 10\n\n1 30 45 15\n")
    assert read_segments(path) == [(10.0, 20.0), (30.0, 45.0)]


@pytest.mark.parametrize(
    "text, match",
    [("0 10 20\n", "line 1: expected 4 columns"), ("0 20 10 -10\n", "ends")],
)
def test_bad_segment_files(tmp_path, text, match):
    path = tmp_path / "segments.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        read_segments(path)


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
