"""Inference over time-slid background and injections."""

import law
import luigi

from aframe.base import StageTask
from aframe.tasks.data import TimeslideWorkflow
from aframe.tasks.export import Export, TrainedModelParams


class Infer(TrainedModelParams, StageTask, TimeslideWorkflow):
    """Stream one timeslide of one test chunk through the exported model.

    Two sequences per branch: the shifted background, and the same strain
    with the branch's injections added.
    """

    stage = "infer"
    uses_gpu = True

    backend = luigi.ChoiceParameter(
        choices=("local", "triton"),
        description="'local' runs the exported model in process; 'triton' "
        "serves it with a Triton server",
    )
    triton_url = luigi.Parameter(
        default="",
        significant=False,
        description="gRPC address of a running Triton server; empty "
        "starts one for the run (triton backend)",
    )
    integration_window_length = luigi.FloatParameter(
        description="length of the moving average of the output (s)"
    )
    cluster_window_length = luigi.FloatParameter(
        description="window in which only the loudest event is kept (s)"
    )

    def workflow_requires(self):
        reqs = super().workflow_requires()
        reqs["model"] = Export.req(self)
        return reqs

    def requires(self):
        return {
            "model": Export.req(self),
            "background": self.background(),
            "injections": self.injections(),
        }

    def output(self):
        if self.branch_data is None:
            return self.pending()
        directory = self.root("results") / "infer" / self.branch_name()
        return {
            "background": law.LocalFileTarget(directory / "background.hdf5"),
            "foreground": law.LocalFileTarget(directory / "foreground.hdf5"),
        }

    def run(self):
        self.not_implemented()
