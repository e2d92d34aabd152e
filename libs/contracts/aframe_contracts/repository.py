"""The model repository's records: its manifest and time calibration.

``$AFRAME_RESULTS_DIR/model_repo/manifest.json``, layout
``repository-manifest`` version 3, written last by export: a JSON object
of the fields of ``Manifest`` below (``settings`` is the model's
``model.json``), with ``layout`` and ``layout_version``.  Exporting the
same weights again does nothing; new weights write version ``<v> + 1``
beside the old one, and the manifest then describes it.  It holds the
sha256 of each file of its version (``files``) and of its own contents
(``digest``): a repository whose files or manifest were changed after
export is refused (``Manifest.verify``), since its outputs would be
wrong without an error.  A template bank's detector directory also
holds ``aframe/<v>/network.pt`` (``NETWORK_FILE``), the trained network's
TorchScript with the bank's settings inside, which the embedded engine's
bank backend runs in parts (``aframe_serving.bank``).

``$AFRAME_RESULTS_DIR/model_repo/timing.json``, layout
``time-calibration`` version 1, written by ``aframe-infer calibrate``: a
JSON object of the fields of ``TimeCalibration``.  It holds for the
version and weights it names only; inference refuses it for others.
"""

from dataclasses import dataclass, field, replace
from pathlib import Path

from aframe_contracts.errors import ContractError
from aframe_contracts.files import sha256
from aframe_contracts.layout import (
    content_digest,
    from_dict,
    read_record,
    write_record,
)
from aframe_contracts.model import ModelSettings, WhiteningSpec

MANIFEST_FILE, TIMING_FILE = "manifest.json", "timing.json"
# a bank's network, in the detector's version directory
NETWORK_FILE = "network.pt"
# the Triton model of a repository that streams are sent to: export names
# it, a server loads it, a client sends to it
ENSEMBLE = "aframe-stream"
MANIFEST, TIMING, VERSION = "repository-manifest", "time-calibration", 1
MANIFEST_VERSION = 3


@dataclass(frozen=True)
class Manifest:
    """A model repository's contents and stream geometry.

    Args:
        weights: the TorchScript weights exported.
        weights_sha256: their checksum.
        settings: the model's training settings.
        platform: the detector's format (onnx or tensorrt).
        serving: native (NVIDIA's Triton) or python (its python backend).
        ensemble: the Triton model that streams are sent to.
        ifos: the stream's channels, in order.
        sample_rate: strain samples per second (Hz).
        kernel_length: the window the network sees (s).
        fduration: the whitening filter's length (s).
        psd_length: the background whitening each window (s).
        inference_sampling_rate: network evaluations per second (Hz).
        batch_size: windows per request.
        stride: strain samples between windows.
        buffer_size: strain samples the whitener holds.
        update_size: strain samples per request.
        streams_per_gpu: whitener instances.
        aframe_instances: detector instances.
        merger_offsets: the detector's outputs are (batch_size, 2): each
            window's logit, then the time of the merger it found less
            the window's end (s), as a template bank gives it; otherwise
            (batch_size, 1), the logit.
        version: the repository version these describe.
        files: the sha256 of each file of the version (each model's
            config.pbtxt and the files in its version directory), by
            path in the repository.
        digest: the sha256 of the other fields, set by ``write``.
    """

    weights: str
    weights_sha256: str
    settings: ModelSettings
    platform: str
    serving: str
    ensemble: str
    ifos: list[str]
    sample_rate: float
    kernel_length: float
    fduration: float
    psd_length: float
    inference_sampling_rate: float
    batch_size: int
    stride: int
    buffer_size: int
    update_size: int
    streams_per_gpu: int
    aframe_instances: int
    merger_offsets: bool
    version: int
    files: dict[str, str] = field(default_factory=dict)
    digest: str = ""

    @property
    def whitening(self) -> WhiteningSpec:
        return self.settings.whitening

    @property
    def output_width(self) -> int:
        """Values per window the detector outputs."""
        return 2 if self.merger_offsets else 1

    def content_digest(self) -> str:
        """The sha256 of every field but ``digest``."""
        return content_digest(self)

    def with_files(self, repository: Path) -> "Manifest":
        """This manifest with the checksums of its version's files."""
        repository = Path(repository)
        return replace(
            self,
            files={
                str(path.relative_to(repository)): sha256(path)
                for path in version_files(repository, self.version)
            },
        )

    def write(self, repository: Path) -> None:
        record = replace(self, digest=self.content_digest())
        write_record(
            record,
            Path(repository) / MANIFEST_FILE,
            MANIFEST,
            MANIFEST_VERSION,
        )

    def verify(self, repository: Path) -> None:
        """Refuse a repository whose files changed since export.

        Raises:
            ContractError: a file of the version is missing or differs
                from the checksum export recorded.
        """
        for name, checksum in self.files.items():
            path = Path(repository) / name
            if not path.is_file():
                raise ContractError(
                    f"{path} is missing from the exported repository: "
                    "export again"
                )
            if sha256(path) != checksum:
                raise ContractError(
                    f"{path} changed since it was exported (its sha256 is "
                    f"not the one {MANIFEST_FILE} records): export again"
                )

    @classmethod
    def read(cls, repository: Path) -> "Manifest":
        """The manifest of a model repository.

        Raises:
            ContractError: it is missing (the directory is no exported
                repository) or not a manifest this aframe reads.
        """
        path = Path(repository) / MANIFEST_FILE
        if not path.is_file():
            raise ContractError(
                f"{path} is missing: {repository} is not an exported model "
                "repository (export first)"
            )
        manifest = read_record(
            cls, path, MANIFEST, MANIFEST_VERSION, "manifest"
        )
        settings = from_dict(
            ModelSettings, manifest.settings, path, "model settings"
        )
        manifest = replace(manifest, settings=settings)
        if manifest.digest != manifest.content_digest():
            raise ContractError(
                f"{path} was edited after export: its contents are not "
                "the ones its digest records, and a stream of other "
                "settings than the model's gives wrong events without an "
                "error. Export again"
            )
        return manifest


def version_files(repository: Path, version: int) -> list[Path]:
    """The files of one version of a repository: each model's
    config.pbtxt and the files in its ``<version>`` directory."""
    repository = Path(repository)
    found = list(repository.glob("*/config.pbtxt"))
    found += repository.glob(f"*/{version}/**/*")
    return sorted(
        path
        for path in found
        if path.is_file() and "__pycache__" not in path.parts
    )


@dataclass(frozen=True)
class TimeCalibration:
    """The timing calibration of one version of a model repository.

    Args:
        median: median of event time - coalescence time (s).
        spread: the half-width around the coalescence that holds 95% of
            the residuals (s).
        half_width: the time window: the half-width that holds
            ``window_quantile`` of them, or half an output step when that
            is wider (s).
        window_quantile: the share of residuals the window holds.
        found: validation injections found above ``threshold``.
        injected: validation injections analysed.
        threshold: the loudest background event's statistic.
        livetime: background analysed for the threshold (s).
        integration_window_length: the statistic's moving average (s).
        cluster_window_length: one event per this many seconds (s).
        version: the repository version measured.
        weights_sha256: the weights measured.
        arrival_spread: for a detector that gives merger offsets, the
            half-width that holds 95% of the residuals against the
            coalescence at the first ifo, of the signals above network
            SNR 12 (s): the offsets' own accuracy, where ``spread`` adds
            the light travel time from the geocentre; None otherwise.
        grid_spread: for such a detector, the 95% half-width of the
            output grid's estimate for those signals, against the
            geocentre (s), as for other detectors; None otherwise.
    """

    median: float
    spread: float
    half_width: float
    window_quantile: float
    found: int
    injected: int
    threshold: float
    livetime: float
    integration_window_length: float
    cluster_window_length: float
    version: int
    weights_sha256: str
    arrival_spread: float | None = None
    grid_spread: float | None = None

    def measured(self, manifest: Manifest) -> bool:
        """Whether this calibration measured the repository's current
        version and weights."""
        return (self.version, self.weights_sha256) == (
            manifest.version,
            manifest.weights_sha256,
        )

    def write(self, repository: Path) -> None:
        write_record(self, Path(repository) / TIMING_FILE, TIMING, VERSION)

    @classmethod
    def read(cls, repository: Path) -> "TimeCalibration":
        return read_record(
            cls,
            Path(repository) / TIMING_FILE,
            TIMING,
            VERSION,
            "time calibration",
        )
