"""Workflows as HTCondor jobs, through law's HTCondor workflow.

law shells out to condor_submit, condor_q, condor_rm and condor_history;
the tests put stand-ins first on PATH (tests/condor/bin) that run the jobs
on this machine and answer in HTCondor's formats.
"""

import base64
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import law
import pytest

from aframe.pipelines.sandbox import Benchmark, Sandbox
from aframe.tasks import testing
from aframe.tasks.infer import Infer
from aframe.tasks.mlgwsc import ChallengeEvents
from aframe_contracts.segments import write_segments
from tests.conftest import first_job_file, load_law_config

pytestmark = pytest.mark.condor

STANDIN = Path(__file__).parents[1] / "condor"


@pytest.fixture
def condor(tmp_path, monkeypatch):
    """The stand-in HTCondor commands, first on PATH, and their queue."""
    queue = tmp_path / "condor-queue"
    monkeypatch.setenv("PATH", f"{STANDIN / 'bin'}:{os.environ['PATH']}")
    monkeypatch.setenv("CONDOR_STANDIN_DIR", str(queue))
    yield queue
    # a failed test may leave jobs running: end them
    for path in (queue / "jobs").glob("*.json"):
        job = json.loads(path.read_text())
        if job["JobStatus"] == 2 and job.get("pid"):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(job["pid"], signal.SIGTERM)


def jobs(queue: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in (queue / "jobs").glob("*.json")]


def submit_file(task: law.BaseWorkflow, monkeypatch) -> dict[str, str]:
    """The submit commands law writes for the first branch of ``task``."""
    path = first_job_file(task, monkeypatch, {1: [0]})
    commands = {}
    for line in Path(path).read_text().splitlines():
        key, sep, value = line.partition(" = ")
        if sep:
            commands.setdefault(key, value)
    return commands


def job_arguments(commands: dict[str, str]) -> str:
    """The ``law run`` parameters of the first job (law base64-encodes
    them into the job's arguments in the wrapper script)."""
    wrapper = Path(commands["initialdir"], "jobs", commands["executable"])
    text = wrapper.read_text()
    line = text.split("htcondor_job_arguments_map=(")[1].splitlines()[1]
    encoded = line.split('"')[1].split()[2]
    return base64.b64decode(encoded).decode()


def test_workflow_and_resources_come_from_the_cfg(experiment):
    directory = experiment()
    cfg = directory / "sandbox.cfg"
    cfg.write_text(
        cfg.read_text()
        + "\n[pipeline]\nworkflow = htcondor\nrequest_memory = 6GB\n"
        "\n[luigi_TestingBackground]\nrequest_memory = 2GB\n"
    )
    load_law_config(cfg)
    sandbox = Sandbox()
    infer = Infer.req(sandbox, train_task=sandbox.train_task)
    background = testing.TestingBackground.req(sandbox)
    assert infer.workflow == background.workflow == "htcondor"
    assert infer.effective_workflow == "htcondor"
    # [pipeline] for all, the task's section for one, base.cfg's Infer GPU
    assert infer.request_memory == "6GB"
    assert background.request_memory == "2GB"
    assert infer.request_gpus == 1
    # resources are the task's own, never those of the task requiring it
    assert infer.workflow_requires()["background"].request_gpus == 0
    # the command line still wins
    assert testing.TestingBackground.req(
        sandbox, workflow="local"
    ).workflow == ("local")


def test_submit_file_has_only_what_is_configured(
    experiment, condor, monkeypatch, tmp_path
):
    experiment()
    background = testing.TestingBackground.req(Sandbox(), workflow="htcondor")
    commands = submit_file(background, monkeypatch)
    assert commands["request_memory"] == "4GB"
    assert commands["request_cpus"] == "1"
    assert commands["request_disk"] == "1GB"
    for absent in (
        "request_gpus",
        "accounting_group",
        "accounting_group_user",
        "use_x509userproxy",
    ):
        assert absent not in commands
    assert "None" not in " ".join(commands.values())
    assert "BEARER_TOKEN_FILE" not in commands["environment"]
    condor_dir = Path(os.environ["AFRAME_CONDOR_DIR"]) / "testing_background"
    assert commands["initialdir"] == str(condor_dir)
    assert commands["log"].startswith(str(condor_dir / "logs"))

    image_dir = tmp_path / "images"
    image_dir.mkdir()
    (image_dir / "data.sif").touch()
    token = tmp_path / "token"
    configured = testing.TestingBackground.req(
        Sandbox(),
        workflow="htcondor",
        request_gpus=2,
        accounting_group="ligo.dev.o4.cbc.allsky.aframe",
        accounting_group_user="albert.einstein",
        use_x509userproxy=True,
        bearer_token_file=str(token),
        container="apptainer",
        image_dir=str(image_dir),
    )
    commands = submit_file(configured, monkeypatch)
    assert commands["request_gpus"] == "2"
    assert commands["accounting_group"] == "ligo.dev.o4.cbc.allsky.aframe"
    assert commands["accounting_group_user"] == "albert.einstein"
    assert commands["use_x509userproxy"] == "true"
    assert f"BEARER_TOKEN_FILE={token}" in commands["environment"]
    # the job runs in the stage's image, and the stage directly inside it
    assert commands["universe"] == "container"
    assert commands["container_image"] == str(image_dir / "data.sif")
    arguments = shlex.split(job_arguments(commands))
    assert "--container=local" in arguments
    assert "--container=apptainer" not in arguments


def test_mlgwsc1_events_run_as_condor_jobs(experiment, condor, monkeypatch):
    directory = experiment()
    score = Benchmark(mlgwsc_duration=7200).requires()[0]
    events = ChallengeEvents.req(score, workflow="htcondor")
    start = 1238166018
    write_segments(
        [(start, start + 7200)],
        directory / "data/test/mlgwsc/dataset1-7200-1/segments.txt",
    )
    # one GPU per job, as inference (base.cfg)
    assert events.request_gpus == 1
    commands = submit_file(events, monkeypatch)
    assert commands["request_gpus"] == "1"
    condor_dir = Path(os.environ["AFRAME_CONDOR_DIR"]) / "challenge_events"
    assert commands["initialdir"] == str(condor_dir)
    arguments = shlex.split(job_arguments(commands))
    # the job carries the set and the serving settings to the node
    for argument in (
        "--dataset=1",
        "--mlgwsc-duration=7200",
        "--backend=local",
    ):
        assert argument in arguments


def law_run(*args: str) -> subprocess.CompletedProcess:
    law = Path(sys.executable).parent / "law"
    return subprocess.run(
        [str(law), "run", *args],
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_background_workflow_runs_as_condor_jobs(
    experiment, condor, monkeypatch
):
    directory = experiment()
    # the first job to start fails, as on a broken execute node
    monkeypatch.setenv("CONDOR_STANDIN_FAILURES", "1")
    result = law_run(
        "aframe.tasks.testing.TestingBackground",
        "--workflow",
        "htcondor",
        "--poll-interval",
        "1s",
        "--retries",
        "1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "going to submit 1 htcondor job(s)" in result.stdout

    # two branches, three jobs: one failed and was resubmitted
    finished = jobs(condor)
    assert sorted(j["ExitCode"] for j in finished) == [0, 0, 1]
    assert {j["JobStatus"] for j in finished} == {4}
    submission = json.loads(
        (
            directory / "condor/testing_background/htcondor_jobs_0To2.json"
        ).read_text()
    )
    assert submission["attempts"] == {"1": 1}
    assert {j["status"] for j in submission["jobs"].values()} == {"finished"}

    # the jobs wrote the branches' outputs, with the experiment's settings
    # that the bootstrap carried to the execute node
    for start in (1240583383, 1240585183):
        path = directory / f"data/test/background/background-{start}-1800.hdf5"
        with h5py.File(path) as f:
            assert f.attrs["t0"] == start
            assert f["H1"].shape == (1800 * 1024,)

    logs = directory / "condor/testing_background/logs"
    user_log = (logs / "job_0To1.log").read_text()
    assert "(return value 1)" in user_log
    assert user_log.rstrip(".\n").endswith("(return value 0)")
    stdout = (logs / "stdout_1To2.txt").read_text()
    # the job started without this environment; the bootstrap activated it
    assert f"PATH           : {Path(sys.prefix, 'bin')}:" in stdout
    assert f"found law at {Path(sys.prefix)}" in stdout
    assert "task exit code: 0" in stdout
    assert "run bootstrap file" in stdout
