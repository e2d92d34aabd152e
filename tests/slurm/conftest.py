"""A real one-node Slurm cluster for the Slurm workflow tests.

The session uses the cluster cluster/start-slurm.sh started (``.ci/run``
starts it before ``make test``), or starts it itself and stops it at the
end.  Where no cluster can be started (not root, no Debian packages), the
tests skip with the script's reason.
"""

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
START = REPO / "cluster" / "start-slurm.sh"
STOP = REPO / "cluster" / "stop-slurm.sh"


def cluster_directory() -> Path:
    return Path(
        os.environ.get("AFRAME_SLURM_CLUSTER_DIR", "/tmp/aframe-slurm")
    )


def node_idle(conf: Path) -> bool:
    env = {**os.environ, "SLURM_CONF": str(conf)}
    try:
        result = subprocess.run(
            ["sinfo", "-h", "-N", "-o", "%t"],
            capture_output=True,
            text=True,
            env=env,
            timeout=10,
        )
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and result.stdout.split()[:1] in (
        ["idle"],
        ["mix"],
        ["alloc"],
    )


@pytest.fixture(scope="session")
def slurm_cluster():
    """The cluster's slurm.conf, exported as SLURM_CONF for the tests and
    the jobs they submit (sbatch passes the environment on)."""
    conf = cluster_directory() / "slurm.conf"
    started_here = False
    if not node_idle(conf):
        try:
            result = subprocess.run(
                ["bash", str(START)],
                capture_output=True,
                text=True,
                timeout=300,
            )
        except subprocess.TimeoutExpired:
            pytest.skip("no Slurm cluster: start-slurm.sh took over 300 s")
        if result.returncode != 0:
            reason = (result.stderr or result.stdout).strip().splitlines()
            pytest.skip(f"no Slurm cluster: {reason[-1] if reason else '?'}")
        started_here = True
    previous = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(conf)
    yield conf
    if previous is None:
        del os.environ["SLURM_CONF"]
    else:
        os.environ["SLURM_CONF"] = previous
    if started_here:
        subprocess.run(["bash", str(STOP)], check=False, timeout=120)
