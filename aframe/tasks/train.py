"""Training tasks: one Lightning fit, or a Ray Tune search over fits."""

from pathlib import Path

import law
import luigi

from aframe import devices, provenance, stage
from aframe.base import StageCall, StageTask, resolve_config_path
from aframe.parameters import PipelineParams
from aframe.tasks.data import (
    TrainingBackground,
    TrainingWaveforms,
    ValidationWaveforms,
)


class TrainingTask(PipelineParams, StageTask):
    """Shared by Train and RayTune: the data and the trained weights."""

    stage = "train"
    uses_gpu = True

    train_config = luigi.Parameter(
        description="the Lightning YAML of the model, data and trainer "
        "(relative paths are relative to the cfg)"
    )

    def requires(self):
        return {
            "background": TrainingBackground.req(self),
            "training_waveforms": TrainingWaveforms.req(self),
            "validation_waveforms": ValidationWaveforms.req(self),
        }

    def output(self):
        return law.LocalFileTarget(self.root("train_run") / "model.pt")

    def configs(self):
        return (resolve_config_path(self.train_config),)

    def fit_parameters(self) -> dict:
        """What the pipeline owns of a fit: the shared physics and data."""
        inputs = self.input()

        def paths(workflow):
            return [t.path for t in workflow["collection"].targets.values()]

        return {
            "run_dir": str(self.root("train_run")),
            "seed_everything": self.seed,
            "data": {
                "ifos": list(self.ifos),
                "sample_rate": self.sample_rate,
                "kernel_length": self.kernel_length,
                "fduration": self.fduration,
                "psd_length": self.psd_length,
                "fftlength": self.fftlength,
                "highpass": self.highpass,
                "lowpass": self.lowpass,
                "inference_psd_length": self.inference_psd_length,
                "background_files": paths(inputs["background"]),
                "training_waveforms": paths(inputs["training_waveforms"]),
                "validation_waveforms": inputs["validation_waveforms"].path,
            },
        }


class Train(TrainingTask):
    """Fit the detector with the Lightning CLI (DDP over --gpus 0,1)."""

    def run(self):
        # a fit that finished made a record; one that was stopped did not.
        # Only a stopped fit continues from its last epoch: a finished one
        # runs again because its settings or its inputs changed, and its
        # checkpoints were trained on the old data (the fit's own check,
        # aframe_train.fit.resume_from, names the data files, not their
        # contents).  Decided before run() removes the record.
        self.resumable = not (self.workdir() / provenance.RECORD).exists()
        super().run()

    def stage_call(self):
        parameters = self.fit_parameters()
        # a killed fit continues from its last epoch when rerun, unless
        # its settings changed (aframe_train.fit.resume_from)
        parameters["resume"] = getattr(self, "resumable", True)
        trainer = devices.trainer_devices(self.gpus)
        if trainer:
            parameters["trainer"] = trainer
        return StageCall("fit", parameters, self.configs())

    def recorded_parameters(self, call):
        # the devices a fit runs on, and whether it may resume, do not
        # change what it makes
        return {
            key: value
            for key, value in call.parameters.items()
            if key not in ("resume", "trainer")
        }


class RayTune(TrainingTask):
    """Search hyperparameters with Ray Tune; keep the best trial's weights."""

    tune_config = luigi.Parameter(
        description="the Ray Tune YAML: search space, scheduler, trials "
        "(relative paths are relative to the cfg)"
    )
    ray_address = luigi.Parameter(
        default="",
        significant=False,
        description="address of an existing Ray cluster; empty starts a "
        "local one",
    )

    def run(self):
        stage.write_parameters(self.fit_parameters(), self.fit_overrides())
        super().run()

    def fit_overrides(self) -> Path:
        return self.workdir() / "fit.yaml"

    def recorded_parameters(self, call):
        return {**call.parameters, "fit_overrides": self.fit_parameters()}

    def stage_call(self):
        return StageCall(
            "tune",
            {
                "train_config": str(self.configs()[0]),
                "tune_config": str(resolve_config_path(self.tune_config)),
                "fit_overrides": str(self.fit_overrides()),
                "run_dir": str(self.root("train_run")),
                "ray_address": self.ray_address,
            },
        )


class TrainedModelParams(PipelineParams):
    """The training task whose weights feed export and inference."""

    train_task = luigi.TaskParameter(
        default=Train,
        description="Train, or RayTune for the Tune pipeline",
    )
