"""One run per experiment, whatever its arguments; other experiments
run at once."""

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

from aframe.run_lock import ALREADY_RUNNING, LOCK_FILE, hold, holder

from .test_signals import alive, wait_for


def test_one_holder_per_experiment(tmp_path):
    first, other = tmp_path / "first", tmp_path / "other"
    first.mkdir()
    other.mkdir()
    fd = hold(first)
    assert fd is not None
    assert holder(first) == str(os.getpid())
    assert hold(first) is None
    # another experiment is not affected
    other_fd = hold(other)
    assert other_fd is not None
    os.close(fd)
    os.close(other_fd)
    # the lock ends with its holder
    again = hold(first)
    assert again is not None
    os.close(again)


def run_lock(experiment, *command, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "aframe.run_lock", str(experiment), *command],
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_a_second_run_is_refused_naming_the_first(tmp_path):
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    first = run_lock(tmp_path, *sleeper)
    lock = tmp_path / LOCK_FILE
    end = time.monotonic() + 30
    while time.monotonic() < end and not lock.exists():
        time.sleep(0.05)
    while time.monotonic() < end and not lock.read_text().strip():
        time.sleep(0.05)
    # the PID is the run's: the process that holds the lock
    assert lock.read_text().strip() == str(first.pid)
    second = run_lock(tmp_path, "true", "--other-arguments")
    _, err = second.communicate(timeout=30)
    assert second.returncode == ALREADY_RUNNING
    assert f"already being run by process {first.pid}" in err
    assert f"ps -fp {first.pid}" in err
    first.kill()
    first.communicate(timeout=30)
    third = run_lock(tmp_path, "true")
    third.communicate(timeout=30)
    assert third.returncode == 0


def test_run_sh_takes_the_lock(experiment):
    """run.sh itself goes through the lock: a run while another holds
    the experiment does nothing and names the holder."""
    directory = experiment()
    fd = hold(directory)
    try:
        run = subprocess.run(
            ["bash", str(directory / "run.sh"), "--workers", "1"],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        os.close(fd)
    assert run.returncode == ALREADY_RUNNING
    assert f"already being run by process {os.getpid()}" in run.stderr
    assert not (directory / "data").exists()


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_killed_run_leaves_nothing_behind(
    tmp_path, number, inherited_sigint
):
    """A process the command forked and left behind (multiprocessing's
    manager outlives a SIGTERM) must neither keep the experiment locked
    nor outlive the run, whatever SIGINT the run inherited."""
    command = [
        sys.executable,
        "-c",
        "import multiprocessing, time\n"
        "manager = multiprocessing.Manager()\n"
        "shared = manager.dict()\n"
        "print(manager._process.pid, flush=True)\n"
        "time.sleep(60)",
    ]
    run = subprocess.Popen(
        [sys.executable, "-m", "aframe.run_lock", str(tmp_path), *command],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=inherited_sigint,
    )
    orphan = int(run.stdout.readline())
    try:
        assert holder(tmp_path) == str(run.pid)
        run.send_signal(number)
        assert run.wait(timeout=30) == 128 + number
        fd = hold(tmp_path)
        assert fd is not None, "the lock outlived the run"
        os.close(fd)
        assert wait_for(lambda: not alive(orphan), timeout=10), (
            "what the run forked outlived it"
        )
    finally:
        run.kill()
        with contextlib.suppress(ProcessLookupError):
            os.kill(orphan, signal.SIGKILL)
