"""Data tasks: segments, background strain, and simulated signals for
training (the test data's tasks, built on these, are in testing.py).

Layout under the data roots::

    AFRAME_TRAIN_DATA_DIR/segments.txt
    AFRAME_TRAIN_DATA_DIR/background/background-<t0>-<duration>.hdf5
    AFRAME_TRAIN_DATA_DIR/training_waveforms/waveforms-<branch>.hdf5
    AFRAME_TRAIN_DATA_DIR/validation_waveforms.hdf5
    AFRAME_TEST_DATA_DIR/segments.txt                  (testing.py)
    AFRAME_TEST_DATA_DIR/background/...                (testing.py)
    AFRAME_TEST_DATA_DIR/injections/...                (testing.py)
"""

from pathlib import Path

import law
import luigi

from aframe.base import StageCall, StageTask, resolve_config_path
from aframe.parameters import MLGWSC_DIR_VARIABLE, PipelineParams
from aframe.segments import Chunk
from aframe.workflows import SegmentWorkflow, Workflow


class DataTask(PipelineParams, StageTask):
    stage = "data"
    replaces_outputs = True

    def source_parameters(self) -> dict:
        """Where the strain comes from, as the data stage's arguments."""
        return {
            "source": self.data_source,
            "ifos": list(self.ifos),
            "strain_files": list(self.strain_files),
            "channel": self.frame_channel,
        }

    def signals(self) -> dict:
        """The prior and waveform model, as the data stage's ``signals``."""
        return {
            "prior": self.prior,
            "approximant": self.waveform_approximant,
            "sample_rate": self.sample_rate,
            "duration": self.waveform_duration,
            "minimum_frequency": self.minimum_frequency,
            "reference_frequency": self.reference_frequency,
            "right_pad": self.right_pad,
        }

    def band(self) -> dict:
        return {"highpass": self.highpass, "lowpass": self.lowpass}


# --------------------------------------------------------------- segments
class Segments(DataTask):
    """The analysable segments of one data split, as segwizard text."""

    min_duration = luigi.FloatParameter(
        description="shortest segment kept (s)"
    )
    flag = luigi.Parameter(
        default="DATA",
        description="gwosc source: the open-data flag each ifo must have "
        "(DATA is {ifo}_DATA)",
    )

    data_root: str  # the data root of the split, see aframe.paths

    def span(self) -> tuple[float, float]:
        raise NotImplementedError

    def output(self):
        return law.LocalFileTarget(self.root(self.data_root) / "segments.txt")

    def stage_call(self):
        start, stop = self.span()
        return StageCall(
            "segments",
            {
                **self.source_parameters(),
                "start": start,
                "stop": stop,
                "min_duration": self.min_duration,
                "flag": self.flag,
                "output": self.output().path,
            },
        )


class TrainingSegments(Segments):
    data_root = "train_data"

    def span(self):
        return self.train_start, self.train_stop


class Background(DataTask, SegmentWorkflow):
    """Background strain of the ifos, one HDF5 file per segment chunk."""

    max_duration = luigi.FloatParameter(
        description="longest chunk of a segment written as one file (s)"
    )

    segments_cls: type[Segments]

    def segments_file(self) -> Path:
        return Path(self.segments_cls.req(self).output().path)

    def chunks(self) -> list[Chunk] | None:
        """The chunks of the branch map, None until the segments exist."""
        chunks = list(self.as_workflow().get_branch_map().values())
        return None if chunks == [None] else chunks

    def workflow_requires(self):
        reqs = super().workflow_requires()
        reqs["segments"] = self.segments_cls.req(self)
        return reqs

    def requires(self):
        return self.segments_cls.req(self)

    def output(self):
        if self.branch_data is None:
            return self.pending()
        start, duration = self.branch_data
        name = f"background-{start:.0f}-{duration:.0f}.hdf5"
        return law.LocalFileTarget(
            self.root(self.segments_cls.data_root) / "background" / name
        )

    def stage_call(self):
        start, duration = self.branch_data
        return StageCall(
            "background",
            {
                **self.source_parameters(),
                "start": start,
                "duration": duration,
                "sample_rate": self.sample_rate,
                "seed": self.seed,
                "noise_psd": self.noise_psds(),
                **self.glitches(),
                "output": self.output().path,
            },
        )

    def glitches(self) -> dict:
        """The data stage's glitch arguments, by glitch_source."""
        if self.glitch_source == "gengli":
            return {"glitches": self.glitch_model()}
        if self.glitch_source == "table":
            if not self.glitch_table:
                raise ValueError(
                    "glitch_source = table needs [pipeline] glitch_table"
                )
            return {"glitch_table": str(self.glitch_table_path())}
        return {}

    def glitch_table_path(self) -> Path:
        return resolve_config_path(self.glitch_table)

    def challenge_dir(self) -> Path | None:
        """The challenge's checkout, if noise_psd names it."""
        if "{mlgwsc_dir}" not in self.noise_psd:
            return None
        directory = self.challenge_checkout()
        if directory is None:
            raise ValueError(
                "noise_psd names {mlgwsc_dir}, but neither [pipeline] "
                f"mlgwsc_dir nor ${MLGWSC_DIR_VARIABLE} is set"
            )
        return directory

    def noise_psds(self) -> str:
        """noise_psd, with ``{mlgwsc_dir}`` standing for the challenge's
        checkout (its O3a-like PSDs are in psds/{ifo}/psd-*.hdf)."""
        directory = self.challenge_dir()
        if directory is None:
            return self.noise_psd
        return self.noise_psd.replace("{mlgwsc_dir}", str(directory))

    def external_paths(self) -> list[Path]:
        directory = self.challenge_dir()
        paths = [directory] if directory else []
        if self.glitch_source == "table" and self.glitch_table:
            paths.append(self.glitch_table_path())
        return paths


class TrainingBackground(Background):
    segments_cls = TrainingSegments


class TrainingWaveforms(DataTask, Workflow):
    """Polarisations drawn from the prior, for injection during training."""

    uses_gpu = True

    num_signals = luigi.IntParameter(description="waveforms to simulate")
    num_jobs = luigi.IntParameter(
        description="branches the waveforms are split over"
    )

    def create_branch_map(self):
        share, extra = divmod(self.num_signals, self.num_jobs)
        return {i: share + (i < extra) for i in range(self.num_jobs)}

    def output(self):
        return law.LocalFileTarget(
            self.root("train_data")
            / "training_waveforms"
            / f"waveforms-{self.branch}.hdf5"
        )

    def stage_call(self):
        return StageCall(
            "training_waveforms",
            {
                "signals": self.signals(),
                "num_signals": self.branch_data,
                "seed": self.seed,
                "branch": self.branch,
                "output": self.output().path,
            },
        )


class ValidationWaveforms(DataTask):
    """Projected signals above an SNR threshold, for validation."""

    uses_gpu = True

    num_signals = luigi.IntParameter(description="waveforms to keep")
    snr_threshold = luigi.FloatParameter(
        description="lowest network SNR kept, against the training PSD"
    )

    def requires(self):
        return TrainingBackground.req(self)

    def output(self):
        return law.LocalFileTarget(
            self.root("train_data") / "validation_waveforms.hdf5"
        )

    def stage_call(self):
        backgrounds = self.input()["collection"].targets.values()
        return StageCall(
            "validation_waveforms",
            {
                "signals": self.signals(),
                "background_files": [t.path for t in backgrounds],
                "ifos": list(self.ifos),
                "num_signals": self.num_signals,
                "snr_threshold": self.snr_threshold,
                **self.band(),
                "seed": self.seed,
                "output": self.output().path,
            },
        )
