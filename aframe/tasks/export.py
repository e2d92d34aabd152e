"""Export: the trained detector as a Triton model repository."""

import law
import luigi

from aframe.base import StageTask, resolve_config_path
from aframe.parameters import PipelineParams
from aframe.tasks.train import Train


class TrainedModelParams(PipelineParams):
    """The training task whose weights feed export and inference."""

    train_task = luigi.TaskParameter(
        default=Train,
        description="Train, or RayTune for the Tune pipeline",
    )


class Export(TrainedModelParams, StageTask):
    """Write the detector, the whitener and the snapshotter for Triton.

    The repository's manifest, written last, records what was exported.
    """

    stage = "export"
    uses_gpu = True

    export_config = luigi.Parameter(
        description="the export YAML (platform, instances); relative "
        "paths are relative to the cfg"
    )

    def requires(self):
        return self.train_task.req(self)

    def output(self):
        return law.LocalFileTarget(
            self.root("results") / "model_repo" / "manifest.json"
        )

    def configs(self):
        return (resolve_config_path(self.export_config),)

    def run(self):
        self.not_implemented()
