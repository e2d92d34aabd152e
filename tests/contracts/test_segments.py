"""Segment lists: segwizard text, and their arithmetic."""

import pytest

from aframe_contracts.errors import ContractError
from aframe_contracts.segments import (
    coalesce,
    intersect,
    read_segments,
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
    with pytest.raises(ContractError, match=match):
        read_segments(path)


def test_coalesce_and_intersect():
    merged = coalesce([(5, 8), (0, 2), (2, 3), (7, 10)])
    assert merged == [(0, 3), (5, 10)]
    assert intersect(merged, [(1, 6), (9, 12)]) == [(1, 3), (5, 6), (9, 10)]
    assert intersect(merged, []) == []
