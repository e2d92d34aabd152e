"""The test data and the workflows over its chunks and timeslides.

``TestingChunks`` computes the timeslides of the time-slid background
from the test segments (``Tb``); the first of them carry the injections
(``injection_timeslides``).  Inference analyses each chunk's background
over all its timeslides in one branch (``ChunkWorkflow``) and each
timeslide with injections in one branch (``TimeslideWorkflow``), and
``TestingWaveforms`` (one branch a chunk) writes the injections of each
of its timeslides."""

import law
import luigi

from aframe.base import StageCall
from aframe.segments import (
    Chunk,
    Timeslide,
    injection_timeslides,
    timeslides,
)
from aframe.tasks.data import Background, DataTask, Segments
from aframe.workflows import Workflow


class TestingSegments(Segments):
    data_root = "test_data"

    def span(self):
        return self.train_stop, self.test_stop


# ------------------------------------------------------------- background


class TestingBackground(Background):
    segments_cls = TestingSegments


# -------------------------------------------------------------- waveforms


class TestingChunks(Workflow):
    """Workflows over the test chunks and their timeslides.

    The timeslides are the (chunk, k) pairs whose livetime reaches ``Tb``,
    the background's; the first of them that hold ``num_injections``
    carry the injections, and inference analyses exactly those with
    them, so none are generated in vain.  Until the test segments exist
    the branch map is a placeholder.
    """

    cache_branch_map_default = False

    def chunks(self) -> list[Chunk] | None:
        return TestingBackground.req(self, branch=-1).chunks()

    def timeslides(self) -> list[Timeslide]:
        # every branch of every workflow over the chunks asks for them,
        # and they grow with Tb: computed once per task instance (luigi
        # hands out one instance per parameters) once the segments exist
        cached = getattr(self, "_timeslides", None)
        if cached is None:
            cached = timeslides(
                self.chunks(), self.Tb, self.shifts, self.inference_psd_length
            )
            self._timeslides = cached
        return cached

    def workflow_requires(self):
        reqs = super().workflow_requires()
        reqs["segments"] = TestingSegments.req(self)
        return reqs

    def injections_file(self, chunk: Chunk, index: int) -> law.LocalFileTarget:
        """The injections of timeslide ``index`` of ``chunk``."""
        name = f"injections-{chunk.start:.0f}-{chunk.duration:.0f}-{index}"
        return law.LocalFileTarget(
            self.root("test_data") / "injections" / f"{name}.hdf5"
        )


class TestingWaveforms(DataTask, TestingChunks):
    """Injections for each timeslide of one test chunk, with every draw.

    One branch per chunk with injections generates all its timeslides
    with them, so the process start-up (torch, bilby) is paid once per
    chunk; each timeslide still has its own file and its own seed, so a
    rerun reproduces it exactly.
    """

    uses_gpu = True

    num_injections = luigi.IntParameter(
        description="injections, in the fewest timeslides that hold them "
        "at spacing (each gets a share in proportion to its room)"
    )
    spacing = luigi.FloatParameter(
        description="shortest time between injections (s)"
    )
    buffer = luigi.FloatParameter(
        description="injection-free time at the ends of a chunk (s)"
    )
    snr_threshold = luigi.FloatParameter(
        description="lowest network SNR injected, against the chunk's PSD"
    )

    def create_branch_map(self):
        chunks = self.chunks()
        if chunks is None:
            return [None]
        self.cache_branch_map = True
        # the chunks whose timeslides carry injections, by chunk index
        injected = {branch.chunk for branch, _ in self.injection_counts()}
        return {i: chunks[i] for i in sorted(injected)}

    def workflow_requires(self):
        # HTCondor jobs run branches only: upstream workflows finish first
        reqs = super().workflow_requires()
        reqs["background"] = TestingBackground.req(self)
        return reqs

    def requires(self):
        return TestingBackground.req(self)

    def branch_timeslides(self) -> list[tuple[Timeslide, int]]:
        """This chunk's timeslides and their share of num_injections."""
        return [
            (branch, count)
            for branch, count in self.injection_counts()
            if branch.chunk == self.branch
        ]

    def injection_counts(self) -> list[tuple[Timeslide, int]]:
        """The timeslides with injections and their share of
        num_injections (``injection_timeslides``); computed once per
        workflow instance."""
        workflow = self.as_workflow()
        cached = getattr(workflow, "_injection_counts", None)
        if cached is None:
            cached = injection_timeslides(
                self.timeslides(),
                self.chunks(),
                self.num_injections,
                self.spacing,
                self.buffer,
                self.inference_psd_length,
            )
            workflow._injection_counts = cached
        return cached

    def output(self):
        if self.branch_data is None:
            return self.pending()
        return {
            branch.index: self.injections_file(self.branch_data, branch.index)
            for branch, _ in self.branch_timeslides()
        }

    def stage_call(self):
        outputs = self.output()
        return StageCall(
            "testing_waveforms",
            {
                "signals": self.signals(),
                "background_file": self.input().path,
                "ifos": list(self.ifos),
                "timeslides": [
                    {
                        "index": branch.index,
                        "shifts": list(branch.shifts),
                        "num_injections": count,
                        "output": outputs[branch.index].path,
                    }
                    for branch, count in self.branch_timeslides()
                ],
                "spacing": self.spacing,
                "buffer": self.buffer,
                "psd_length": self.inference_psd_length,
                "snr_threshold": self.snr_threshold,
                **self.band(),
                "seed": self.seed,
            },
        )


class TimeslideWorkflow(TestingChunks):
    """A workflow with one branch per timeslide with injections."""

    def create_branch_map(self):
        if self.chunks() is None:
            return [None]
        self.cache_branch_map = True
        counts = TestingWaveforms.req(self).injection_counts()
        return [branch for branch, _ in counts]

    def workflow_requires(self):
        # HTCondor jobs run branches only: upstream workflows finish first
        reqs = super().workflow_requires()
        reqs["background"] = TestingBackground.req(self)
        reqs["injections"] = TestingWaveforms.req(self)
        return reqs

    def background(self) -> TestingBackground:
        """The background branch this branch analyses."""
        return TestingBackground.req(self, branch=self.branch_data.chunk)

    def injections(self) -> TestingWaveforms:
        """The testing-waveforms branch of this branch's chunk."""
        return TestingWaveforms.req(self, branch=self.branch_data.chunk)

    def branch_name(self) -> str:
        """``<t0>-<duration>-<k>``: the chunk and the timeslide."""
        start, duration = self.background().branch_data
        return f"{start:.0f}-{duration:.0f}-{self.branch_data.index}"


class ChunkWorkflow(TestingChunks):
    """A workflow with one branch per test chunk and all its
    timeslides."""

    def create_branch_map(self):
        chunks = self.chunks()
        if chunks is None:
            return [None]
        self.cache_branch_map = True
        return dict(enumerate(chunks))

    def workflow_requires(self):
        # HTCondor jobs run branches only: upstream workflows finish first
        reqs = super().workflow_requires()
        reqs["background"] = TestingBackground.req(self)
        return reqs

    def background(self) -> TestingBackground:
        return TestingBackground.req(self, branch=self.branch)

    def branch_timeslides(self) -> list[Timeslide]:
        """This chunk's timeslides of the background."""
        return [b for b in self.timeslides() if b.chunk == self.branch]

    def branch_name(self) -> str:
        """``<t0>-<duration>``: the chunk."""
        return f"{self.branch_data.start:.0f}-{self.branch_data.duration:.0f}"
