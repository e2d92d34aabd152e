"""The search's p_astro model, its sensitive volume and the run report."""

from pathlib import Path

import law
import luigi

from aframe.base import StageCall, StageTask
from aframe.paths import config_file
from aframe.tasks.export import Export
from aframe.tasks.infer import AggregateEvents
from aframe.tasks.mlgwsc import ChallengeScore
from aframe.tasks.testing import TestingBackground
from aframe.tasks.train import TrainedModelParams
from aframe_contracts.rates import GWTC3_BBH_RATE


class PAstro(TrainedModelParams, StageTask):
    """The p_astro model of the search (results/p_astro.hdf5): the
    background's and the injections' rate densities of the statistic, at
    the merger rate and population the cfg names; the report and the
    online search read it."""

    stage = "plots"
    replaces_outputs = True

    rate = luigi.FloatParameter(
        default=GWTC3_BBH_RATE,
        description="the astrophysical BBH merger rate density "
        "(Gpc^-3 yr^-1) the injections are scaled to; the default is "
        "GWTC-3's (docs/p_astro.md)",
    )
    population = luigi.Parameter(
        description="the source-frame mass population the injections are "
        "weighted to: prior (the injection prior's)"
    )

    def requires(self):
        return AggregateEvents.req(self)

    def output(self):
        return law.LocalFileTarget(self.root("results") / "p_astro.hdf5")

    def stage_call(self):
        events = self.input()
        return StageCall(
            "p-astro",
            {
                "background": events["background"].path,
                "foreground": events["foreground"].path,
                "output": self.output().path,
                "rate": self.rate,
                "population": self.population,
            },
        )


class SensitiveVolume(TrainedModelParams, StageTask):
    """Sensitive volume against FAR, the plots and report.html, with the
    MLGWSC-1 scores of the datasets the cfg names."""

    stage = "plots"
    replaces_outputs = True

    mass_combos = luigi.ListParameter(
        description="source-frame (m1, m2) of the log-normal populations "
        "the volume is reported for (solar masses)"
    )

    def requires(self):
        reqs = {
            "events": AggregateEvents.req(self),
            "p_astro": PAstro.req(self),
            "mlgwsc": [
                ChallengeScore.req(self, dataset=dataset)
                for dataset in self.mlgwsc_datasets
            ],
        }
        if self.glitch_source != "none":
            # the testing background records its glitches, and the
            # report shows the model's output around those it drives
            reqs["background"] = TestingBackground.req(self)
            reqs["model"] = Export.req(self)
        return reqs

    def output(self):
        results = self.root("results")
        return {
            "volume": law.LocalFileTarget(results / "sensitive_volume.h5"),
            "report": law.LocalFileTarget(results / "report.html"),
        }

    def recorded_parameters(self, call):
        # the page's title names the experiment's directory, wherever it is
        return {k: v for k, v in call.parameters.items() if k != "title"}

    def stage_call(self):
        inputs = self.input()
        events = inputs["events"]
        cfg = config_file()
        shown = sorted(cfg.parent.glob("*.cfg")) if cfg else []
        shown += sorted(cfg.parent.glob("*.yaml")) if cfg else []
        return StageCall(
            "report",
            {
                "background": events["background"].path,
                "foreground": events["foreground"].path,
                "output_dir": str(self.root("results")),
                "mass_combos": [list(c) for c in self.mass_combos],
                "config_files": [str(p) for p in shown],
                "mlgwsc_scores": [target.path for target in inputs["mlgwsc"]],
                "glitch_files": [
                    target.path
                    for target in inputs["background"][
                        "collection"
                    ].targets.values()
                ]
                if "background" in inputs
                else [],
                "repository": str(Path(inputs["model"].path).parent)
                if "model" in inputs
                else None,
                "p_astro_model": inputs["p_astro"].path,
                "title": f"aframe search: {self.root('results').parent.name}",
            },
        )
