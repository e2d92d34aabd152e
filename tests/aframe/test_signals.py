"""Ending the pipeline ends its stages, and a stage ended by SIGTERM
cleans up after itself."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's"
)


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie, dead but not reaped, is not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def wait_for(condition, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_stage_dies_with_the_process_that_runs_it(
    tmp_path, inherited_sigint
):
    """SIGTERM to the process running a stage (law, or its worker) ends
    the stage too, though nothing forwards the signal."""
    pipeline = tmp_path / "pipeline.py"
    pipeline.write_text(
        textwrap.dedent(
            f"""
            import sys
            from pathlib import Path
            from aframe import stage

            # a stage that reports its pid and works for two minutes
            work = (
                "import os, time; print(os.getpid(), flush=True); "
                "time.sleep(120)"
            )
            stage.command = lambda *args: [sys.executable, "-c", work]
            stage.run("data", "work", {{}}, Path({str(tmp_path)!r}))
            """
        )
    )
    runner = subprocess.Popen(
        [sys.executable, str(pipeline)],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=inherited_sigint,
    )
    # the runner logs the stage's lines: the first after its command is
    # the stage's pid
    for line in runner.stdout:
        if "running" not in line:
            break
    worker = int(line.split()[-1])
    assert alive(worker)
    runner.send_signal(signal.SIGTERM)
    runner.wait(10)
    runner.stdout.close()
    assert wait_for(lambda: not alive(worker), 10), "the stage outlived it"


# how a stage CLI ends on each signal: SIGTERM with status 143, SIGINT
# as Python ends on an uncaught KeyboardInterrupt, killed by the signal
STAGE_ENDS = {
    signal.SIGTERM: 128 + signal.SIGTERM,
    signal.SIGINT: -signal.SIGINT,
}


@pytest.mark.parametrize("number", list(STAGE_ENDS))
def test_a_signal_ends_a_stage_cli_cleanly(tmp_path, number, inherited_sigint):
    """A stage CLI given SIGTERM or SIGINT mid-write ends, whatever SIGINT
    it inherited, and leaves no partial file."""
    script = tmp_path / "stage.py"
    output = tmp_path / "out.txt"
    script.write_text(
        textwrap.dedent(
            """
            import sys, time
            from pathlib import Path
            from aframe_contracts.cli import run_cli
            from aframe_contracts.files import atomic_path

            def write(output: Path):
                with atomic_path(output) as tmp:
                    tmp.write_text("half")
                    print("writing", flush=True)
                    time.sleep(120)
                    tmp.write_text("whole")

            sys.exit(run_cli("aframe-test", write, ValueError))
            """
        )
    )
    stage = subprocess.Popen(
        [sys.executable, str(script), f"--output={output}"],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=inherited_sigint,
    )
    assert stage.stdout.readline().strip() == "writing"
    assert any(p.name != "stage.py" for p in tmp_path.iterdir())
    os.kill(stage.pid, number)
    assert stage.wait(10) == STAGE_ENDS[number]
    # the temporary file is gone, and no output was made
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stage.py"]
