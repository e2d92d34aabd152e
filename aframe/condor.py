"""Branches as HTCondor jobs: law's HTCondor workflow, set up for aframe.

``--workflow htcondor`` makes a data or inference workflow submit one
HTCondor job per branch.  Each job runs law's job script on the execute
node, which sources ``condor_bootstrap.sh`` (the environment this process
runs in, or the stage's image) and then runs ``law run <Task> --branch N``.

Layout under ``AFRAME_CONDOR_DIR``::

    <task>/htcondor_jobs_<branches>.json   law's record of the jobs
    <task>/jobs/                           submit files and scripts
    <task>/logs/                           job stdout, stderr, log

The resources a job requests, its accounting group and the credentials it
carries are task parameters, set in the ``[pipeline]`` section of the cfg
or per task in ``[luigi_<Task>]``.
"""

import os
import re
import shlex
import sys
from pathlib import Path

import law
import luigi

from aframe import paths
from aframe.base import stage_image

law.contrib.load("htcondor")

BOOTSTRAP = Path(__file__).with_name("condor_bootstrap.sh")

# variables, besides the data roots, that the job needs to find the
# experiment again
FORWARDED = ("LAW_CONFIG_FILE",)


def snake_case(name: str) -> str:
    """``TestingBackground`` -> ``testing_background``."""
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", name).lower()


def environment_exports() -> str:
    """``export`` lines of the data roots and the law cfg, for the job.

    A root that is unset here stays unset there, so the job fails with
    the same message a local run would give, rather than writing into its
    scratch directory.
    """
    names = [*paths.ROOTS.values(), *FORWARDED]
    return "\n    ".join(
        f"export {name}={shlex.quote(os.environ[name])}"
        for name in names
        if os.environ.get(name)
    )


def submitting_environment() -> Path:
    """The virtual environment (or Python prefix) this process runs in."""
    return Path(sys.prefix)


class CondorWorkflow(law.htcondor.HTCondorWorkflow):
    """law's HTCondor workflow with aframe's paths, resources and setup.

    Subclasses are stage tasks: ``stage``, ``container`` and ``image_dir``
    pick the image the jobs run in when ``container = apptainer``.
    """

    request_memory = luigi.Parameter(
        default="4GB",
        significant=False,
        description="memory of one HTCondor job (e.g. 4GB or 4096, in MB)",
    )
    request_disk = luigi.Parameter(
        default="1GB",
        significant=False,
        description="scratch disk of one HTCondor job (e.g. 1GB)",
    )
    request_cpus = luigi.IntParameter(
        default=1,
        significant=False,
        description="CPU cores of one HTCondor job; the stage uses that "
        "many threads",
    )
    request_gpus = luigi.IntParameter(
        default=0,
        significant=False,
        description="GPUs of one HTCondor job; 0 requests none",
    )
    accounting_group = luigi.OptionalParameter(
        default=None,
        significant=False,
        description="HTCondor accounting group of the jobs (e.g. "
        "ligo.dev.o4.cbc.allsky.aframe); empty for none",
    )
    accounting_group_user = luigi.OptionalParameter(
        default=None,
        significant=False,
        description="user the jobs are accounted to (e.g. albert.einstein); "
        "empty for none",
    )
    use_x509userproxy = luigi.BoolParameter(
        default=False,
        significant=False,
        description="send the submitter's X.509 proxy ($X509_USER_PROXY) "
        "with each job",
    )
    bearer_token_file = luigi.OptionalParameter(
        default=None,
        significant=False,
        description="a SciToken file visible on the execute nodes; jobs "
        "find it through BEARER_TOKEN_FILE; empty for none",
    )

    # the parameters above, read from [pipeline] unless the task's own
    # section sets them (see aframe.workflows.Workflow)
    condor_params = frozenset(
        {
            "request_memory",
            "request_disk",
            "request_cpus",
            "request_gpus",
            "accounting_group",
            "accounting_group_user",
            "use_x509userproxy",
            "bearer_token_file",
        }
    )
    # each task resolves its own resources: Infer's GPU must not reach the
    # background workflow it requires
    exclude_params_req = set(condor_params)

    def htcondor_output_directory(self) -> law.LocalDirectoryTarget:
        family = snake_case(self.task_family)
        return law.LocalDirectoryTarget(paths.root("condor") / family)

    def htcondor_log_directory(self) -> law.LocalDirectoryTarget:
        return self.htcondor_output_directory().child("logs", type="d")

    def htcondor_create_job_file_factory(self, **kwargs):
        # submit files beside the logs, kept after the run for inspection,
        # instead of law's temporary directory
        jobs = self.htcondor_output_directory().child("jobs", type="d")
        jobs.touch()
        kwargs.setdefault("dir", jobs.abspath)
        kwargs.setdefault("mkdtemp", False)
        kwargs.setdefault("cleanup", False)
        return super().htcondor_create_job_file_factory(**kwargs)

    def htcondor_bootstrap_file(self) -> law.JobInputFile:
        # rendered at submission with the variables of htcondor_job_config
        return law.JobInputFile(
            BOOTSTRAP, copy=True, render_local=True, increment=True
        )

    def htcondor_use_local_scheduler(self) -> bool:
        # a job cannot reach the scheduler of the submitting process
        return True

    def in_container(self) -> bool:
        """Whether the jobs run inside the stage's Apptainer image."""
        return getattr(self, "container", "local") == "apptainer"

    def htcondor_cmdline_args(self) -> dict[str, str]:
        # HTCondor picks the job's GPU (CUDA_VISIBLE_DEVICES): the branch
        # must not replace it with its share of the submitter's --gpus
        args = {"--gpus": ""}
        if self.in_container():
            # inside the image the stage runs directly, not in a nested one
            args["--container"] = "local"
        return args

    def htcondor_job_config(self, config, job_num, branches):
        config.render_variables.update(
            aframe_exports=environment_exports(),
            aframe_container="apptainer" if self.in_container() else "local",
            aframe_prefix=str(submitting_environment()),
            aframe_threads=str(self.request_cpus),
        )
        # law puts these in the log directory, postfixed with the branches
        config.stdout = "stdout.txt"
        config.stderr = "stderr.txt"
        config.log = str(
            Path(self.htcondor_log_directory().abspath, "job.log")
        )
        if self.in_container():
            config.universe = "container"
        config.custom_content.extend(self.submit_commands())
        return config

    def submit_commands(self) -> list[tuple[str, str]]:
        """The submit-file lines aframe adds to law's.

        Options that are not configured are left out: HTCondor would read
        a literal ``None`` as a value.
        """
        commands = [
            ("request_cpus", str(self.request_cpus)),
            ("request_memory", self.request_memory),
            ("request_disk", self.request_disk),
        ]
        if self.request_gpus > 0:
            commands.append(("request_gpus", str(self.request_gpus)))
        if self.in_container():
            # HTCondor starts the job in the image (and adds --nv for GPUs)
            image = stage_image(self.image_dir, self.stage)
            if not image.exists():
                raise FileNotFoundError(
                    f"the Apptainer image of the {self.stage} stage, "
                    f"{image}, does not exist: build it or set "
                    "container = local in the [pipeline] section"
                )
            commands.append(("container_image", str(image)))
        # accounting_group sets the job's AccountingGroup attribute
        # (<group>.<user>) that the negotiator charges
        if self.accounting_group:
            commands.append(("accounting_group", self.accounting_group))
        if self.accounting_group_user:
            commands.append(
                ("accounting_group_user", self.accounting_group_user)
            )
        if self.use_x509userproxy:
            commands.append(("use_x509userproxy", "true"))
        if self.bearer_token_file:
            path = Path(self.bearer_token_file).expanduser().resolve()
            commands.append(("environment", f"BEARER_TOKEN_FILE={path}"))
        return commands
