"""The search's sensitive volume and the run report."""

import law
import luigi

from aframe.base import StageTask
from aframe.tasks.data import TestingWaveforms
from aframe.tasks.export import TrainedModelParams
from aframe.tasks.infer import Infer


class SensitiveVolume(TrainedModelParams, StageTask):
    """Sensitive volume against FAR, the plots and report.html."""

    stage = "plots"

    mass_combos = luigi.ListParameter(
        description="source-frame (m1, m2) of the log-normal populations "
        "the volume is reported for (solar masses)"
    )

    def requires(self):
        return {
            "events": Infer.req(self),
            "injections": TestingWaveforms.req(self),
        }

    def output(self):
        results = self.root("results")
        return {
            "volume": law.LocalFileTarget(results / "sensitive_volume.h5"),
            "report": law.LocalFileTarget(results / "report.html"),
        }

    def run(self):
        self.not_implemented()
