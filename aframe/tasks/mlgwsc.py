"""The MLGWSC-1 benchmark: the challenge's data and scorer, our model.

Layout, per set (dataset d, duration T s, seed s)::

    AFRAME_TEST_DATA_DIR/mlgwsc/dataset<d>-<T>-<s>[-glitches]/
        injections.hdf, foreground.hdf, background.hdf, segments.txt,
        glitches.hdf5 (with mlgwsc_glitches)
    AFRAME_RESULTS_DIR/mlgwsc/dataset<d>-<T>-<s>/
        events/{foreground,background}-<start>-<duration>.hdf
        eval.hdf (evaluate.py's), score.hdf5, summary.json
"""

from pathlib import Path

import law
import luigi

from aframe.base import StageCall, StageTask
from aframe.parameters import PipelineParams
from aframe.segments import Chunk, split_segments
from aframe.tasks.export import Export
from aframe.tasks.infer import Calibrate, InferenceParams
from aframe.workflows import SegmentWorkflow
from aframe_contracts.segments import read_segments

KINDS = ("foreground", "background")


class ChallengeSetParams(PipelineParams):
    """One set of one MLGWSC-1 dataset: mlgwsc_duration s made with
    mlgwsc_seed, by the challenge's code in mlgwsc_dir (``[pipeline]``)."""

    dataset = luigi.IntParameter(description="the MLGWSC-1 dataset, 1-4")

    def challenge(self) -> dict:
        """The stage parameters that name the challenge's checkout."""
        directory = self.challenge_checkout()
        return {"mlgwsc_dir": str(directory) if directory else ""}

    def external_paths(self) -> list[Path]:
        """A container sees the checkout the cfg names."""
        directory = self.challenge()["mlgwsc_dir"]
        return [Path(directory)] if directory else []

    def set_name(self) -> str:
        name = (
            f"dataset{self.dataset}-{self.mlgwsc_duration}-{self.mlgwsc_seed}"
        )
        return f"{name}-glitches" if self.mlgwsc_glitches else name


class ChallengeData(ChallengeSetParams, StageTask):
    """One set made by the challenge's generate_data.py."""

    stage = "infer"

    def output(self):
        directory = self.root("test_data") / "mlgwsc" / self.set_name()
        names = {
            "injections": "injections.hdf",
            "foreground": "foreground.hdf",
            "background": "background.hdf",
            # written last: the set is complete
            "segments": "segments.txt",
        }
        return {
            key: law.LocalFileTarget(directory / name)
            for key, name in names.items()
        }

    def stage_call(self):
        return StageCall(
            "mlgwsc-data",
            {
                "dataset": self.dataset,
                "duration": self.mlgwsc_duration,
                "seed": self.mlgwsc_seed,
                "output_dir": str(Path(self.output()["segments"].path).parent),
                **self.challenge(),
                **(
                    {"glitches": self.glitch_model()}
                    if self.mlgwsc_glitches
                    else {}
                ),
            },
        )


class ChallengeEvents(
    InferenceParams,
    ChallengeSetParams,
    StageTask,
    SegmentWorkflow,
):
    """The exported model's events in one chunk of a set's foreground or
    background, with the model's time window as var."""

    stage = "infer"
    uses_gpu = True
    replaces_outputs = True

    max_duration = luigi.FloatParameter(
        description="the longest stretch of challenge data one branch "
        "analyses (s)",
    )

    def segments_file(self) -> Path:
        return Path(ChallengeData.req(self).output()["segments"].path)

    def create_branch_map(self):
        path = self.segments_file()
        if not path.exists():
            return [None]
        self.cache_branch_map = True
        chunks = split_segments(read_segments(path), self.max_duration)
        return [(kind, chunk) for kind in KINDS for chunk in chunks]

    def workflow_requires(self):
        reqs = super().workflow_requires()
        reqs.update(self.inputs())
        return reqs

    def requires(self):
        return self.inputs()

    def inputs(self) -> dict:
        return {
            "data": ChallengeData.req(self),
            "model": Export.req(self),
            "timing": Calibrate.req(self),
        }

    def output(self):
        if self.branch_data is None:
            return self.pending()
        kind, chunk = self.branch_data
        return law.LocalFileTarget(self.events_file(kind, chunk))

    def stage_call(self):
        kind, chunk = self.branch_data
        inputs = self.input()
        return StageCall(
            "mlgwsc",
            {
                "input_file": inputs["data"][kind].path,
                "output_file": self.output().path,
                "repository": str(Path(inputs["model"].path).parent),
                "start": chunk.start,
                "stop": chunk.stop,
                **self.inference_parameters(),
            },
        )

    def events_file(self, kind: str, chunk: Chunk) -> Path:
        name = f"{kind}-{chunk.start:.0f}-{chunk.duration:.0f}.hdf"
        return self.results_dir() / "events" / name

    def results_dir(self) -> Path:
        return self.root("results") / "mlgwsc" / self.set_name()


class ChallengeScore(InferenceParams, ChallengeSetParams, StageTask):
    """The challenge's evaluate.py on a set's events, with the optimal
    SNR of each injection."""

    stage = "infer"
    replaces_outputs = True

    def requires(self):
        return {
            "data": ChallengeData.req(self),
            "events": ChallengeEvents.req(self),
        }

    def output(self):
        return law.LocalFileTarget(
            ChallengeEvents.req(self).results_dir() / "score.hdf5"
        )

    def stage_call(self):
        events = self.requires()["events"]
        files = {kind: [] for kind in KINDS}
        for branch in events.get_branch_tasks().values():
            kind, chunk = branch.branch_data
            files[kind].append(str(branch.events_file(kind, chunk)))
        return StageCall(
            "mlgwsc-score",
            {
                "data_dir": str(
                    Path(self.input()["data"]["segments"].path).parent
                ),
                "foreground_events": files["foreground"],
                "background_events": files["background"],
                "output_dir": str(Path(self.output().path).parent),
                **self.challenge(),
            },
        )
