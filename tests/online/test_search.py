"""What the online search checks before it follows any frame."""

import logging

import numpy as np

from aframe_contracts.events import BackgroundEvents
from aframe_online.search import check_background_windows


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
