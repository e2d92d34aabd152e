"""Workflow mixins shared by the data and inference tasks."""

from pathlib import Path

import law
from luigi.parameter import _no_value

from aframe.base import PIPELINE_SECTION
from aframe.condor import CondorWorkflow
from aframe.segments import split_segments
from aframe.slurm import SlurmWorkflow
from aframe_contracts.segments import read_segments


class Workflow(law.LocalWorkflow, CondorWorkflow, SlurmWorkflow):
    """Where branches run: ``--workflow local`` (the default),
    ``--workflow htcondor`` (one HTCondor job per branch) or ``--workflow
    slurm`` (one Slurm job per branch).

    ``workflow``, the jobs' settings and how law watches them are read
    from the ``[pipeline]`` section of the cfg unless the command line or
    the task's own ``[luigi_<Task>]`` section sets them, so one line
    switches every workflow of a pipeline to a scheduler.
    """

    # law's settings of a remote workflow: how often it polls its jobs,
    # how often it resubmits a failed one, how many run at once
    job_control_params = frozenset(
        {"poll_interval", "retries", "parallel_jobs"}
    )
    pipeline_params = frozenset(
        {
            "workflow",
            *CondorWorkflow.condor_params,
            *SlurmWorkflow.slurm_params,
            *job_control_params,
        }
    )

    @classmethod
    def modify_param_args(cls, params, args, kwargs):
        cfg = law.config.Config.instance()
        family = cls.get_task_family()
        for name, param in params:
            if name not in cls.pipeline_params or name in kwargs:
                continue
            # everything luigi would use before the class default: the
            # command line (--Task-name) and the task's section
            given = list(param._value_iterator(family, name))[:-1]
            if any(value is not _no_value for value, _ in given):
                continue
            if cfg.has_option(PIPELINE_SECTION, name):
                value = cfg.get_expanded(PIPELINE_SECTION, name)
                kwargs[name] = param.parse(value)
        return super().modify_param_args(params, args, kwargs)

    def pending(self) -> law.LocalFileTarget:
        """The output of a branch whose segment list does not exist yet."""
        return law.LocalFileTarget(is_tmp="pending-segments")


class SegmentWorkflow(Workflow):
    """A workflow whose branches come from a segment list on disk.

    Until the segments file exists (a fresh experiment) the branch map is a
    single placeholder, the way law's dynamic workflows do it, and it is
    rebuilt on every call; once the file exists it is cached.
    """

    cache_branch_map_default = False
    max_duration: float

    def segments_file(self) -> Path:
        raise NotImplementedError

    def create_branch_map(self):
        path = self.segments_file()
        if not path.exists():
            return [None]
        self.cache_branch_map = True
        return split_segments(read_segments(path), self.max_duration)
