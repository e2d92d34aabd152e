"""aframe-infer background: a chunk's time-slid background over all its
timeslides, at ranking cost for a template bank."""

import logging

import numpy as np
import pytest

from aframe_contracts.errors import DataError
from aframe_contracts.events import BackgroundEvents
from aframe_infer import search
from aframe_serving.backends import Serving
from aframe_serving.errors import StreamError
from tests.serving.test_bank import bank_repository

from .conftest import RATE, T0, simulated_background

WINDOWS = {"integration_window_length": 0.0, "cluster_window_length": 4.0}


@pytest.fixture
def bank(tmp_path):
    """A bank with its tests, and a chunk whose stream ends on a whole
    update (no end padding, where a shifted stream would differ)."""
    repository = bank_repository(
        tmp_path,
        chisq_bins=4,
        sine_gaussian_q=6,
        sine_gaussian_fmax=1.0,
        max_snr_ratio=2.5,
    )
    geometry = repository.geometry
    size = 100 * RATE
    size -= (geometry.front_padding + size) % geometry.update_size
    chunk = simulated_background(tmp_path / "chunk.hdf5", T0, size / RATE)
    return repository, chunk


def test_timeslides_at_ranking_cost_are_the_streamed_ones(
    bank, tmp_path, monkeypatch, caplog
):
    """Three timeslides of whole updates: filtered once and paired, the
    chunk's events, their shifts and Tb are those of each timeslide
    streamed through the exported files, to float32 rounding."""
    repository, chunk = bank
    update = repository.geometry.update_size / RATE
    shifts = [[0.0, update * k] for k in (2, 3, 5)]
    monkeypatch.setattr(search, "SLID_TIMESLIDES", 3)
    with caplog.at_level(logging.INFO, logger="aframe_infer"):
        search.background(
            repository.path, chunk, shifts, tmp_path / "slid.hdf5", **WINDOWS
        )
    assert "at ranking cost" in caplog.text
    search.background(
        repository.path,
        chunk,
        shifts,
        tmp_path / "streamed.hdf5",
        **WINDOWS,
        serving=Serving(local_engine="stream"),
    )
    ours = BackgroundEvents.read(tmp_path / "slid.hdf5")
    theirs = BackgroundEvents.read(tmp_path / "streamed.hdf5")
    assert ours.Tb == theirs.Tb > 0
    np.testing.assert_allclose(ours.statistic, theirs.statistic, atol=1e-5)
    np.testing.assert_array_equal(ours.time, theirs.time)
    np.testing.assert_array_equal(ours.shift, theirs.shift)
    assert sorted({tuple(s) for s in ours.shift}) == [tuple(s) for s in shifts]


def test_a_few_timeslides_stream(bank, tmp_path, caplog):
    """Below SLID_TIMESLIDES the bank backend streams each timeslide."""
    repository, chunk = bank
    with caplog.at_level(logging.INFO, logger="aframe_infer"):
        search.background(
            repository.path, chunk, [[0, 4]], tmp_path / "bg.hdf5", **WINDOWS
        )
    assert "at ranking cost" not in caplog.text
    events = BackgroundEvents.read(tmp_path / "bg.hdf5")
    assert np.all(events.shift == [0, 4])


def test_timeslides_that_cannot_be_analysed_are_refused(bank, tmp_path):
    repository, chunk = bank
    with pytest.raises(StreamError, match="no timeslides"):
        search.background(repository.path, chunk, [], tmp_path / "a.hdf5")
    with pytest.raises(DataError, match="timeslide 1: shifts"):
        search.background(
            repository.path,
            chunk,
            [[0, 4], [4]],
            tmp_path / "b.hdf5",
            **WINDOWS,
        )
    assert not (tmp_path / "b.hdf5").exists()


@pytest.mark.parametrize("slid", [True, False])
def test_a_timeslide_longer_than_the_chunk_has_no_background(
    slid, bank, tmp_path, monkeypatch
):
    """A shift that leaves less than one request of the chunk (the last
    timeslides the livetime arithmetic allows) adds no events and no
    time, on either path."""
    repository, chunk = bank
    monkeypatch.setattr(search, "SLID_TIMESLIDES", 2 if slid else 3)
    search.background(
        repository.path,
        chunk,
        [[0, 4], [0, 95]],
        tmp_path / "bg.hdf5",
        **WINDOWS,
    )
    search.background(
        repository.path, chunk, [[0, 4]], tmp_path / "one.hdf5", **WINDOWS
    )
    events = BackgroundEvents.read(tmp_path / "bg.hdf5")
    alone = BackgroundEvents.read(tmp_path / "one.hdf5")
    assert events.Tb == alone.Tb > 0
    assert np.all(events.shift == [0, 4])


def test_shifts_of_part_of_an_output_step_stream(
    bank, tmp_path, monkeypatch, caplog
):
    """Timeslides at ranking cost pair whole windows: shifts of part of
    an output step are streamed instead, with the reason logged."""
    repository, chunk = bank
    monkeypatch.setattr(search, "SLID_TIMESLIDES", 1)
    with caplog.at_level(logging.INFO, logger="aframe_infer"):
        search.background(
            repository.path,
            chunk,
            [[0, 4.1]],
            tmp_path / "bg.hdf5",
            **WINDOWS,
        )
    assert "streaming each timeslide" in caplog.text
    assert BackgroundEvents.read(tmp_path / "bg.hdf5").Tb > 0
