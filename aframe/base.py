"""Base classes of every aframe task.

Two ideas live here:

* The ``[pipeline]`` section of the cfg is the default section of every
  task: a parameter without a default that is neither given on the command
  line nor in the task's own ``[luigi_<Task>]`` section is read from it.  The
  parameters shared by several stages (``PipelineParams``) are set there
  once, and pipelines pass them down with ``.req(self)``.
* ``StageTask`` is the one bridge from a task to its stage CLI (see
  ``aframe.stage``): a task says which stage call makes its outputs
  (``stage_call``), and is complete while they exist and were made by
  that call from the same inputs (``aframe.provenance``).
"""

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import law
import luigi
from luigi.parameter import MissingParameterException

from aframe import devices, paths, provenance, stage
from aframe.paths import config_file
from aframe_contracts.files import sha256

logger = logging.getLogger("aframe")

PIPELINE_SECTION = "pipeline"


def resolve_config_path(value: str) -> Path:
    """A path from the cfg: relative paths are relative to the cfg file.

    That way an experiment directory made by aframe-init can name its stage
    YAMLs as ``train.yaml`` and be moved or copied as a whole.
    """
    path = Path(value).expanduser()
    cfg = config_file()
    if not path.is_absolute() and cfg is not None:
        path = cfg.parent / path
    return path.resolve()


def stage_image(image_dir: str, stage_name: str) -> Path:
    """The Apptainer image of a stage: ``<image_dir>/<stage>.sif``.

    A relative ``image_dir`` is relative to the cfg, like the other paths
    the cfg names.

    Raises:
        ValueError: ``image_dir`` is empty.
    """
    if not image_dir.strip():
        where = config_file() or "the cfg"
        raise ValueError(
            "container = apptainer needs the directory of the stage images: "
            f"set image_dir in the [{PIPELINE_SECTION}] section of {where} "
            "(aframe-build-containers builds the images there)"
        )
    return resolve_config_path(image_dir) / f"{stage_name}.sif"


class AframeTask(law.Task):
    """Base of all aframe tasks: the ``[pipeline]`` fallback and paths."""

    gpus = luigi.Parameter(
        default="",
        significant=False,
        description="comma-separated GPU indices (e.g. 0,1): sets "
        "CUDA_VISIBLE_DEVICES for the stages that use GPUs; empty leaves "
        "the environment as it is",
    )

    @classmethod
    def modify_param_args(cls, params, args, kwargs):
        params, args, kwargs = super().modify_param_args(params, args, kwargs)
        cfg = law.config.Config.instance()
        family = cls.get_task_family()
        for name, param in params:
            if name in kwargs or param.has_task_value(family, name):
                continue
            if cfg.has_option(PIPELINE_SECTION, name):
                value = cfg.get_expanded(PIPELINE_SECTION, name)
                try:
                    kwargs[name] = param.parse(value)
                except ValueError as error:
                    raise ValueError(
                        f"[{PIPELINE_SECTION}] {name} = {value!r} in "
                        f"{cfg.config_file}: {error}"
                    ) from error
            else:
                where = cfg.config_file or "the cfg (LAW_CONFIG_FILE is unset)"
                raise MissingParameterException(
                    f"{family} needs the parameter '{name}': set it in the "
                    f"[{PIPELINE_SECTION}] or [luigi_{family}] section of "
                    f"{where}, or pass --{name.replace('_', '-')}"
                )
        return params, args, kwargs

    @staticmethod
    def root(name: str) -> Path:
        """The experiment's data root ``name`` (see ``aframe.paths``)."""
        return paths.root(name)


class ContainerParams(AframeTask):
    """Where a stage runs: the local environment or its Apptainer image."""

    container = luigi.ChoiceParameter(
        choices=("local", "apptainer"),
        significant=False,
        description="'local' runs each stage in this environment; "
        "'apptainer' runs it in <image_dir>/<stage>.sif",
    )
    image_dir = luigi.Parameter(
        significant=False,
        description="directory holding the stage images (data.sif, "
        "train.sif, ...); used when container = apptainer",
    )


@dataclass(frozen=True)
class StageCall:
    """``aframe-<stage> <subcommand>`` with ``parameters``, given after
    the user's stage YAMLs ``configs``."""

    subcommand: str
    parameters: dict[str, Any]
    configs: tuple[Path, ...] = ()


class StageTask(ContainerParams):
    """A task whose work is done by one subcommand of a stage CLI.

    Subclasses name their ``stage`` (``data``, ``train``, ``export``,
    ``infer`` or ``plots``), whether it ``uses_gpu``, and the call that
    makes their outputs (``stage_call``).

    A task is complete while its outputs exist and its provenance record
    (``<workdir>/provenance.json``, written when its stage succeeds)
    matches the call it would make now and the records of the tasks it
    requires: changed settings run the tasks they affect again, and
    everything downstream of them.
    """

    stage: str = ""
    uses_gpu: bool = False
    # the stage refuses to write over an existing output unless given
    # force; the pipeline owns its outputs (a task runs when they are
    # missing or stale), so it always may
    replaces_outputs: bool = False

    def stage_call(self) -> StageCall:
        raise NotImplementedError

    def recorded_parameters(self, call: StageCall) -> dict[str, Any]:
        """The parameters the provenance record keeps: all of the call's,
        unless a task leaves out those that say where or how it runs, not
        what it makes."""
        return call.parameters

    def run(self):
        record = self.workdir() / provenance.RECORD
        record.unlink(missing_ok=True)
        call = self.stage_call()
        parameters = call.parameters
        if self.replaces_outputs:
            parameters = {**parameters, "force": True}
        self.run_stage(call.subcommand, parameters, call.configs)
        current = self.provenance({})
        if current is not None:
            provenance.write(record, current)

    def complete(self):
        return super().complete() and self.up_to_date()

    def workflow_complete(self):
        """law's hook for a workflow's completeness (its ``complete`` is
        its proxy's, which only sees outputs): every branch complete."""
        if not self.branches_known():
            return False
        return all(
            super(StageTask, branch).complete() and branch.up_to_date()
            for branch in self.get_branch_tasks().values()
        )

    def up_to_date(self) -> bool:
        """Whether the outputs were made by the call this task would make
        now, from the same inputs; if not, say what changed."""
        recorded = provenance.read(self.workdir() / provenance.RECORD)
        if recorded is None:
            return False
        current = self.provenance(provenance.DIGESTS)
        if current is None:
            return False
        if recorded.get("digest") == provenance.digest(current):
            return True
        logger.warning(
            "%s: its outputs were made with other settings, so it runs "
            "again: %s",
            self.task_id,
            "; ".join(provenance.changes(recorded, current)),
        )
        return False

    def provenance(self, memo: dict) -> dict | None:
        """The record of the call this task makes now and the digests of
        the tasks it requires; None while one of them is a workflow whose
        branches are not known yet (its segments are not written)."""
        inputs = []
        for task in self.upstream_tasks():
            value = task.provenance_digest(memo)
            if value is None:
                return None
            inputs.append([task.provenance_name(), value])
        call = self.stage_call()
        return {
            "task": self.provenance_name(),
            "stage": self.stage,
            "subcommand": call.subcommand,
            "parameters": provenance.portable(self.recorded_parameters(call)),
            "configs": [sha256(path) for path in call.configs],
            "inputs": inputs,
        }

    def upstream_tasks(self) -> list["StageTask"]:
        """The stage tasks this task requires (workflows stand for their
        branches)."""
        return [
            required
            for required in law.util.flatten(self.requires())
            if isinstance(required, StageTask)
        ]

    def provenance_digest(self, memo: dict) -> str | None:
        """The digest of ``provenance``; a workflow's, of its branches'.
        ``memo`` keeps those computed already (not None: a branch map
        unknown now is known once its segments are written)."""
        if self.task_id in memo:
            return memo[self.task_id]
        if isinstance(self, law.BaseWorkflow) and self.is_workflow():
            if not self.branches_known():
                return None
            digests = [
                task.provenance_digest(memo)
                for task in self.get_branch_tasks().values()
            ]
            value = None if None in digests else provenance.digest(digests)
        else:
            record = self.provenance(memo)
            value = None if record is None else provenance.digest(record)
        if value is not None:
            memo[self.task_id] = value
        return value

    def branches_known(self) -> bool:
        """Whether a workflow's branch map is known: a segment workflow's
        is a placeholder until its segments are written."""
        return all(data is not None for data in self.get_branch_map().values())

    def provenance_name(self) -> str:
        """The task's name in records: its family, and its branch."""
        if isinstance(self, law.BaseWorkflow) and self.is_branch():
            return f"{self.task_family}[{self.branch}]"
        return self.task_family

    def workdir(self) -> Path:
        """Where a run's parameters and log go: beside its first output."""
        output = Path(law.util.flatten(self.output())[0].path)
        return output.parent / "logs" / output.name.split(".")[0]

    def run_stage(
        self,
        subcommand: str,
        parameters: dict[str, Any],
        configs: tuple[Path, ...] = (),
    ) -> None:
        """Run ``aframe-<stage> <subcommand>`` with ``parameters``.

        The parameters are written to ``<workdir>/<subcommand>.yaml`` (the
        run's provenance) and passed after the user's stage YAMLs, so the
        values the pipeline owns always win.
        """
        image = None
        if self.container == "apptainer":
            image = stage_image(self.image_dir, self.stage)
        stage.run(
            self.stage,
            subcommand,
            parameters,
            self.workdir(),
            configs=configs,
            image=image,
            gpus=self.visible_gpus(),
            binds=self._binds() if image is not None else (),
            threads=self.threads(),
            nv=self.uses_gpu,
        )

    def visible_gpus(self) -> str:
        """The stage's ``CUDA_VISIBLE_DEVICES``; empty leaves it unset.

        Stages that do not use GPUs get none; a workflow branch gets the
        one GPU of its branch number (``gpus[branch % n]``), so branches
        spread over the GPUs; any other task gets them all (see
        ``aframe.devices``).  Tasks that start GPU processes themselves
        (a Triton server) give them these devices too.
        """
        if not self.uses_gpu:
            return ""
        branch = None
        if isinstance(self, law.BaseWorkflow) and self.is_branch():
            branch = self.branch
        return devices.visible(self.gpus, branch)

    def threads(self) -> int | None:
        """CPU threads for the stage: None (all) unless branches share.

        Branches of a workflow run side by side on the luigi workers; each
        using every core would oversubscribe the CPU several times over.
        """
        if not isinstance(self, law.BaseWorkflow) or self.is_workflow():
            return None
        # a batch job (law's job script) runs one branch on the cores it
        # requested; its bootstrap set OMP_NUM_THREADS to them
        if "LAW_JOB_HOME" in os.environ:
            return None
        branches = len(self.as_workflow().get_branch_map())
        workers = luigi.interface.core().workers
        return max(1, (os.cpu_count() or 1) // max(1, min(workers, branches)))

    def _binds(self) -> list[Path]:
        """What a container must see: the data roots that are set, the
        directory of the cfg (the stage YAMLs sit beside it), the other
        directories the ``AFRAME_*`` variables it gets name (the MLGWSC-1
        checkout, say), and the task's own ``external_paths``.

        The roots are created first: Apptainer refuses to bind a path that
        does not exist.
        """
        binds = []
        for name, variable in paths.ROOTS.items():
            if os.environ.get(variable, "").strip():
                binds.append(paths.root(name))
        for path in binds:
            path.mkdir(parents=True, exist_ok=True)
        cfg = config_file()
        if cfg is not None:
            binds.append(cfg.parent.resolve())
        roots = set(paths.ROOTS.values())
        for name, value in os.environ.items():
            if name.startswith("AFRAME_") and name not in roots and value:
                # bound where the variable points, symbolic links and all:
                # the stage inside reads the path the variable names
                if Path(value).is_dir():
                    binds.append(Path(value).absolute())
        return binds + self.external_paths()

    def external_paths(self) -> list[Path]:
        """Directories outside the data roots the stage reads."""
        return []
