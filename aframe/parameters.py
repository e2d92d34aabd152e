"""The parameters shared by several stages, declared once.

They are set in the ``[pipeline]`` section of the cfg (see ``aframe.base``),
and the pipelines hand them to every task with ``.req(self)``.  The stage
YAMLs never repeat them: the tasks pass them to the stages in the overrides
file they write.
"""

import os
from pathlib import Path

import law
import luigi

from aframe.base import ContainerParams, resolve_config_path
from aframe_contracts.detectors import check_ifos

# names the challenge's checkout where the cfg's mlgwsc_dir is empty
MLGWSC_DIR_VARIABLE = "AFRAME_MLGWSC_DIR"


class PositiveFloatParameter(luigi.FloatParameter):
    """A float that must be > 0 (a rate, a length, a duration)."""

    def parse(self, x):
        value = super().parse(x)
        if not value > 0:
            raise ValueError(f"must be positive, got {value:g}")
        return value


class NonNegativeFloatParameter(luigi.FloatParameter):
    """A float that must be >= 0."""

    def parse(self, x):
        value = super().parse(x)
        if not value >= 0:
            raise ValueError(f"must not be negative, got {value:g}")
        return value


class PositiveIntParameter(luigi.IntParameter):
    """An int that must be > 0 (a count, a size)."""

    def parse(self, x):
        value = super().parse(x)
        if value <= 0:
            raise ValueError(f"must be positive, got {value}")
        return value


class IfosParameter(luigi.ListParameter):
    """Detector names that aframe can project signals onto."""

    def parse(self, x):
        value = super().parse(x)
        check_ifos(value)
        return value


class PipelineParams(ContainerParams):
    """Physics, data span and signal settings common to the stages."""

    # the detectors and the analysis band
    ifos = IfosParameter(
        description="interferometers, in the order of the strain channels"
    )
    sample_rate = PositiveFloatParameter(description="strain sample rate (Hz)")
    highpass = PositiveFloatParameter(description="highpass frequency (Hz)")
    lowpass = luigi.OptionalFloatParameter(
        description="lowpass frequency (Hz); empty for none"
    )

    # what the network sees
    kernel_length = PositiveFloatParameter(
        description="length of the whitened window the network sees (s)"
    )
    fduration = PositiveFloatParameter(
        description="length of the whitening filter (s); half of it is "
        "cropped from each side of a whitened window"
    )
    fftlength = luigi.OptionalFloatParameter(
        description="FFT length of the Welch PSD estimate (s); empty for "
        "kernel_length + fduration"
    )
    psd_length = PositiveFloatParameter(
        description="background preceding a training window whose PSD "
        "whitens it (s)"
    )

    # inference
    inference_psd_length = PositiveFloatParameter(
        description="background preceding an inference window whose PSD "
        "whitens it (s)"
    )
    inference_sampling_rate = PositiveFloatParameter(
        description="rate at which the network is evaluated (Hz)"
    )
    inference_batch_size = PositiveIntParameter(
        description="windows per inference request"
    )
    streams_per_gpu = PositiveIntParameter(
        description="snapshotter instances (concurrent streams) per GPU"
    )
    Tb = PositiveFloatParameter(
        description="time-slid background livetime to analyse (s)"
    )
    shifts = luigi.ListParameter(
        description="per-ifo time-shift step (s); the k-th timeslide "
        "shifts each ifo by k times its step"
    )
    integration_window_length = NonNegativeFloatParameter(
        description="length of the moving average of the output (s)"
    )
    cluster_window_length = PositiveFloatParameter(
        description="window in which only the loudest event is kept (s)"
    )
    backend = luigi.ChoiceParameter(
        choices=("local", "triton"),
        description="'local' runs the exported model in process; 'triton' "
        "serves it with a Triton server",
    )
    local_engine = luigi.ChoiceParameter(
        choices=("auto", "stream", "bank"),
        significant=False,
        description="what the local backend runs: 'auto' filters a "
        "template bank once per update at FFT cost and streams any other "
        "network through the exported files; 'stream' always streams; "
        "'bank' requires a bank",
    )
    triton_url = luigi.Parameter(
        significant=False,
        description="gRPC address of a running Triton server; empty "
        "starts one for each branch (triton backend)",
    )
    triton_server = luigi.Parameter(
        significant=False,
        description="the Triton server a branch starts: the nvidia-pytriton "
        "environment (empty: .venv-triton beside the project's venv), a "
        "tritonserver binary, or an Apptainer image of NVIDIA's Triton "
        "(relative: to the cfg)",
    )

    # the MLGWSC-1 benchmark
    mlgwsc_datasets = luigi.ListParameter(
        description="MLGWSC-1 datasets (1-4) to score the exported model "
        "on; empty: none"
    )
    mlgwsc_duration = PositiveIntParameter(
        description="seconds of challenge data per set (a month: 2592000)"
    )
    mlgwsc_seed = luigi.IntParameter(
        description="the seed of the challenge's generator"
    )
    mlgwsc_dir = luigi.Parameter(
        significant=False,
        description="a checkout of gwastro/ml-mock-data-challenge-1 "
        f"(relative: to the cfg); empty: ${MLGWSC_DIR_VARIABLE}",
    )

    # simulated signals
    prior = luigi.Parameter(
        description="name of the injection prior (see aframe_priors.priors)"
    )
    waveform_approximant = luigi.Parameter(description="waveform model")
    waveform_duration = PositiveFloatParameter(
        description="length of a simulated waveform (s)"
    )
    minimum_frequency = PositiveFloatParameter(
        description="lowest frequency of a simulated waveform (Hz)"
    )
    reference_frequency = PositiveFloatParameter(
        description="reference frequency of the spins (Hz)"
    )
    right_pad = NonNegativeFloatParameter(
        description="time from coalescence to the end of a waveform (s)"
    )

    # the data
    data_source = luigi.ChoiceParameter(
        choices=("simulated", "gwosc", "files"),
        description="where background strain comes from",
    )
    noise_psd = luigi.Parameter(
        description="simulated source: one or more PSDs, separated by "
        "spaces, each a curve shipped with bilby (e.g. aLIGO_O4_high), a "
        "PSD file (two-column text, or pycbc's HDF5) or a glob of them; "
        "{ifo} stands for the ifo and {mlgwsc_dir} for the challenge's "
        "checkout; each ifo of each file draws one"
    )
    strain_files = luigi.ListParameter(
        description="files source: strain files or glob patterns"
    )
    frame_channel = luigi.Parameter(
        description="files source: the strain channel of GWF files, "
        "without the ifo prefix"
    )
    # glitches (docs/glitches.md)
    glitch_source = luigi.ChoiceParameter(
        choices=("none", "gengli", "table"),
        description="glitches in the background: none, gengli (blips "
        "added to every background file, training and testing) or table "
        "(real glitches the strain holds, read from glitch_table)",
    )
    glitch_rates = luigi.DictParameter(
        description="gengli: glitches per minute in each ifo"
    )
    glitch_snr_min = PositiveFloatParameter(
        description="gengli: the quietest glitch's optimal SNR"
    )
    glitch_snr_max = PositiveFloatParameter(
        description="gengli: the loudest glitch's optimal SNR"
    )
    glitch_snr_index = luigi.FloatParameter(
        description="gengli: the power law of the SNRs, p ~ snr^index"
    )
    glitch_table = luigi.Parameter(
        description="table: a table of real glitches (GPS time, ifo, SNR "
        "columns, as Omicron or Gravity Spy write them; relative: to the "
        "cfg)"
    )
    mlgwsc_glitches = luigi.BoolParameter(
        description="the MLGWSC-1 sets get gengli glitches too, one "
        "realisation in both files of a set"
    )
    train_start = luigi.FloatParameter(description="GPS start of training")
    train_stop = luigi.FloatParameter(
        description="GPS end of training, and start of testing"
    )
    test_stop = luigi.FloatParameter(description="GPS end of testing")
    seed = luigi.IntParameter(description="seed of every random draw")

    def glitch_model(self) -> dict:
        """The gengli glitch model, as the stages' ``glitches``."""
        return {
            "rates": dict(self.glitch_rates),
            "snr_min": self.glitch_snr_min,
            "snr_max": self.glitch_snr_max,
            "snr_index": self.glitch_snr_index,
        }

    def challenge_checkout(self) -> Path | None:
        """The MLGWSC-1 checkout: mlgwsc_dir (relative: to the cfg), else
        $AFRAME_MLGWSC_DIR, else None."""
        if self.mlgwsc_dir:
            return resolve_config_path(self.mlgwsc_dir)
        directory = os.environ.get(MLGWSC_DIR_VARIABLE, "")
        return Path(directory).expanduser().resolve() if directory else None


# the names of the shared parameters (law's own, like log_file, are not)
SHARED_PARAMETERS = tuple(
    name
    for name, _ in PipelineParams.get_params()
    if name not in dict(law.Task.get_params()) and name != "gpus"
)

# task representations (e.g. in --print-status) show only the parameters
# particular to each task
PipelineParams.exclude_params_repr = {
    "workflow",
    *law.Task.exclude_params_repr,
    *SHARED_PARAMETERS,
}
