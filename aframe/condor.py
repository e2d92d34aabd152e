"""Branches as HTCondor jobs: law's HTCondor workflow, set up for aframe.

``--workflow htcondor`` makes a data or inference workflow submit one
HTCondor job per branch.  Each job runs law's job script on the execute
node, which sources ``job_bootstrap.sh`` (the environment this process
runs in, or the stage's image) and then runs ``law run <Task> --branch N``
(see ``aframe.jobs``).

Layout under ``AFRAME_CONDOR_DIR``::

    <task>/htcondor_jobs_<branches>.json   law's record of the jobs
    <task>/jobs/                           submit files and scripts
    <task>/logs/                           job stdout, stderr, log

The resources a job requests, its accounting group and the credentials it
carries are task parameters, set in the ``[pipeline]`` section of the cfg
or per task in ``[luigi_<Task>]``.
"""

from pathlib import Path

import law
import luigi

from aframe.base import stage_image
from aframe.jobs import BOOTSTRAP, JobResources, job_directory

law.contrib.load("htcondor")


class CondorWorkflow(JobResources, law.htcondor.HTCondorWorkflow):
    """law's HTCondor workflow with aframe's paths, resources and setup.

    Subclasses are stage tasks: ``stage``, ``container`` and ``image_dir``
    pick the image the jobs run in when ``container = apptainer``.
    """

    request_disk = luigi.Parameter(
        default="1GB",
        significant=False,
        description="scratch disk of one HTCondor job (e.g. 1GB)",
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
    condor_params = JobResources.resource_params | frozenset(
        {
            "request_disk",
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
        return law.LocalDirectoryTarget(
            job_directory("htcondor", self.task_family)
        )

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

    def htcondor_cmdline_args(self) -> dict[str, str]:
        return self.job_cmdline_args()

    def htcondor_job_config(self, config, job_num, branches):
        config.render_variables.update(self.bootstrap_variables())
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
