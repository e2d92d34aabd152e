"""Inference over time-slid background and injections."""

from pathlib import Path

import law

from aframe.base import StageCall, StageTask, resolve_config_path
from aframe.tasks.data import TrainingBackground, ValidationWaveforms
from aframe.tasks.export import Export
from aframe.tasks.testing import ChunkWorkflow, TimeslideWorkflow
from aframe.tasks.train import TrainedModelParams
from aframe_contracts.errors import ContractError
from aframe_contracts.repository import Manifest, TimeCalibration


class InferenceParams(TrainedModelParams):
    """What serves the exported model and turns its outputs into events:
    the ``[pipeline]`` settings backend, local_engine, triton_url,
    triton_server (the stage's ``serving`` group),
    integration_window_length and cluster_window_length."""

    def recorded_parameters(self, call):
        # where and how the model is served, not what it computes: a
        # change leaves the results standing
        return {
            key: value
            for key, value in call.parameters.items()
            if key != "serving"
        }

    def inference_parameters(self) -> dict:
        """The stage parameters of the event windows and the serving."""
        return {
            "integration_window_length": self.integration_window_length,
            "cluster_window_length": self.cluster_window_length,
            "serving": {
                "backend": self.backend,
                "local_engine": self.local_engine,
                "triton_url": self.triton_url,
                # relative to the cfg, like the cfg's other paths
                "triton_server": str(resolve_config_path(self.triton_server))
                if self.triton_server
                else "",
            },
        }


class Calibrate(InferenceParams, StageTask):
    """Measure the exported model's event-time accuracy on validation
    signals in the background training held out: the time window in which
    inference matches events to injections (timing.json)."""

    stage = "infer"
    uses_gpu = True

    def requires(self):
        return {
            "model": Export.req(self),
            "background": TrainingBackground.req(self),
            "waveforms": ValidationWaveforms.req(self),
        }

    def output(self):
        return law.LocalFileTarget(
            self.root("results") / "model_repo" / "timing.json"
        )

    def complete(self):
        """Done when timing.json measured the exported version and weights
        with these windows: a new export or other windows measure it
        again (inference refuses a calibration of other weights)."""
        repository = self.manifest_path().parent
        try:
            timing = TimeCalibration.read(repository)
            manifest = Manifest.read(repository)
        except ContractError:
            return False
        return (
            timing.measured(manifest)
            and timing.integration_window_length
            == self.integration_window_length
            and timing.cluster_window_length == self.cluster_window_length
            and self.up_to_date()
        )

    def stage_call(self):
        inputs = self.input()
        background = inputs["background"]["collection"].targets.values()
        return StageCall(
            "calibrate",
            {
                "repository": str(self.manifest_path().parent),
                "background_files": [t.path for t in background],
                "waveforms_file": inputs["waveforms"].path,
                "seed": self.seed,
                **self.inference_parameters(),
            },
        )

    def manifest_path(self) -> Path:
        return Path(Export.req(self).output().path)


class InferenceBranches(InferenceParams, StageTask):
    """A workflow of the search over the test data: the exported model
    and its time calibration before any branch, one directory a branch
    under ``results/infer``."""

    stage = "infer"
    uses_gpu = True
    replaces_outputs = True

    def workflow_requires(self):
        reqs = super().workflow_requires()
        reqs.update(self.model_requires())
        return reqs

    def model_requires(self) -> dict:
        return {"model": Export.req(self), "timing": Calibrate.req(self)}

    def branch_dir(self) -> Path:
        return self.root("results") / "infer" / self.branch_name()


class InferBackground(InferenceBranches, ChunkWorkflow):
    """The time-slid background of one test chunk, over all its
    timeslides: for a template bank on the local backend, each ifo
    filtered once and every timeslide ranked (``aframe-infer
    background``)."""

    def requires(self):
        return {**self.model_requires(), "background": self.background()}

    def output(self):
        if self.branch_data is None:
            return self.pending()
        return law.LocalFileTarget(self.branch_dir() / "background.hdf5")

    def stage_call(self):
        inputs = self.input()
        return StageCall(
            "background",
            {
                "repository": str(Path(inputs["model"].path).parent),
                "background_file": inputs["background"].path,
                "shifts": [list(b.shifts) for b in self.branch_timeslides()],
                "output": self.output().path,
                **self.inference_parameters(),
                # odd sequence ids, Infer's even: branches can share one
                # server
                "sequence_id": 2 * self.branch + 1,
            },
        )


class Infer(InferenceBranches, TimeslideWorkflow):
    """Stream one timeslide of one test chunk, with its injections added,
    through the exported model; its events find the injections within
    the model's calibrated time window.  The timeslide's background is
    InferBackground's.
    """

    def requires(self):
        return {
            **self.model_requires(),
            "background": self.background(),
            "injections": self.injections(),
        }

    def output(self):
        if self.branch_data is None:
            return self.pending()
        return law.LocalFileTarget(self.branch_dir() / "foreground.hdf5")

    def stage_call(self):
        inputs = self.input()
        injections = inputs["injections"][self.branch_data.index]
        return StageCall(
            "analyse",
            {
                "repository": str(Path(inputs["model"].path).parent),
                "background_file": inputs["background"].path,
                "injections_file": injections.path,
                "shifts": list(self.branch_data.shifts),
                "output_dir": str(self.branch_dir()),
                **self.inference_parameters(),
                "background": False,
                # even sequence ids, InferBackground's odd: branches can
                # share one server
                "sequence_id": 2 * self.branch + 2,
            },
        )


class AggregateEvents(TrainedModelParams, StageTask):
    """All branches' events: background (Tb summed) and injections."""

    stage = "infer"
    replaces_outputs = True

    def requires(self):
        return {
            "background": InferBackground.req(self),
            "injections": Infer.req(self),
        }

    def output(self):
        results = self.root("results")
        return {
            "background": law.LocalFileTarget(results / "background.hdf5"),
            "foreground": law.LocalFileTarget(results / "foreground.hdf5"),
        }

    def stage_call(self):
        # every branch's events, in branch order
        inputs = self.input()
        files = [
            *inputs["background"]["collection"].targets.values(),
            *inputs["injections"]["collection"].targets.values(),
        ]
        outputs = self.output()
        return StageCall(
            "aggregate",
            {
                "branch_dirs": [str(Path(f.path).parent) for f in files],
                "background": outputs["background"].path,
                "foreground": outputs["foreground"].path,
            },
        )
