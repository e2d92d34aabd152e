"""One run per experiment, any number of experiments at once.

``run.sh`` starts law through this module: it takes an exclusive lock on
``<experiment>/.aframe-run.lock`` (``flock``), writes its PID into it,
and runs law as its child, in a process group of its own, until the run
ends, passing on the signals it gets (Ctrl-C too), whatever SIGINT it
was started with (``nohup`` and a script's ``&`` ignore it).  The lock
stays in this process, never passed to law: a process law forks and
leaves behind when it is killed (multiprocessing's manager outlives a
SIGTERM) would otherwise keep the experiment locked, and a rerun would
be refused naming a process that is gone.  What law leaves in its group
is ended when law has ended, so nothing of a stopped run goes on.  Law
dies with this process (``PR_SET_PDEATHSIG``), so no run goes on
unlocked.  A second run of the same experiment, with any arguments, is
refused with the holder's PID; other experiments are not affected.
(luigi's own lock, keyed on the command line, would refuse every other
experiment while one runs and let the same one through with other
arguments: the cfg turns it off, ``no_lock`` in ``[luigi_core]``.)

    python -m aframe.run_lock EXPERIMENT COMMAND [ARGS...]
"""

import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path

from aframe.stage import die_with_parent
from aframe_contracts.cli import stop_on_signals

LOCK_FILE = ".aframe-run.lock"
# what this process passes on to the run it holds the lock for: law is
# in a group of its own, which the terminal's Ctrl-C does not reach
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
# law's exit status for a run refused because one is running
ALREADY_RUNNING = 10


def hold(experiment: Path) -> int | None:
    """The locked file descriptor, or None when another run holds it."""
    fd = os.open(experiment / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def holder(experiment: Path) -> str:
    """The PID recorded by the run that holds the lock."""
    try:
        text = (experiment / LOCK_FILE).read_text().strip()
    except OSError:
        text = ""
    return text or "unknown"


def end_group(group: int) -> None:
    """End what is left in a process group whose leader has ended."""
    try:
        os.killpg(group, signal.SIGTERM)
    except ProcessLookupError:
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        print(
            "usage: python -m aframe.run_lock EXPERIMENT COMMAND [ARGS...]",
            file=sys.stderr,
        )
        return 2
    experiment, command = Path(argv[0]), argv[1:]
    # handled here, SIGINT and SIGTERM are the default in the command
    # (exec keeps an inherited SIG_IGN), so the signals passed on end it
    stop_on_signals()
    fd = hold(experiment)
    if fd is None:
        pid = holder(experiment)
        print(
            f"aframe: {experiment} is already being run by process {pid} "
            f"(see it with: ps -fp {pid}); wait for that run to end, or "
            "stop it, and run again",
            file=sys.stderr,
        )
        return ALREADY_RUNNING
    # os.open's descriptors are not inheritable: the command runs without
    # the lock, which ends with this process
    try:
        child = subprocess.Popen(
            command, preexec_fn=die_with_parent, process_group=0
        )
    except OSError as error:
        print(f"aframe: cannot run {command[0]}: {error}", file=sys.stderr)
        return 127
    for number in FORWARDED_SIGNALS:
        signal.signal(number, lambda sig, frame: child.send_signal(sig))
    code = child.wait()
    end_group(child.pid)
    # a command ended by a signal exits as a shell reports it
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main())
