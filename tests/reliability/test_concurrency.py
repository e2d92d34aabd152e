"""One run per experiment, and any number of experiments at once, as
run.sh starts them (through aframe.run_lock)."""

import subprocess
import time

from aframe.run_lock import ALREADY_RUNNING, LOCK_FILE

from .test_kill_resume import chunks, experiment, law


def test_two_experiments_at_once_and_one_refused_twice(tmp_path):
    first, first_env = experiment(tmp_path / "first")
    other, other_env = experiment(tmp_path / "other")
    running = law(first_env, first, workers=2)
    alongside = law(other_env, other, workers=2)
    # wait until the first run holds its lock and works
    deadline = time.monotonic() + 120
    while not chunks(first) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.poll() is None, "the first run ended too soon to test"
    # the same experiment again, with other arguments: refused at once
    again = law(first_env, first, workers=4, stderr=subprocess.PIPE)
    assert again.wait(timeout=60) == ALREADY_RUNNING
    pid = (first / LOCK_FILE).read_text().strip()
    assert f"already being run by process {pid}" in again.stderr.read()
    # both experiments finish, each with its whole background
    assert running.wait(timeout=600) == 0
    assert alongside.wait(timeout=600) == 0
    assert len(chunks(first)) == len(chunks(other)) == 10
