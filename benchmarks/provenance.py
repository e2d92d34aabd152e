"""What checking provenance costs as the time-slid background grows.

A finished task is complete only while its provenance record matches the
record it would write now, which takes the digests of everything
upstream (``aframe.base.StageTask.up_to_date``).  A workflow checks all
its branches (``workflow_complete``), then the scheduler asks each
branch's ``complete()``; the digests computed are kept for the process.
This measures both, per inference branch, on a quickstart experiment in a
temporary directory whose test span is ``--test-hours`` long (segment
lists written, no data made), for each ``--Tb``.

Usage::

    .venv/bin/python benchmarks/provenance.py [--Tb 86400 604800] \\
        [--test-hours 24]

Per inference branch, in milliseconds: ``law``, the baseline, is what the
scheduler does for a branch without provenance (instantiate its
requirements, look for its outputs); ``workflow``, the workflow's check
of all branches, which fills the process's digests
(``aframe.provenance.DIGESTS``); ``branch``, a branch's own check after
that, as the scheduler asks each; ``alone``, a branch's check with a memo
of its own, as before the process kept the digests.  The ratio is
``branch`` against ``law``.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHUNK = 1800.0  # the quickstart's test chunks (s)


def measure(Tb: float, test_hours: float) -> dict:
    """Seconds to record the Infer workflow with one memo, and per branch
    with a memo each, in this process (law's config is process-wide)."""
    from aframe import paths
    from aframe.init import init

    directory = Path(tempfile.mkdtemp()) / "experiment"
    init(directory, "sandbox", "quickstart")
    for name, variable in paths.ROOTS.items():
        os.environ[variable] = str(directory / paths.ROOT_LAYOUT[name])
    train_stop = 1240583383
    test_stop = train_stop + test_hours * 3600
    # the preset's own cfg holds the [pipeline] values to change
    preset = directory / "quickstart.cfg"
    text = re.sub(r"(?m)^Tb = .*$", f"Tb = {Tb:.0f}", preset.read_text())
    text = re.sub(r"(?m)^test_stop = .*$", f"test_stop = {test_stop}", text)
    preset.write_text(text)
    cfg = directory / "sandbox.cfg"
    os.environ["LAW_CONFIG_FILE"] = str(cfg)

    import law

    law.config.Config.instance(str(cfg))
    from aframe.pipelines.sandbox import Sandbox
    from aframe.provenance import DIGESTS
    from aframe.tasks.infer import Infer
    from aframe_contracts.segments import write_segments

    write_segments(
        [(train_stop, test_stop)], directory / "data/test/segments.txt"
    )
    write_segments(
        [(1240579783, train_stop)], directory / "data/train/segments.txt"
    )
    workflow = Infer.req(Sandbox())
    start = time.perf_counter()
    branches = list(workflow.get_branch_tasks().values())
    branch_map = time.perf_counter() - start

    # the workflow's check: every branch, with the process's digests
    start = time.perf_counter()
    digests = [branch.provenance_digest(DIGESTS) for branch in branches]
    shared = time.perf_counter() - start
    assert None not in digests

    # then each branch's own check, as the scheduler asks it, on a sample
    sample = branches[:: max(1, len(branches) // 20)]
    start = time.perf_counter()
    for branch in sample:
        branch.provenance(DIGESTS)
    again = (time.perf_counter() - start) / len(sample)
    # alone: with a memo of its own, the whole upstream again
    # the baseline: what the scheduler does for a branch without
    # provenance, its requirements and whether its outputs exist
    start = time.perf_counter()
    for branch in sample:
        law.util.flatten(branch.requires())
        [target.exists() for target in law.util.flatten(branch.output())]
    own = (time.perf_counter() - start) / len(sample)
    start = time.perf_counter()
    for branch in sample:
        branch.provenance({})
    alone = (time.perf_counter() - start) / len(sample)
    return {
        "Tb": Tb,
        "branches": len(branches),
        "branch_map_s": branch_map,
        "shared_per_branch_s": shared / len(branches),
        "again_per_branch_s": again,
        "alone_per_branch_s": alone,
        "law_per_branch_s": own,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--Tb", type=float, nargs="+", default=[86400.0])
    parser.add_argument("--test-hours", type=float, default=24.0)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.Tb[0], args.test_hours)))
        return
    print(
        f"{'Tb (s)':>9} {'branches':>8} {'map (s)':>7} {'law (ms)':>8} "
        f"{'workflow (ms)':>13} {'branch (ms)':>11} {'alone (ms)':>10} "
        f"{'branch/law':>10}"
    )
    for Tb in args.Tb:
        # a process per Tb: law's and luigi's configuration are global
        out = subprocess.run(
            [sys.executable, __file__, "--one", "--Tb", str(Tb)]
            + ["--test-hours", str(args.test_hours)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        own, again = r["law_per_branch_s"], r["again_per_branch_s"]
        shared, alone = r["shared_per_branch_s"], r["alone_per_branch_s"]
        print(
            f"{Tb:>9.0f} {r['branches']:>8d} {r['branch_map_s']:>7.2f} "
            f"{1e3 * own:>8.1f} {1e3 * shared:>13.1f} {1e3 * again:>11.1f} "
            f"{1e3 * alone:>10.1f} {again / own:>10.1f}"
        )


if __name__ == "__main__":
    main()
