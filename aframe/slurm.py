"""Branches as Slurm jobs: law's Slurm workflow, set up for aframe.

``--workflow slurm`` makes a data or inference workflow submit one Slurm
job per branch with sbatch.  Each job runs ``slurm_wrapper.sh``, which runs
law's job script on the node, or inside the stage's Apptainer image with
``container = apptainer``; law's job script sources ``job_bootstrap.sh``
and runs ``law run <Task> --branch N`` (see ``aframe.jobs``).

Layout under ``AFRAME_CONDOR_DIR`` (the experiment's job directory)::

    slurm/<task>/slurm_jobs_<branches>.json   law's record of the jobs
    slurm/<task>/jobs/                        sbatch files and scripts
    slurm/<task>/logs/                        each job's stdout and stderr

A job's state is read with ``squeue --states=all``, which lists finished
jobs for the cluster's MinJobAge without Slurm accounting; a job gone
from it is looked up with sacct, in the accounting database where one
exists, else in the job completion log.  Interrupting the workflow
(Ctrl-C, SIGTERM) cancels the jobs it submitted.
"""

import contextlib
import re
import shlex
import signal
import subprocess
import threading
from pathlib import Path

import law
import luigi

from aframe.base import stage_image
from aframe.jobs import BOOTSTRAP, JobResources, job_directory

law.contrib.load("slurm")

# law.slurm exports the workflow, not its proxy
from law.contrib.slurm.workflow import SlurmWorkflowProxy  # noqa: E402

WRAPPER = Path(__file__).with_name("slurm_wrapper.sh")

# a memory request as HTCondor takes it (4GB, 512MB, 4096) and as sbatch
# --mem does (4G, 512M, 4096: megabytes without a unit)
MEMORY = re.compile(r"^\s*(\d+)\s*([KMGT]?)B?\s*$", re.IGNORECASE)


def sbatch_memory(request: str) -> str:
    """``4GB`` -> ``4G``: the ``--mem`` value of a memory request."""
    match = MEMORY.match(request)
    if not match:
        raise ValueError(
            f"request_memory = {request!r} is not a memory size: give a "
            "number of megabytes or one with a unit (e.g. 4096, 4GB, 512MB)"
        )
    number, unit = match.groups()
    return number + unit.upper()


class SlurmJobs(law.slurm.SlurmJobManager):
    """law's Slurm job manager, reading job states without accounting.

    law asks squeue for jobs in the queue and sacct for the others, so
    without slurmdbd every finished job is a failed query.  Here squeue
    is asked for every state (a finished job stays listed for MinJobAge
    seconds), and only jobs it no longer knows are looked up: with sacct
    where accounting exists, else in the job completion log (``sacct
    -c``).
    """

    squeue_fields = "JobID:|,State:|,exit_code:|,Reason:"
    completion_format = "JobID,State,ExitCode"
    completion_cre = re.compile(r"^\s*(\d+)\s+(\S+)\s+(-?\d+):(-?\d+)\s*$")

    def query(self, job_id, partition=None, silent=False, _processes=None):
        chunking = isinstance(job_id, (list, tuple))
        job_ids = law.util.make_list(job_id)
        command = [
            "squeue",
            "--states=all",
            "--noheader",
            "--Format",
            self.squeue_fields,
            "--jobs",
            ",".join(map(str, job_ids)),
        ]
        code, out, err = law.util.interruptable_popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            kill_timeout=2,
            processes=_processes,
        )
        if code != 0 and "invalid job id" not in err.lower():
            if silent:
                return None
            raise Exception(
                f"squeue could not list Slurm job(s) {job_id} (exit code "
                f"{code}): {err.strip()}"
            )
        states = self.parse_squeue_states(out) if code == 0 else {}

        missing = [i for i in job_ids if i not in states]
        if missing:
            states.update(self.query_history(missing))
        for i in job_ids:
            if i not in states:
                states[i] = self.job_status_dict(
                    job_id=i,
                    status=self.FAILED,
                    error="Slurm no longer knows the job (not in squeue "
                    "--states=all, and no accounting or completion log "
                    "has it)",
                )
        if chunking:
            return states
        return states[job_id]

    @classmethod
    def parse_squeue_states(cls, out: str) -> dict:
        """States of ``squeue --Format JobID:|,State:|,exit_code:|,Reason:``
        lines, whose exit code is the job's wait status."""
        states = {}
        for line in out.strip().splitlines():
            fields = line.strip().split("|")
            if len(fields) != 4 or not fields[0].isdigit():
                continue
            job_id, state, wait_status, reason = fields
            status = cls.map_status(state)
            code = int(wait_status) >> 8 if wait_status.isdigit() else None
            error = None
            if status == cls.FAILED:
                error = f"{state} ({reason})"
            states[int(job_id)] = cls.job_status_dict(
                job_id=int(job_id), status=status, code=code, error=error
            )
        return states

    def query_history(self, job_ids: list[int]) -> dict:
        """States of jobs squeue no longer lists: from the accounting
        database, else from the job completion log."""
        ids = ",".join(map(str, job_ids))
        accounting = subprocess.run(
            [
                "sacct",
                "--noheader",
                "--format",
                self.sacct_format,
                "--jobs",
                ids,
            ],
            capture_output=True,
            text=True,
        )
        if accounting.returncode == 0:
            return self.parse_sacct_output(accounting.stdout)
        completion = subprocess.run(
            [
                "sacct",
                "--completion",
                "--noheader",
                "--format",
                self.completion_format,
                "--jobs",
                ids,
            ],
            capture_output=True,
            text=True,
        )
        if completion.returncode != 0:
            return {}
        states = {}
        for line in completion.stdout.splitlines():
            match = self.completion_cre.match(line)
            if not match:
                continue
            job_id, state, code = int(match[1]), match[2], int(match[3])
            status = self.map_status(state)
            if code != 0:
                status = self.FAILED
            states[job_id] = self.job_status_dict(
                job_id=job_id,
                status=status,
                code=code,
                error=state if status == self.FAILED else None,
            )
        return states


class SlurmJobsProxy(SlurmWorkflowProxy):
    """Reports a failed job with its stderr file, where its traceback is."""

    def get_extra_submission_data(self, job_file, job_id, config, log=None):
        extra = super().get_extra_submission_data(
            job_file, job_id, config, log=log
        )
        extra["log"] = config.stderr
        extra["stdout"] = config.stdout
        return extra


class Interrupted(KeyboardInterrupt):
    """SIGTERM arrived while the workflow waited on its jobs."""


@contextlib.contextmanager
def cancelled_on_interrupt(workflow: "SlurmWorkflow"):
    """Cancel the workflow's jobs if Ctrl-C or SIGTERM ends the wait.

    SIGTERM (a batch system ending the pipeline, ``kill``) is turned into
    an exception while the workflow waits, so that it unwinds through
    here as Ctrl-C does; signal handlers exist in the main thread only.
    """
    previous = None
    if threading.current_thread() is threading.main_thread():

        def interrupt(signum, frame):
            raise Interrupted(f"signal {signum}")

        previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    except KeyboardInterrupt:
        workflow.cancel_submitted_jobs()
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class SlurmWorkflow(JobResources, law.slurm.SlurmWorkflow):
    """law's Slurm workflow with aframe's paths, resources and setup.

    Subclasses are stage tasks: ``stage``, ``container`` and ``image_dir``
    pick the image the jobs run in when ``container = apptainer``.
    """

    workflow_proxy_cls = SlurmJobsProxy

    slurm_time = luigi.OptionalParameter(
        default=None,
        significant=False,
        description="wall-time limit of one Slurm job (sbatch --time, e.g. "
        "2:00:00 or 1-00:00:00); empty for the partition's",
    )
    slurm_options = luigi.Parameter(
        default="",
        significant=False,
        description="more sbatch options for every Slurm job, as on "
        "sbatch's command line (e.g. --account=ligo --constraint=a100)",
    )

    # read from [pipeline] unless the task's own section sets them (see
    # aframe.workflows.Workflow); slurm_partition is law's
    slurm_params = JobResources.resource_params | frozenset(
        {"slurm_partition", "slurm_time", "slurm_options"}
    )
    # each task resolves its own resources (see CondorWorkflow)
    exclude_params_req = set(slurm_params)

    def slurm_output_directory(self) -> law.LocalDirectoryTarget:
        return law.LocalDirectoryTarget(
            job_directory("slurm", self.task_family)
        )

    def slurm_log_directory(self) -> law.LocalDirectoryTarget:
        return self.slurm_output_directory().child("logs", type="d")

    def slurm_create_job_file_factory(self, **kwargs):
        # sbatch files beside the logs, kept after the run for inspection,
        # instead of law's temporary directory
        jobs = self.slurm_output_directory().child("jobs", type="d")
        jobs.touch()
        kwargs.setdefault("dir", jobs.abspath)
        kwargs.setdefault("mkdtemp", False)
        kwargs.setdefault("cleanup", False)
        # law's default (slurm_job.sh) reads like the wrapper's name
        kwargs.setdefault("file_name", "sbatch.sh")
        return super().slurm_create_job_file_factory(**kwargs)

    def slurm_job_manager_cls(self):
        return SlurmJobs

    def slurm_bootstrap_file(self) -> law.JobInputFile:
        # rendered at submission with the variables of slurm_job_config
        return law.JobInputFile(
            BOOTSTRAP, copy=True, render_local=True, increment=True
        )

    def slurm_wrapper_file(self) -> law.JobInputFile:
        return law.JobInputFile(
            WRAPPER, copy=True, render_local=True, increment=True
        )

    def slurm_use_local_scheduler(self) -> bool:
        # a job cannot reach the scheduler of the submitting process
        return True

    def slurm_cmdline_args(self) -> dict[str, str]:
        return self.job_cmdline_args()

    def slurm_check_job_completeness(self) -> bool:
        # a job that ended well but left no output failed
        return True

    def slurm_workflow_run_context(self):
        return cancelled_on_interrupt(self)

    def slurm_job_config(self, config, job_num, branches):
        config.render_variables.update(self.bootstrap_variables())
        image, options = "", ""
        if self.in_container():
            image, options = self.container_invocation()
        config.render_variables.update(
            aframe_image=image, aframe_apptainer_options=options
        )
        # law puts these in the log directory, postfixed with the branches
        config.stdout = "stdout.txt"
        config.stderr = "stderr.txt"
        config.custom_content.extend(self.sbatch_options())
        return config

    def sbatch_options(self) -> list:
        """The ``#SBATCH`` lines aframe adds to law's (which has the job's
        name, partition and output files).

        Options that are not configured are left out, so that the
        partition's defaults apply.
        """
        options = [("cpus-per-task", str(self.request_cpus))]
        if self.request_memory:
            options.append(("mem", sbatch_memory(self.request_memory)))
        if self.slurm_time:
            options.append(("time", self.slurm_time))
        if self.request_gpus > 0:
            options.append(("gres", f"gpu:{self.request_gpus}"))
        for option in shlex.split(self.slurm_options or ""):
            if not option.startswith("-"):
                raise ValueError(
                    f"slurm_options = {self.slurm_options!r}: {option!r} is "
                    "not an sbatch option (they start with - or --)"
                )
            options.append(f"#SBATCH {option}")
        return options

    def container_invocation(self) -> tuple[str, str]:
        """The stage's image and the ``apptainer exec`` options of a job
        inside it: GPUs, and the experiment's directories at their own
        paths, the job's directory among them."""
        image = stage_image(self.image_dir, self.stage)
        if not image.exists():
            raise FileNotFoundError(
                f"the Apptainer image of the {self.stage} stage, {image}, "
                "does not exist: build it or set container = local in the "
                "[pipeline] section"
            )
        options = ["--nv"] if getattr(self, "uses_gpu", False) else []
        binds = [*self._binds(), job_directory("slurm", self.task_family)]
        for path in dict.fromkeys(str(p) for p in binds):
            options += ["--bind", f"{path}:{path}"]
        return str(image), shlex.join(options)

    def cancel_submitted_jobs(self) -> None:
        """scancel the jobs this workflow submitted, and forget them.

        With the jobs gone, law's record of them only stands in the way:
        a rerun submits jobs for the branches that are still incomplete.
        """
        proxy = self.workflow_proxy
        dummy = proxy.job_data.dummy_job_id
        job_ids = [
            str(data["job_id"])
            for data in proxy.job_data.jobs.values()
            if data["job_id"] not in (None, dummy)
        ]
        if not job_ids:
            return
        result = subprocess.run(
            ["scancel", *job_ids], capture_output=True, text=True
        )
        if result.returncode != 0:
            # the record stays, so that a rerun finds the jobs again
            print(
                f"scancel could not cancel Slurm job(s) {', '.join(job_ids)}"
                f": {result.stderr.strip()}"
            )
            return
        print(f"cancelled Slurm job(s) {', '.join(job_ids)}")
        proxy.get_cached_output()["jobs"].remove()
