"""One run per experiment, any number of experiments at once.

``run.sh`` starts law through this module: it takes an exclusive lock on
``<experiment>/.aframe-run.lock`` (``flock``), writes its PID into it,
then replaces itself with law, which keeps the lock (and its children
while they live) until the run ends, however it ends.  A second run of
the same experiment, with any arguments, is refused with the holder's
PID; other experiments are not affected.  (luigi's own lock, keyed on
the command line, would refuse every other experiment while one runs and
let the same one through with other arguments: the cfg turns it off,
``no_lock`` in ``[luigi_core]``.)

    python -m aframe.run_lock EXPERIMENT COMMAND [ARGS...]
"""

import fcntl
import os
import sys
from pathlib import Path

LOCK_FILE = ".aframe-run.lock"
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        print(
            "usage: python -m aframe.run_lock EXPERIMENT COMMAND [ARGS...]",
            file=sys.stderr,
        )
        return 2
    experiment, command = Path(argv[0]), argv[1:]
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
    # the command inherits the locked descriptor, and with it the lock
    os.set_inheritable(fd, True)
    os.execvp(command[0], command)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
