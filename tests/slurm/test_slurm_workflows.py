"""Workflows as Slurm jobs, on a real one-node Slurm cluster.

The cluster is the one cluster/start-slurm.sh starts (see conftest.py):
sbatch, squeue, scancel and sacct are Slurm's own, and so are the jobs.
The pipelines are tiny and law polls every second, to keep these quick.
"""

import base64
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import law
import numpy as np
import pytest

from aframe import paths
from aframe.init import init
from aframe.pipelines.sandbox import Sandbox
from aframe.slurm import SlurmJobs, sbatch_memory
from aframe.tasks import data, testing
from tests.conftest import first_job_file

pytestmark = pytest.mark.slurm

# the stand-in for the apptainer command (tests/apptainer's docstring)
STAND_IN = Path(__file__).parents[1] / "apptainer"

# few injections, so that the jobs are quick: 101 fit in a timeslide,
# so these go in the first of each chunk and the second of the first
SMALL_CFG = """
[luigi_TestingWaveforms]
num_injections = 250
"""
# every workflow as Slurm jobs, polled each second, a failed job
# resubmitted once
SLURM_CFG = (
    SMALL_CFG
    + """
[pipeline]
workflow = slurm
poll_interval = 1s
retries = 1
"""
)


def make_experiment(directory: Path, cfg: str = "") -> dict[str, str]:
    """A quickstart experiment with ``cfg`` appended to its sandbox.cfg;
    the environment run.sh would give law."""
    init(directory, "sandbox", "quickstart")
    sandbox_cfg = directory / "sandbox.cfg"
    sandbox_cfg.write_text(sandbox_cfg.read_text() + cfg)
    env = dict(os.environ, LAW_CONFIG_FILE=str(sandbox_cfg))
    for name, variable in paths.ROOTS.items():
        env[variable] = str(directory / paths.ROOT_LAYOUT[name])
    return env


def law_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "law"), "run", *args]


def law_run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        law_command(*args),
        env=env,
        cwd=env["AFRAME_CONDOR_DIR"].rsplit("/", 1)[0],
        capture_output=True,
        text=True,
        timeout=300,
    )


def slurm_jobs(directory: Path) -> list[dict[str, str]]:
    """The Slurm jobs an experiment submitted, finished ones too: those
    whose working directory (law's job directory) lies in it."""
    result = subprocess.run(
        [
            "squeue",
            "--states=all",
            "--noheader",
            "--Format",
            "JobID:|,Name:|,State:|,WorkDir:",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    jobs = []
    for line in result.stdout.splitlines():
        job_id, name, state, workdir = line.strip().split("|")
        if workdir.startswith(str(directory) + "/"):
            jobs.append(
                {"id": job_id, "name": name, "state": state, "dir": workdir}
            )
    return jobs


def wait_for(condition, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def hdf5_contents(path: Path) -> dict:
    """Every dataset and attribute of an HDF5 file, by name."""
    contents = {}
    with h5py.File(path) as f:
        contents["/"] = dict(f.attrs)

        def visit(name, item):
            contents[name] = dict(item.attrs)
            if isinstance(item, h5py.Dataset):
                contents[name + "[]"] = item[()]

        f.visititems(visit)
    return contents


def assert_same(left: dict, right: dict, where: Path) -> None:
    assert left.keys() == right.keys(), where
    for key in left:
        a, b = left[key], right[key]
        if isinstance(a, dict):
            assert_same(a, b, where)
        else:
            assert np.array_equal(np.asarray(a), np.asarray(b)), (where, key)


# ------------------------------------------------------------ the sbatch file


def sbatch_file(task: law.BaseWorkflow, monkeypatch) -> tuple[str, str]:
    """The sbatch file law writes for the first branch of ``task``, and
    the wrapper it runs."""
    sbatch = first_job_file(task, monkeypatch, 1, [0]).read_text()
    wrapper = Path(shlex.split(sbatch.strip().splitlines()[-1])[0])
    return sbatch, wrapper.read_text()


def sbatch_options(sbatch: str) -> list[str]:
    return [
        line.removeprefix("#SBATCH ")
        for line in sbatch.splitlines()
        if line.startswith("#SBATCH ")
    ]


def test_sbatch_files_hold_the_cfgs_resources(
    experiment, monkeypatch, tmp_path
):
    directory = experiment()
    cfg = directory / "sandbox.cfg"
    cfg.write_text(
        cfg.read_text()
        + "\n[pipeline]\nworkflow = slurm\nslurm_partition = gpu\n"
        "request_memory = 6GB\nslurm_time = 0:30:00\n"
        "slurm_options = --account=ligo --qos='high'\n"
        "\n[luigi_TestingBackground]\nrequest_cpus = 2\n"
        "\n[luigi_TrainingWaveforms]\nrequest_gpus = 1\n"
        "slurm_options =\n"
    )
    from tests.conftest import load_law_config

    load_law_config(cfg)
    background = testing.TestingBackground.req(Sandbox())
    assert background.effective_workflow == "slurm"
    sbatch, wrapper = sbatch_file(background, monkeypatch)
    logs = directory / "condor/slurm/testing_background/logs"
    assert sbatch_options(sbatch)[1:] == [
        "--partition=gpu",
        f"--output={logs}/stdout_0To1.txt",
        f"--error={logs}/stderr_0To1.txt",
        f"--chdir={directory}/condor/slurm/testing_background",
        "--cpus-per-task=2",
        "--mem=6G",
        "--time=0:30:00",
        "--account=ligo",
        "--qos=high",
    ]
    # no GPU asked, none requested; the job runs in this environment
    assert "gres" not in sbatch
    assert 'if [ "local" = "apptainer" ]' in wrapper

    # a GPU job, inside the stage's image
    image_dir = tmp_path / "images"
    image_dir.mkdir()
    (image_dir / "data.sif").touch()
    waveforms = data.TrainingWaveforms.req(
        Sandbox(), container="apptainer", image_dir=str(image_dir)
    )
    sbatch, wrapper = sbatch_file(waveforms, monkeypatch)
    options = sbatch_options(sbatch)
    assert "--gres=gpu:1" in options
    assert "--mem=6G" in options and "--cpus-per-task=1" in options
    assert not any(o.startswith("--account") for o in options)
    assert 'if [ "apptainer" = "apptainer" ]' in wrapper
    command = wrapper.split("exec apptainer exec --cleanenv ")[1]
    assert command.startswith("--nv ")
    assert f'"{image_dir / "data.sif"}"' in command
    for root in ("condor/slurm/training_waveforms", "data/train", "tmp"):
        path = directory / root
        assert f"--bind {path}:{path}" in command
    # inside the image the stage runs directly, on the GPU Slurm gave
    # (law base64-encodes the job's law run parameters)
    encoded = shlex.split(sbatch.strip().splitlines()[-1])[3]
    arguments = shlex.split(base64.b64decode(encoded).decode())
    assert "--container=local" in arguments
    assert "--gpus=" in arguments


def test_a_memory_request_must_be_a_size():
    assert sbatch_memory("4GB") == "4G"
    assert sbatch_memory("4096") == "4096"
    assert sbatch_memory("512mb") == "512M"
    with pytest.raises(ValueError, match="request_memory = 'lots'"):
        sbatch_memory("lots")


# ----------------------------------------------------- on the real cluster


def test_workflows_run_as_slurm_jobs_and_equal_a_local_run(
    slurm_cluster, tmp_path
):
    local = tmp_path / "local"
    local_env = make_experiment(local, SMALL_CFG)
    on_slurm = tmp_path / "slurm"
    slurm_env = make_experiment(on_slurm, SLURM_CFG)
    task = "aframe.tasks.testing.TestingWaveforms"

    result = law_run(slurm_env, task)
    assert result.returncode == 0, result.stdout + result.stderr
    result = law_run(local_env, task, "--workers", "2")
    assert result.returncode == 0, result.stdout + result.stderr

    # background, then injections: two chunks each, one job a chunk
    jobs = slurm_jobs(on_slurm)
    assert len(jobs) == 4
    assert {j["state"] for j in jobs} == {"COMPLETED"}
    for family in ("testing_background", "testing_waveforms"):
        logs = on_slurm / "condor/slurm" / family / "logs"
        for branches in ("0To1", "1To2"):
            stdout = (logs / f"stdout_{branches}.txt").read_text()
            assert "task exit code: 0" in stdout
            assert (logs / f"stderr_{branches}.txt").exists()

    # the background, and the injections of every timeslide
    outputs = sorted(p.relative_to(local) for p in local.rglob("*.hdf5"))
    assert outputs == sorted(
        p.relative_to(on_slurm) for p in on_slurm.rglob("*.hdf5")
    )
    assert len(outputs) > 4
    for path in outputs:
        assert_same(
            hdf5_contents(local / path), hdf5_contents(on_slurm / path), path
        )


def test_a_failing_job_is_retried_then_reported_with_its_log(
    slurm_cluster, tmp_path
):
    # a PSD the data stage does not know: it fails in the job, each time;
    # one branch only (the test segment in one piece), as law stops at
    # the first job that fails for good
    directory = tmp_path / "exp"
    env = make_experiment(directory, SLURM_CFG)
    result = law_run(
        env,
        "aframe.tasks.testing.TestingBackground",
        "--noise-psd",
        "no_such_psd",
        "--max-duration",
        "3600",
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    # submitted, failed, resubmitted once, failed
    jobs = slurm_jobs(directory)
    assert [j["state"] for j in jobs] == ["FAILED", "FAILED"]
    assert {j["name"].rsplit("_", 1)[1] for j in jobs} == {"0To1"}
    stderr = directory / "condor/slurm/testing_background/logs"
    stderr = stderr / "stderr_0To1.txt"
    failure = "code: 60, error: FAILED (NonZeroExitCode)"
    assert output.count(f"status: retry, {failure}") == 1
    assert f"status: failed, {failure}" in output
    assert f"log: {stderr}" in output
    assert "no_such_psd" in stderr.read_text()


@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"]
)
def test_interrupting_law_cancels_its_jobs(slurm_cluster, tmp_path, signum):
    directory = tmp_path / "exp"
    env = make_experiment(directory, SLURM_CFG)
    law = subprocess.Popen(
        law_command("aframe.tasks.testing.TestingBackground"),
        env=env,
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(
            lambda: (
                [j for j in slurm_jobs(directory) if j["state"]]
                and all(j["state"] == "RUNNING" for j in slurm_jobs(directory))
                and len(slurm_jobs(directory)) == 2
            ),
            60,
            "two running jobs",
        )
        law.send_signal(signum)
        output, _ = law.communicate(timeout=60)
    finally:
        if law.poll() is None:
            law.kill()
    assert law.returncode != 0
    assert "cancelled Slurm job(s)" in output, output
    wait_for(
        lambda: all(j["state"] == "CANCELLED" for j in slurm_jobs(directory)),
        30,
        "the jobs to be cancelled",
    )
    assert len(slurm_jobs(directory)) == 2
    assert not list((directory / "data").rglob("background-*.hdf5"))
    # law's record of the cancelled jobs is gone: a rerun submits anew
    job_dir = directory / "condor/slurm/testing_background"
    assert not list(job_dir.glob("slurm_jobs_*.json"))


class BothBackgrounds(law.WrapperTask):
    """Two Slurm workflows at once: training's and testing's background."""

    def requires(self):
        return [data.TrainingBackground(), testing.TestingBackground()]


def test_sigterm_with_several_workers_cancels_every_workflows_jobs(
    slurm_cluster, tmp_path
):
    """run.sh's lock holder gets SIGTERM (a batch system ending the
    pipeline) while two workflows wait on their jobs, each in a worker
    process of its own: both cancel their jobs."""
    directory = tmp_path / "exp"
    env = make_experiment(directory, SLURM_CFG)
    repo = str(Path(__file__).parents[2])
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (repo, env.get("PYTHONPATH")) if p
    )
    wrapper = f"{__name__}.{BothBackgrounds.__name__}"
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aframe.run_lock",
            str(directory),
            *law_command(wrapper, "--workers", "2"),
        ],
        env=env,
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    names = {"training_background", "testing_background"}

    def families():
        """The workflows with jobs waiting or running (law's job
        directory is condor/slurm/<family>)."""
        return {
            name
            for j in slurm_jobs(directory)
            if j["state"] in ("PENDING", "RUNNING")
            for name in names
            if f"/{name}" in j["dir"]
        }

    try:
        wait_for(
            lambda: (
                families() == {"training_background", "testing_background"}
            ),
            90,
            "both workflows' jobs",
        )
        run.send_signal(signal.SIGTERM)
        output, _ = run.communicate(timeout=90)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode != 0
    assert output.count("cancelled Slurm job(s)") == 2, output
    wait_for(
        lambda: all(j["state"] == "CANCELLED" for j in slurm_jobs(directory)),
        30,
        "every job to be cancelled",
    )


def test_a_rerun_after_a_kill_resumes_only_unfinished_branches(
    slurm_cluster, tmp_path
):
    directory = tmp_path / "exp"
    env = make_experiment(directory, SLURM_CFG)
    task = "aframe.tasks.testing.TestingBackground"
    background = directory / "data/test/background"
    # one job at a time: the first branch ends before the second starts
    law = subprocess.Popen(
        law_command(task, "--parallel-jobs", "1"),
        env=env,
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: len(slurm_jobs(directory)) == 2,
            90,
            "the second branch's job",
        )
    finally:
        # killed outright: nothing cancels the jobs; the cluster loses
        # the one still running as a node failure would
        law.kill()
        law.wait()
    first, second = sorted(slurm_jobs(directory), key=lambda j: int(j["id"]))
    assert first["state"] == "COMPLETED"
    subprocess.run(["scancel", second["id"]], check=True)
    (done,) = background.glob("background-*.hdf5")
    written = done.stat().st_mtime_ns

    result = law_run(env, task, "--parallel-jobs", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "going to submit 1 slurm job(s)" in result.stdout
    jobs = sorted(slurm_jobs(directory), key=lambda j: int(j["id"]))
    # the finished branch was not run again; the lost one was
    assert [j["name"].rsplit("_", 1)[1] for j in jobs] == [
        "0To1",
        "1To2",
        "1To2",
    ]
    assert [j["state"] for j in jobs] == [
        "COMPLETED",
        "CANCELLED",
        "COMPLETED",
    ]
    assert done.stat().st_mtime_ns == written
    assert len(list(background.glob("background-*.hdf5"))) == 2


# ----------------------------------------- jobs squeue no longer lists


def finished_jobs(directory: Path) -> tuple[int, int]:
    """Two jobs run to their end: one that succeeds, one that exits 3."""
    ids = []
    for command in ("true", "exit 3"):
        result = subprocess.run(
            ["sbatch", "--parsable", "--wait", "--output=/dev/null"]
            + ["--wrap", command],
            capture_output=True,
            text=True,
            cwd=directory,
            timeout=120,
        )
        ids.append(int(result.stdout.strip().split(";")[0]))
    return ids[0], ids[1]


def assert_read(done: int, failed: int, source: str) -> None:
    """The job manager reads both jobs' ends (from ``source``, once it
    has them): finished with 0, and failed with 3."""
    states = wait_for(
        lambda: (
            (s := SlurmJobs().query_history([done, failed]))
            and len(s) == 2
            and s
        ),
        30,
        source,
    )
    assert states[done]["status"] == SlurmJobs.FINISHED
    assert states[done]["code"] == 0
    assert states[failed]["status"] == SlurmJobs.FAILED
    assert states[failed]["code"] == 3


def test_finished_jobs_are_read_from_the_completion_log(
    slurm_cluster, tmp_path, monkeypatch
):
    """Without accounting (the cluster's slurm.conf with none), sacct
    reads the job completion log."""
    done, failed = finished_jobs(tmp_path)
    conf = tmp_path / "slurm.conf"
    lines = slurm_cluster.read_text().splitlines()
    lines = [line for line in lines if not line.startswith("Accounting")]
    conf.write_text(
        "\n".join(lines) + "\nAccountingStorageType=accounting_storage/none\n"
    )
    monkeypatch.setenv("SLURM_CONF", str(conf))
    assert_read(done, failed, "the completion log")


def test_finished_jobs_are_read_from_the_accounting_database(
    slurm_cluster, tmp_path
):
    """With slurmdbd (start-slurm.sh starts it with its own MariaDB),
    sacct reads the accounting database."""
    config = subprocess.run(
        ["scontrol", "show", "config"], capture_output=True, text=True
    ).stdout
    if "accounting_storage/slurmdbd" not in config:
        pytest.skip(
            "the cluster has no accounting database: start-slurm.sh could "
            "not start MariaDB and slurmdbd (see its message)"
        )
    done, failed = finished_jobs(tmp_path)
    # the database's own answer, not the completion log's
    accounting = subprocess.run(
        ["sacct", "--noheader", "-X", "--jobs", f"{done},{failed}"],
        capture_output=True,
        text=True,
    )
    assert accounting.returncode == 0, accounting.stderr
    assert_read(done, failed, "the accounting database")


# -------------------------------------------------- a job in its image


def test_a_container_job_runs_in_its_stages_image(slurm_cluster, tmp_path):
    """``container = apptainer``: each Slurm job runs law's job script
    through ``apptainer exec`` in the stage's image.  No Apptainer exists
    here: the stand-in ``tests/apptainer`` (on the jobs' PATH, which
    sbatch passes on) checks the call as the real command would and runs
    it with a container's environment (``--cleanenv``)."""
    directory = tmp_path / "exp"
    env = make_experiment(
        directory,
        SMALL_CFG
        + """
[pipeline]
workflow = slurm
poll_interval = 1s
container = apptainer
image_dir = images
""",
    )
    bin_dir = Path(sys.executable).parent
    calls = tmp_path / "apptainer-calls.jsonl"
    env.update(
        PATH=os.pathsep.join([str(STAND_IN), env["PATH"]]),
        FAKE_APPTAINER_LOG=str(calls),
        FAKE_APPTAINER_BIN=str(bin_dir),
        FAKE_APPTAINER_STATE=str(tmp_path / "state"),
    )
    build = subprocess.run(
        [str(bin_dir / "aframe-build-containers"), "data"],
        env=env,
        cwd=directory,
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    image = directory / "images" / "data.sif"

    result = law_run(env, "aframe.tasks.testing.TestingBackground")
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = slurm_jobs(directory)
    assert len(jobs) == 2 and {j["state"] for j in jobs} == {"COMPLETED"}
    assert len(list((directory / "data").rglob("background-*.hdf5"))) == 2
    # each job ran its job script in the image, with a clean environment
    # and the job directory bound
    execs = [
        json.loads(line)["argv"]
        for line in calls.read_text().splitlines()
        if json.loads(line)["argv"][0] == "exec"
    ]
    jobs_dir = str(directory / "condor/slurm/testing_background")
    in_jobs = [a for a in execs if any(jobs_dir in x for x in a)]
    assert len(in_jobs) == 2, execs
    for argv in in_jobs:
        assert "--cleanenv" in argv and str(image) in argv
        assert argv[argv.index(str(image)) + 1] == "bash"
