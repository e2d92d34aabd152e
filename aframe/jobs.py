"""What branches run as batch jobs share, whatever the scheduler.

A job (HTCondor's, see ``aframe.condor``, or Slurm's, see
``aframe.slurm``) runs law's job script on an execute node, which sources
``job_bootstrap.sh`` to recreate the environment the workflow was
submitted from (or finds itself in the stage's image), then runs
``law run <Task> --branch N``.  The resources one job requests are task
parameters, set in the ``[pipeline]`` section of the cfg or per task in
``[luigi_<Task>]``.
"""

import os
import re
import shlex
import sys
from pathlib import Path

import luigi

from aframe import paths

BOOTSTRAP = Path(__file__).with_name("job_bootstrap.sh")

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


def job_directory(scheduler: str, task_family: str) -> Path:
    """Where one workflow's job files, logs and submission record go:
    ``$AFRAME_CONDOR_DIR/<task>`` for HTCondor (its first scheduler, whose
    name the root keeps), ``$AFRAME_CONDOR_DIR/<scheduler>/<task>`` for
    the others."""
    root = paths.root("condor")
    if scheduler != "htcondor":
        root = root / scheduler
    return root / snake_case(task_family)


class JobResources:
    """What one job of a workflow requests, under any scheduler (a mixin
    of the workflow classes: luigi finds parameters on any base)."""

    request_memory = luigi.Parameter(
        default="4GB",
        significant=False,
        description="memory of one job (e.g. 4GB, or 4096 in MB)",
    )
    request_cpus = luigi.IntParameter(
        default=1,
        significant=False,
        description="CPU cores of one job; the stage uses that many threads",
    )
    request_gpus = luigi.IntParameter(
        default=0,
        significant=False,
        description="GPUs of one job; 0 requests none",
    )

    resource_params = frozenset(
        {"request_memory", "request_cpus", "request_gpus"}
    )

    def in_container(self) -> bool:
        """Whether the jobs run inside the stage's Apptainer image."""
        return getattr(self, "container", "local") == "apptainer"

    def bootstrap_variables(self) -> dict[str, str]:
        """The values ``job_bootstrap.sh`` is rendered with."""
        return {
            "aframe_exports": environment_exports(),
            "aframe_container": (
                "apptainer" if self.in_container() else "local"
            ),
            "aframe_prefix": str(submitting_environment()),
            "aframe_threads": str(self.request_cpus),
        }

    def job_cmdline_args(self) -> dict[str, str]:
        """What the job's ``law run`` gets on top of the workflow's."""
        # the scheduler picks the job's GPU (CUDA_VISIBLE_DEVICES): the
        # branch must not replace it with its share of the submitter's
        # --gpus
        args = {"--gpus": ""}
        if self.in_container():
            # inside the image the stage runs directly, not in a nested one
            args["--container"] = "local"
        return args
