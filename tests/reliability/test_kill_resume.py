"""A pipeline killed mid-way resumes to what an uninterrupted run makes.

The pipeline runs through law in a process of its own, as run.sh starts
it; SIGTERM ends it (and, through aframe.stage, the stage it runs) while
the training background is half written, and a second run finishes it.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np

from aframe import paths
from aframe.init import init

TASK = "aframe.tasks.data.TrainingBackground"
# the quickstart's hour of training noise in ten chunks
CHUNKS = 10


def experiment(directory: Path) -> tuple[Path, dict]:
    init(directory, "sandbox", "quickstart")
    cfg = directory / "sandbox.cfg"
    with open(cfg, "a") as f:
        f.write(
            f"\n[luigi_TrainingBackground]\nmax_duration = {3600 / CHUNKS}\n"
        )
    env = {**os.environ, "LAW_CONFIG_FILE": str(cfg)}
    for name, variable in paths.ROOTS.items():
        env[variable] = str(directory / paths.ROOT_LAYOUT[name])
    return directory, env


def law(env: dict, directory: Path) -> subprocess.Popen:
    command = [str(Path(sys.executable).with_name("law")), "run", TASK]
    return subprocess.Popen(
        [*command, "--workers", "1"],
        cwd=directory,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def chunks(directory: Path) -> list[Path]:
    return sorted((directory / "data/train/background").glob("*.hdf5"))


def test_data_killed_mid_way_resumes_to_the_same_strain(tmp_path):
    whole, whole_env = experiment(tmp_path / "whole")
    assert law(whole_env, whole).wait(timeout=600) == 0
    assert len(chunks(whole)) == CHUNKS

    killed, env = experiment(tmp_path / "killed")
    run = law(env, killed)
    deadline = time.monotonic() + 600
    while len(chunks(killed)) < 3 and time.monotonic() < deadline:
        assert run.poll() is None, "the run ended before it was stopped"
        time.sleep(0.05)
    run.send_signal(signal.SIGTERM)
    run.wait(timeout=60)
    written = len(chunks(killed))
    assert 3 <= written < CHUNKS, "stop it while chunks are left to write"
    # what it was writing is not there under its name: only whole files
    names = {p.name for p in chunks(whole)}
    assert {p.name for p in chunks(killed)} <= names
    # a chunk whose provenance was recorded is done; one killed between
    # its file and its record is made again
    logs = killed / "data/train/background/logs"
    before = {
        p.name: p.stat().st_mtime_ns
        for p in chunks(killed)
        if (logs / p.stem / "provenance.json").exists()
    }
    assert len(before) >= written - 1

    assert law(env, killed).wait(timeout=600) == 0
    for name, stamp in before.items():
        path = killed / "data/train/background" / name
        assert path.stat().st_mtime_ns == stamp
    assert [p.name for p in chunks(killed)] == [p.name for p in chunks(whole)]
    for ours, theirs in zip(chunks(killed), chunks(whole), strict=True):
        with h5py.File(ours) as a, h5py.File(theirs) as b:
            for ifo in ("H1", "L1"):
                np.testing.assert_array_equal(a[ifo][()], b[ifo][()])
