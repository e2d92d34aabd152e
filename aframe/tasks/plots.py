"""The search's sensitive volume and the run report."""

import law
import luigi

from aframe.base import StageTask, config_file
from aframe.tasks.export import TrainedModelParams
from aframe.tasks.infer import AggregateEvents


class SensitiveVolume(TrainedModelParams, StageTask):
    """Sensitive volume against FAR, the plots and report.html."""

    stage = "plots"

    mass_combos = luigi.ListParameter(
        description="source-frame (m1, m2) of the log-normal populations "
        "the volume is reported for (solar masses)"
    )

    def requires(self):
        return AggregateEvents.req(self)

    def output(self):
        results = self.root("results")
        return {
            "volume": law.LocalFileTarget(results / "sensitive_volume.h5"),
            "report": law.LocalFileTarget(results / "report.html"),
        }

    def run(self):
        events = self.input()
        cfg = config_file()
        shown = sorted(cfg.parent.glob("*.cfg")) if cfg else []
        shown += sorted(cfg.parent.glob("*.yaml")) if cfg else []
        self.run_stage(
            "report",
            {
                "background": events["background"].path,
                "foreground": events["foreground"].path,
                "output_dir": str(self.root("results")),
                "mass_combos": [list(c) for c in self.mass_combos],
                "config_files": [str(p) for p in shown],
                "title": f"aframe search: {self.root('results').parent.name}",
            },
        )
