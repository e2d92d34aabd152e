"""The Sandbox, Tune and Benchmark pipelines.

Sandbox and Tune run the whole search: data, training, export, inference
and the sensitive volume (with the MLGWSC-1 scores of the datasets the
cfg names).  Sandbox trains one model; Tune searches hyperparameters with
Ray Tune and exports the best trial.  Benchmark trains one model and
scores it on MLGWSC-1 only, without the time-slid search.
"""

import law

from aframe.parameters import PipelineParams
from aframe.tasks.mlgwsc import ChallengeScore
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


class Benchmark(Pipeline):
    """Train one model and score it on MLGWSC-1: the datasets the cfg
    names in mlgwsc_datasets, dataset 1 when it names none."""

    train_task = Train

    def requires(self):
        return [
            ChallengeScore.req(
                self, dataset=dataset, train_task=self.train_task
            )
            for dataset in self.mlgwsc_datasets or [1]
        ]
