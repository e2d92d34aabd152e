"""A live stream breaks: gaps, late, corrupt, NaN and not-observing
frames, and a restart.  None may crash the search or make a candidate
from invalid data; alerts reach GraceDB (a local stand-in) once."""

import json
import logging
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from aframe_contracts.pastro import PAstroModel
from aframe_contracts.strain import BackgroundStrain
from aframe_contracts.waveforms import WaveformSet
from aframe_infer.search import branch_streams
from aframe_online.frames import FrameName, frame_directory, write_frame
from aframe_online.search import search
from aframe_online.store import Candidate, CandidateStore
from aframe_pastro.model import PAstro
from aframe_serving.repository import ModelRepository
from tests.infer.conftest import T0

from .conftest import loud_injections
from .gracedb_standin import GraceDbStandIn

CHANNEL, STATE = "GDS-CALIB_STRAIN_CLEAN", "GDS-CALIB_STATE_VECTOR"
# seconds after T0: what happens to each frame
MISSING = range(40, 45)
LATE, CORRUPT, NAN, IDLE = 60, 80, 100, 120
# written in place, seen part-written: it must be analysed once whole
PARTIAL = 135
# bursts in valid data, and in the frames that must not be analysed
FOUND = (30.5, 150.5, 215.5)
HIDDEN = (CORRUPT + 0.5, NAN + 0.5, IDLE + 0.5)
# the first search stops here; the second starts at the newest frame
RESTART = 170


def write(directory, k, strain, rate, state=3) -> list:
    """Both ifos' frames of second k; their paths."""
    paths = []
    for ifo, samples in zip(("H1", "L1"), strain, strict=True):
        paths.append(
            write_frame(
                frame_directory(directory, ifo),
                FrameName(ifo, "llhoft", int(T0) + k, 1),
                samples,
                rate,
                CHANNEL,
                STATE,
                state,
            )
        )
    return paths


def frames_with_faults(directory, strain, rate, restarted, pace=0.02):
    """Write one frame every ``pace`` s, with the faults; after RESTART,
    wait for the second search to start."""
    size = int(rate)
    for k in range(strain.shape[-1] // size):
        piece = strain[:, k * size : (k + 1) * size]
        if k in MISSING:
            continue
        if k == LATE:
            # written after the next one: late, within the timeout
            late = piece
            continue
        if k == CORRUPT:
            # truncated files under the frames' names
            for path in write(directory, k, piece, rate):
                data = path.read_bytes()
                path.write_bytes(data[: len(data) // 2])
        elif k == PARTIAL:
            staged = write(
                directory.replace("{ifo}", "staged-{ifo}"), k, piece, rate
            )
            for path in staged:
                data = path.read_bytes()
                final = Path(str(path).replace("staged-", ""))
                final.parent.mkdir(parents=True, exist_ok=True)
                final.write_bytes(data[: len(data) // 3])
            time.sleep(0.3)
            for path in staged:
                Path(str(path).replace("staged-", "")).write_bytes(
                    path.read_bytes()
                )
        elif k == NAN:
            piece = piece.copy()
            piece[0, 100:110] = np.nan
            write(directory, k, piece, rate)
        elif k == IDLE:
            write(directory, k, piece, rate, state=1)
        else:
            write(directory, k, piece, rate)
        if k == LATE + 1:
            time.sleep(0.3)
            write(directory, LATE, late, rate)
        if k == RESTART + 1:
            restarted.wait(timeout=120)
        time.sleep(pace)


def test_faults_and_a_restart(
    calibrated, offline_background, p_astro_model, background, tmp_path, caplog
):
    caplog.set_level(logging.INFO, logger="aframe_online")
    chunk = BackgroundStrain.read(background)
    rate = chunk.sample_rate
    times = T0 + np.array([*FOUND, *HIDDEN])
    signals = WaveformSet.read(
        loud_injections(tmp_path / "bursts.hdf5", times), ["H1", "L1"]
    )
    _, strain = branch_streams(chunk, signals, [0.0, 0.0], ["H1", "L1"])
    frames = str(tmp_path / "frames" / "{ifo}")
    output = tmp_path / "online"
    restarted = threading.Event()
    writer = threading.Thread(
        target=frames_with_faults, args=(frames, strain, rate, restarted)
    )
    options = {
        "frame_timeout": 1.0,
        "far_threshold": 1e9,
        "p_astro_file": str(p_astro_model),
    }
    with GraceDbStandIn() as gracedb:
        writer.start()
        search(
            calibrated,
            offline_background,
            frames,
            output,
            start=int(T0),
            stop=T0 + RESTART + 1,
            gracedb_url=gracedb.url,
            **options,
        )
        first_run = len(gracedb.events)
        restarted.set()
        search(
            calibrated,
            offline_background,
            frames,
            output,
            stop=T0 + 240,
            gracedb_url=gracedb.url,
            **options,
        )
        writer.join()
    store = CandidateStore(output, 4.0)
    candidates = store.candidates()
    runs = store.runs()
    store.close()
    # both runs searched with the model's calibrated windows, recorded
    windows = ModelRepository.open(calibrated).windows(None, None)
    assert [
        (run["integration_window_length"], run["cluster_window_length"])
        for run in runs
    ] == [windows, windows]
    found = np.array([c["gps_time"] for c in candidates])
    # every burst in valid data is found; none in the frames skipped
    for burst in FOUND:
        assert np.abs(found - (T0 + burst)).min() < 0.5, burst
    for burst in HIDDEN:
        assert np.abs(found - (T0 + burst)).min() > 2, burst
    # the second run started at the newest frame: it analysed nothing
    # the first did, and alerted nothing again
    second = [c for c in candidates if c["run"] == 2]
    assert second and min(c["gps_time"] for c in second) > T0 + RESTART
    assert all(
        c["run"] == 1 for c in candidates if c["gps_time"] < T0 + RESTART
    )
    # the threshold, 1e9 per year, alerts on everything: on the first
    # output of each stream, then once per cluster window, each alert
    # uploaded once and updated by the louder events after it
    alerts = [c for c in candidates if c["alert"]]
    assert len(alerts) == len(gracedb.events)
    assert all(c["gracedb_id"] for c in alerts)
    latest = {}
    for number, event in enumerate(gracedb.events, 1):
        latest[f"T{number:06d}"] = event["file"]
    for replacement in gracedb.replacements:
        latest[replacement["graceid"]] = replacement["file"]
    by_id = {c["gracedb_id"]: c for c in alerts}
    assert set(latest) == set(by_id)
    for graceid, fields in latest.items():
        assert fields["gpstime"] == by_id[graceid]["gps_time"]
        assert fields["detection_statistic"] == pytest.approx(
            by_id[graceid]["detection_statistic"]
        )
    assert gracedb.replacements
    # a burst's alert ends with its event's values
    for burst in FOUND:
        nearest = min(alerts, key=lambda c: abs(c["gps_time"] - T0 - burst))
        assert abs(nearest["gps_time"] - T0 - burst) < 0.5, burst
        assert nearest["final"] == 1
    # each upload is what upstream aframe uploads: its group, pipeline
    # and search, and the event's fields
    for event in gracedb.events:
        assert (event["group"], event["pipeline"], event["search"]) == (
            "Test",
            "aframe",
            "AllSky",
        )
    for fields in latest.values():
        assert fields["ifos"] == "H1,L1"
        assert fields["channels"] == (
            "H1:GDS-CALIB_STRAIN_CLEAN,L1:GDS-CALIB_STRAIN_CLEAN"
        )
        assert {"detection_statistic", "far"} <= set(fields)
        seconds, nanoseconds = fields["end_time"], fields["end_time_ns"]
        assert isinstance(seconds, int) and 0 <= nanoseconds < 10**9
        assert seconds + nanoseconds * 1e-9 == pytest.approx(
            fields["gpstime"], abs=1e-6
        )
    assert 0 < first_run < len(gracedb.events)
    assert all((output / "alerts" / c["alert"]).exists() for c in alerts)
    # every candidate has its p_astro, the model's at its statistic, and
    # every alert its p_astro.json, the last uploaded as stored beside
    # the alert record
    p_astro = PAstro(PAstroModel.read(p_astro_model))
    for candidate in candidates:
        assert candidate["p_astro"] == pytest.approx(
            p_astro(candidate["detection_statistic"]), abs=1e-12
        )
    last_log = {log["graceid"]: log for log in gracedb.logs}
    assert set(last_log) == set(by_id)
    for graceid, log in last_log.items():
        p = by_id[graceid]["p_astro"]
        assert log["filename"] == "p_astro.json"
        assert log["tagname"] == "p_astro"
        assert log["file"] == {
            "BBH": p,
            "BNS": 0.0,
            "NSBH": 0.0,
            "Terrestrial": 1.0 - p,
        }
        name = by_id[graceid]["alert"].replace(".json", ".p_astro.json")
        assert (
            json.loads((output / "alerts" / name).read_text()) == log["file"]
        )
    log = caplog.text
    assert (
        f"frames from GPS {int(T0) + 40} to {int(T0) + 45} are missing" in log
    )
    assert "cannot be read" in log
    assert "NaN or infinite samples" in log
    assert "was not observing" in log
    # the late frame was waited for, and the part-written one read once
    # whole: neither was skipped
    assert f"GPS {int(T0) + LATE} to" not in log
    assert f"-{int(T0) + PARTIAL}-1.gwf" not in log


def test_an_earlier_runs_candidate_is_not_stored_again(tmp_path):
    candidate = Candidate(1e9 + 0.5, 5.0, 1.0, ["H1", "L1"], "1:x", "f", 0.0)
    first = CandidateStore(tmp_path, cluster_length=8.0)
    assert first.add(candidate, alert=True) is not None
    # within a run, events are distinct whatever their distance
    near = Candidate(1e9 + 1.5, 4.0, 1.0, ["H1", "L1"], "1:x", "f", 0.0)
    assert first.add(near, alert=False) is not None
    first.close()
    second = CandidateStore(tmp_path, cluster_length=8.0)
    again = Candidate(1e9 + 0.6, 5.1, 1.0, ["H1", "L1"], "1:x", "f", 0.0)
    assert second.add(again, alert=True) is None
    later = Candidate(1e9 + 10, 5.1, 1.0, ["H1", "L1"], "1:x", "f", 0.0)
    assert second.add(later, alert=True) is not None
    assert [c["run"] for c in second.candidates()] == [1, 1, 2]
    assert len(list((tmp_path / "alerts").iterdir())) == 2
