"""What the online search checks before it follows any frame."""

import logging

import numpy as np

from aframe_contracts.events import BackgroundEvents
from aframe_online.search import check_background_windows
from aframe_online.store import Candidate, CandidateStore


def test_a_background_of_other_windows_is_said(tmp_path, caplog):
    background = BackgroundEvents(
        np.zeros(1),
        np.zeros(1),
        np.zeros((1, 2)),
        100.0,
        ["H1", "L1"],
        {"integration_window_length": 0.5, "cluster_window_length": 4.0},
    )
    with caplog.at_level(logging.WARNING):
        check_background_windows(tmp_path, background, 0.5, 4.0)
        assert "another statistic" not in caplog.text
        check_background_windows(tmp_path, background, 1.0, 4.0)
        assert "another statistic" in caplog.text


def test_each_run_records_its_windows(tmp_path):
    """The store keeps the windows each run searched with; a run that
    stored nothing leaves its number, and its row, to the next."""
    first = CandidateStore(tmp_path, cluster_length=4.0)
    first.record_run(0.5)
    first.add(Candidate(1e9, 5.0, 1.0, ["H1", "L1"], "1:x", "f", 0.0), False)
    first.close()
    empty = CandidateStore(tmp_path, cluster_length=8.0)
    empty.record_run(1.0)
    empty.close()
    second = CandidateStore(tmp_path, cluster_length=6.0)
    second.record_run(1.5)
    # reading the store records no run
    reader = CandidateStore(tmp_path, cluster_length=6.0)
    runs = [
        (
            run["run"],
            run["integration_window_length"],
            run["cluster_window_length"],
        )
        for run in reader.runs()
    ]
    assert runs == [(1, 0.5, 4.0), (2, 1.5, 6.0)]
    second.close()
    reader.close()
