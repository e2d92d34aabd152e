"""Replayed frames through the online search: every loud burst found in
the calibrated time window, with the events and FARs of the offline
analysis of the same data."""

import threading

import numpy as np
import pytest

from aframe_contracts.events import BackgroundEvents, far
from aframe_contracts.strain import BackgroundStrain
from aframe_contracts.waveforms import WaveformSet
from aframe_infer.search import branch_streams
from aframe_online.replay import replay
from aframe_online.search import search
from aframe_online.store import CandidateStore
from aframe_serving.backends import Serving, streamer
from aframe_serving.postprocess import stream_events
from aframe_serving.repository import ModelRepository

from .conftest import BURSTS, DURATION, T0


def offline_events(repository, strain_file, bursts, timing):
    """The offline search's events of the replayed strain and bursts."""
    chunk = BackgroundStrain.read(strain_file)
    signals = WaveformSet.read(bursts, ["H1", "L1"])
    # the offline branch's foreground stream, unshifted
    _, data = branch_streams(chunk, signals, [0.0, 0.0], ["H1", "L1"])
    model = ModelRepository.open(repository)
    with streamer(model, Serving(), strain_file.parent, 1) as run:
        (outputs,) = run([data])
    return stream_events(
        outputs,
        chunk.t0,
        model.geometry,
        timing.integration_window_length,
        timing.cluster_window_length,
    )


@pytest.mark.slow
def test_replay_at_ten_times_real_time(
    calibrated, offline_background, replayed, tmp_path
):
    strain_file, bursts = replayed
    frames = str(tmp_path / "frames" / "{ifo}")
    writer = threading.Thread(
        target=replay,
        args=([str(strain_file)], frames),
        kwargs={"speed": 10.0, "injections_file": bursts},
    )
    writer.start()
    output = tmp_path / "online"
    search(
        calibrated,
        offline_background,
        frames,
        output,
        start=T0,
        stop=T0 + DURATION,
        frame_timeout=2.0,
    )
    writer.join()

    store = CandidateStore(output, 4.0)
    candidates = store.candidates()
    store.close()
    times = np.array([c["gps_time"] for c in candidates])
    stats = np.array([c["detection_statistic"] for c in candidates])
    timing = ModelRepository.open(calibrated).timing
    # every burst found, inside the calibrated window
    for burst in BURSTS:
        nearest = np.abs(times - burst).min()
        assert nearest <= timing.half_width, (burst, nearest)
    # the offline analysis of the same data finds the same events, away
    # from the end (where offline's last partial update adds outputs)
    offline_stat, offline_time = offline_events(
        calibrated, strain_file, bursts, timing
    )
    inside = offline_time < T0 + DURATION - 20
    np.testing.assert_allclose(
        times[times < T0 + DURATION - 20], offline_time[inside], atol=1e-6
    )
    np.testing.assert_allclose(
        stats[times < T0 + DURATION - 20], offline_stat[inside], rtol=1e-5
    )
    background = BackgroundEvents.read(offline_background)
    fars = np.array([c["far"] for c in candidates])
    np.testing.assert_allclose(
        fars, far(stats, background.statistic, background.Tb)
    )
    latency = np.array([c["latency"] for c in candidates])
    assert np.all(latency >= 0) and np.median(latency) < 1.0
