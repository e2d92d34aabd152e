"""A pipeline killed mid-way resumes to what an uninterrupted run makes.

The pipeline runs through law in a process of its own, as run.sh starts
it; SIGTERM ends it (and, through aframe.stage, the stage it runs) while
the training background is half written, or while inference is half way
through its timeslides, and a second run finishes it.

The inference case needs a trained model: it runs on a copy of a finished
experiment (AFRAME_EXPERIMENT; ``make quickstart`` writes one, and CI runs
it, then this).
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from aframe import paths
from aframe.init import init

TASK = "aframe.tasks.data.TrainingBackground"
# the quickstart's hour of training noise in ten chunks
CHUNKS = 10
EXPERIMENT = os.environ.get("AFRAME_EXPERIMENT")
# inference branches taken from the finished experiment to run again
RERUN = 4


def environment(directory: Path, cfg: Path) -> dict:
    """What run.sh exports for the experiment in ``directory``."""
    env = {**os.environ, "LAW_CONFIG_FILE": str(cfg)}
    for name, variable in paths.ROOTS.items():
        env[variable] = str(directory / paths.ROOT_LAYOUT[name])
    return env


def experiment(directory: Path) -> tuple[Path, dict]:
    init(directory, "sandbox", "quickstart")
    cfg = directory / "sandbox.cfg"
    with open(cfg, "a") as f:
        f.write(
            f"\n[luigi_TrainingBackground]\nmax_duration = {3600 / CHUNKS}\n"
        )
    return directory, environment(directory, cfg)


def law(
    env: dict,
    directory: Path,
    task: str = TASK,
    workers: int = 1,
    stderr: int = subprocess.DEVNULL,
) -> subprocess.Popen:
    """``law run task`` as run.sh starts it: under the experiment's lock,
    which ends what law leaves behind when it is stopped."""
    command = [str(Path(sys.executable).with_name("law")), "run", task]
    lock = [sys.executable, "-m", "aframe.run_lock", str(directory)]
    return subprocess.Popen(
        [*lock, *command, "--workers", str(workers)],
        cwd=directory,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
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


def recorded(branch: Path) -> bool:
    """Whether an inference branch finished: its provenance record."""
    return any((branch / "logs").glob("*/provenance.json"))


def same_datasets(ours: Path, theirs: Path) -> None:
    """Every dataset and attribute of two HDF5 files agrees."""
    with h5py.File(ours) as a, h5py.File(theirs) as b:
        names = []
        a.visit(names.append)
        theirs_names = []
        b.visit(theirs_names.append)
        assert names == theirs_names
        assert set(a.attrs) == set(b.attrs)
        for key, value in a.attrs.items():
            np.testing.assert_array_equal(value, b.attrs[key], err_msg=key)
        for name in names:
            if isinstance(a[name], h5py.Dataset):
                # the same strain through the same model on the same CPU
                np.testing.assert_array_equal(a[name][()], b[name][()])


@pytest.mark.skipif(
    not EXPERIMENT,
    reason="set AFRAME_EXPERIMENT to a finished experiment (make "
    "quickstart writes one)",
)
def test_inference_killed_mid_way_resumes_to_the_same_events(tmp_path):
    finished = Path(EXPERIMENT)
    # a copy of the experiment is complete where it was: take its last
    # branches and the aggregate away, so that those run again
    copy = tmp_path / "copy"
    shutil.copytree(finished, copy, symlinks=True)
    (copy / ".aframe-run.lock").unlink(missing_ok=True)
    results = copy / "results"
    branches = sorted(
        p for p in (results / "infer").iterdir() if (p / "logs").is_dir()
    )
    assert len(branches) > RERUN, "the experiment has too few branches"
    taken, kept = branches[-RERUN:], branches[:-RERUN]
    for branch in taken:
        shutil.rmtree(branch)
    for name in ("background.hdf5", "foreground.hdf5"):
        (results / name).unlink()
    stamps = {p: p.stat().st_mtime_ns for b in kept for p in b.glob("*.hdf5")}
    env = environment(copy, next(copy.glob("sandbox.cfg")))
    task = "aframe.tasks.infer.AggregateEvents"

    run = law(env, copy, task)
    deadline = time.monotonic() + 600
    while not any(map(recorded, taken)) and time.monotonic() < deadline:
        assert run.poll() is None, "the run ended before it was stopped"
        time.sleep(0.05)
    run.send_signal(signal.SIGTERM)
    run.wait(timeout=60)
    done = [branch for branch in taken if recorded(branch)]
    assert 1 <= len(done) < RERUN, "stop it while branches are left"
    assert not (results / "background.hdf5").exists()
    done_stamps = {
        p: p.stat().st_mtime_ns for b in done for p in b.glob("*.hdf5")
    }

    assert law(env, copy, task).wait(timeout=600) == 0
    # what was whole before the kill was not made again
    for path, stamp in {**stamps, **done_stamps}.items():
        assert path.stat().st_mtime_ns == stamp, path
    for branch in taken:
        # a chunk's background, or a timeslide's injections
        written = finished / "results/infer" / branch.name
        for path in written.glob("*.hdf5"):
            same_datasets(branch / path.name, path)
    for name in ("background.hdf5", "foreground.hdf5"):
        same_datasets(results / name, finished / "results" / name)
