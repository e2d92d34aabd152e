"""The Sandbox and Tune pipelines.

Both run the whole search: data, training, export, inference and the
sensitive volume.  Sandbox trains one model; Tune searches hyperparameters
with Ray Tune and exports the best trial.
"""

import law

from aframe.parameters import PipelineParams
from aframe.tasks.plots import SensitiveVolume
from aframe.tasks.train import RayTune, Train, TrainingTask


class Pipeline(PipelineParams, law.WrapperTask):
    """The shared parameters of a pipeline, passed down to every task."""

    train_task: type[TrainingTask]

    def requires(self):
        return SensitiveVolume.req(self, train_task=self.train_task)


class Sandbox(Pipeline):
    """Train one model and measure its sensitive volume."""

    train_task = Train


class Tune(Pipeline):
    """Tune hyperparameters with Ray Tune, then measure the best model."""

    train_task = RayTune
