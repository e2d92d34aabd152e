"""Write the trained detector into a Triton model repository.

    model_repo/
      snapshotter/<v>/model.onnx     the stream's state: updates -> buffers
      preprocessor/<v>/model.pt      training's whitening of the batch's
                                     span (TorchScript)
      aframe/<v>/model.onnx|plan     the detector: each window's logit,
                                     and a template bank's merger time
      aframe/<v>/network.pt          a template bank's TorchScript, for
                                     the embedded engine's bank backend
      aframe-stream/<v>/             the ensemble of the three
      */config.pbtxt, manifest.json

Every export writes one version number across the four models and the
ensemble pins it.  ``manifest.json`` is written last: it records the
platform, the serving flavour, the version, the stream geometry and the
sha256 of the weights, so a re-export of the same weights is a no-op and
new weights write a new version.

A template bank's detector outputs two values per window (the manifest's
``merger_offsets``): the logit, and the time of the winning template's
merger at its peak in the first ifo less the window's end
(``TemplateBank.timed``), which times events to a sample
(``aframe_serving.postprocess``).  Other networks output the logit.
"""

import logging
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, NamedTuple

import torch

from aframe_contracts.errors import ContractError, check_positive
from aframe_contracts.files import check_directory, make_directory, sha256
from aframe_contracts.model import FILE as SETTINGS_FILE
from aframe_contracts.model import ModelSettings
from aframe_contracts.repository import MANIFEST_FILE, NETWORK_FILE, Manifest
from aframe_export import triton
from aframe_export.snapshotter import Snapshotter, export_onnx
from aframe_export.triton import Tensor
from aframe_signal.bank import load_bank
from aframe_signal.whitening import BatchWhitener

logger = logging.getLogger("aframe_export")

# the settings of model.json export checks against the pipeline's
CHECKED = ("ifos", "sample_rate", "kernel_length", "fduration")


class ExportError(ValueError):
    """The weights cannot be exported as asked."""


class TimedBank(torch.nn.Module):
    """A template bank as its detector is exported: ``TemplateBank.timed``,
    each window's logit and merger offset."""

    def __init__(self, bank: torch.nn.Module) -> None:
        super().__init__()
        self.bank = bank

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.bank.timed(X)


def choose_platform(platform: str) -> str:
    """'tensorrt' where tensorrt imports and a GPU is visible, else 'onnx'.

    Raises:
        ExportError: tensorrt was asked for where it cannot be built.
    """
    if platform == "onnx":
        return platform
    missing = tensorrt_missing()
    if platform == "tensorrt" and missing:
        raise ExportError(
            f"platform: tensorrt needs the tensorrt package and a CUDA GPU, "
            f"and {missing}: export on a GPU node with tensorrt installed, "
            "or use platform: onnx (or auto)"
        )
    if missing:
        logger.info("%s: exporting ONNX", missing)
        return "onnx"
    return "tensorrt"


def tensorrt_missing() -> str:
    """Why a TensorRT engine cannot be built here; empty if it can."""
    try:
        import tensorrt  # noqa: F401
    except ImportError as error:
        return f"tensorrt does not import ({error})"
    if not torch.cuda.is_available():
        return "no CUDA GPU is visible"
    return ""


def load_settings(weights: Path, expected: dict) -> ModelSettings:
    """The model's training settings, checked against the pipeline's."""
    if not weights.exists():
        raise ExportError(f"no trained weights at {weights}")
    settings = ModelSettings.read(weights.with_name(SETTINGS_FILE))
    for key in CHECKED:
        trained = getattr(settings, key)
        if key in expected and trained != expected[key]:
            raise ExportError(
                f"the model in {weights} was trained with {key} = "
                f"{trained!r}, but the pipeline has {expected[key]!r}"
            )
    return settings


def onnx_detector(network, example: torch.Tensor, path: Path) -> None:
    torch.onnx.export(
        network,
        (example,),
        str(path),
        input_names=["whitened"],
        output_names=["detection_statistic"],
        opset_version=17,
        dynamo=False,
    )


def tensorrt_detector(onnx_path: Path, path: Path, fp16: bool) -> None:
    """Build a TensorRT engine from the ONNX detector (GPU nodes only)."""
    import tensorrt as trt

    trt_logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(trt_logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, trt_logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise ExportError(
            "TensorRT cannot parse the ONNX model: " + "; ".join(errors)
        )
    config = builder.create_builder_config()
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    engine = builder.build_serialized_network(network, config)
    if engine is None:
        raise ExportError("TensorRT failed to build the engine")
    path.write_bytes(bytes(engine))


def choose_serving(serving: str, platform: str) -> str:
    """'native' on GPU nodes (NVIDIA's Triton), else 'python'."""
    if serving != "auto":
        return serving
    if platform == "tensorrt" or torch.cuda.is_available():
        return "native"
    logger.info(
        "no GPU: the repository is served through Triton's python backend"
    )
    return "python"


def holds(repository: Path, manifest: Manifest) -> bool:
    """Whether the repository's latest version is this export already,
    with its files as they were written."""
    try:
        previous = Manifest.read(repository)
        if previous != replace(
            manifest,
            version=previous.version,
            files=previous.files,
            digest=previous.digest,
        ):
            return False
        previous.verify(repository)
    except ContractError as error:
        if (repository / MANIFEST_FILE).exists():
            logger.warning("%s: exporting a new version", error)
        return False
    return True


def next_version(directory: Path) -> int:
    versions = [int(p.name) for p in directory.glob("*/*") if p.name.isdigit()]
    return max(versions, default=0) + 1


class Tensors(NamedTuple):
    """The tensors the repository's models pass along a stream."""

    update: Tensor
    snapshot: Tensor
    whitened: Tensor
    statistic: Tensor


@dataclass(frozen=True)
class RepositoryWriter:
    """Writes one version of the repository's models.

    Args:
        repository: the model repository.
        version: the version being written.
        python: every model is served by Triton's python backend, which
            runs a copy of triton_models/model.py beside its files.
    """

    repository: Path
    version: int
    python: bool

    @property
    def kind(self) -> str:
        """Where Triton runs the instances."""
        gpu = torch.cuda.is_available() and not self.python
        return "KIND_GPU" if gpu else "KIND_CPU"

    def remove(self) -> None:
        """Delete what this version wrote (an export that failed)."""
        for target in self.repository.glob(f"*/{self.version}"):
            shutil.rmtree(target, ignore_errors=True)

    def model_dir(self, name: str) -> Path:
        """The version's directory of model ``name``, made."""
        target = self.repository / name / str(self.version)
        make_directory(target)
        if self.python and name != triton.ENSEMBLE:
            runner = Path(__file__).with_name("triton_models") / "model.py"
            shutil.copyfile(runner, target / "model.py")
        return target

    def write_config(self, name: str, backend: str, *args, **kwargs):
        """The model's config.pbtxt (``triton.model_config``)."""
        text = triton.model_config(
            name, "python" if self.python else backend, *args, **kwargs
        )
        (self.repository / name / "config.pbtxt").write_text(text)


def write_snapshotter(writer: RepositoryWriter, tensors: Tensors) -> None:
    """The stream's state: each update -> the buffer that ends with it."""
    channels, update_size = tensors.update.dims
    buffer_size = tensors.snapshot.dims[-1]
    snapshotter = Snapshotter(update_size, buffer_size)
    target = writer.model_dir("snapshotter") / "model.onnx"
    export_onnx(snapshotter, channels, target)
    state = Tensor("state", (channels, snapshotter.state_size))
    writer.write_config(
        "snapshotter",
        "onnxruntime_onnx",
        [tensors.update],
        [tensors.snapshot],
        1,
        writer.kind,
        triton.sequence_batching(None if writer.python else state),
    )


def write_preprocessor(
    writer: RepositoryWriter,
    tensors: Tensors,
    whitener: BatchWhitener,
    instances: int,
) -> None:
    """The whitener, traced: a buffer -> the batch of whitened kernels."""
    target = writer.model_dir("preprocessor")
    # a trace records the device of the tensors it creates: trace it on
    # the device Triton will run it on
    device = "cuda" if writer.kind == "KIND_GPU" else "cpu"
    strain = torch.zeros(*tensors.snapshot.dims, device=device)
    traced = torch.jit.trace(whitener.to(device), strain, check_trace=False)
    traced.save(str(target / "model.pt"))
    writer.write_config(
        "preprocessor",
        "pytorch_libtorch",
        [Tensor("strain__0", tensors.snapshot.dims)],
        [Tensor("whitened__0", tensors.whitened.dims)],
        instances,
        writer.kind,
    )


def load_network(weights: Path, dims: tuple[int, ...]) -> torch.nn.Module:
    """The detector to export: the TorchScript network, tried on a batch
    of zeros of ``dims``; a template bank's ``TimedBank``.

    Raises:
        ExportError: the file does not load (truncated, not TorchScript)
            or the network does not map (batch, ifos, kernel) windows to
            (batch, 1) logits: model.json does not describe it.
    """
    try:
        network = torch.jit.load(str(weights), map_location="cpu").eval()
    except (RuntimeError, OSError, ValueError) as error:
        first = str(error).strip().splitlines()[0]
        raise ExportError(
            f"{weights} does not load as TorchScript ({first}): is it "
            "truncated?  Copy it again, or retrain"
        ) from None
    with torch.no_grad():
        try:
            output = network(torch.zeros(dims))
        except Exception as error:  # any failure says so
            first = str(error).strip().splitlines()[0]
            raise ExportError(
                f"{weights} does not take windows of {list(dims)} (batch, "
                f"ifos, kernel samples, as its model.json says): {first}"
            ) from None
    if tuple(output.shape) != (dims[0], 1):
        raise ExportError(
            f"{weights} gives outputs of {list(output.shape)} for windows "
            f"of {list(dims)}, not one logit per window"
        )
    bank = load_bank(weights)
    return network if bank is None else TimedBank(bank)


def write_detector(
    writer: RepositoryWriter,
    tensors: Tensors,
    weights: Path,
    network: torch.nn.Module,
    platform: str,
    fp16: bool,
    instances: int,
) -> None:
    """The network, as ONNX or a TensorRT engine built from it; a bank's
    TorchScript beside it too."""
    target = writer.model_dir("aframe")
    example = torch.zeros(tensors.whitened.dims)
    onnx_detector(network, example, target / "model.onnx")
    if isinstance(network, TimedBank):
        # the bank backend of the embedded engine runs it in parts
        shutil.copyfile(weights, target / NETWORK_FILE)
    if platform == "tensorrt":
        tensorrt_detector(target / "model.onnx", target / "model.plan", fp16)
        (target / "model.onnx").unlink()
    writer.write_config(
        "aframe",
        "tensorrt_plan" if platform == "tensorrt" else "onnxruntime_onnx",
        [tensors.whitened],
        [tensors.statistic],
        instances,
        writer.kind,
    )


def export(
    weights: Path,
    repository: Path,
    ifos: list[str],
    sample_rate: float,
    kernel_length: float,
    fduration: float,
    psd_length: float,
    inference_sampling_rate: float,
    batch_size: int,
    streams_per_gpu: int = 1,
    platform: Literal["auto", "onnx", "tensorrt"] = "auto",
    serving: Literal["auto", "native", "python"] = "auto",
    aframe_instances: int = 1,
    fp16: bool = False,
) -> None:
    """Export the weights; a no-op when the repository already holds them.

    Args:
        weights: the trained network (TorchScript ``model.pt``, with its
            ``model.json`` beside it).
        repository: the Triton model repository to write.
        ifos: the pipeline's ifos, checked against the model's.
        sample_rate: the pipeline's sample rate (Hz), checked.
        kernel_length: the pipeline's kernel length (s), checked.
        fduration: the pipeline's whitening filter length (s), checked.
        psd_length: background before each batch whose PSD whitens it (s).
        inference_sampling_rate: network evaluations per second (Hz).
        batch_size: windows per request.
        streams_per_gpu: whitener instances (concurrent streams).
        platform: auto, onnx or tensorrt (the detector's format).
        serving: auto, native (NVIDIA's Triton: onnxruntime, TensorRT and
            libtorch backends) or python (every model through Triton's
            python backend: the nvidia-pytriton server, CPU).
        aframe_instances: detector instances.
        fp16: TensorRT only: half precision.
    """
    check_positive(
        psd_length=psd_length,
        inference_sampling_rate=inference_sampling_rate,
        batch_size=batch_size,
        streams_per_gpu=streams_per_gpu,
        aframe_instances=aframe_instances,
    )
    check_directory(repository)
    expected = {
        "ifos": list(ifos),
        "sample_rate": sample_rate,
        "kernel_length": kernel_length,
        "fduration": fduration,
    }
    settings = load_settings(weights, expected)
    platform = choose_platform(platform)
    serving = choose_serving(serving, platform)
    if serving == "python" and platform == "tensorrt":
        raise ExportError(
            "Triton's python backend cannot run a TensorRT engine: use "
            "serving: native or platform: onnx"
        )
    # training's whitening, with the PSD of the longer stretch that
    # inference has (the rest was checked equal above)
    whitener = BatchWhitener(
        replace(settings.whitening, psd_length=psd_length),
        inference_sampling_rate,
        batch_size,
        settings.strain_scale,
    )
    update_size = batch_size * whitener.stride
    version = next_version(repository)
    channels, kernel = len(ifos), settings.kernel_size
    whitened = Tensor("whitened", (batch_size, channels, kernel))
    # before anything is written: the weights load and fit the shapes
    network = load_network(weights, whitened.dims)
    timed = isinstance(network, TimedBank)
    manifest = Manifest(
        weights=str(weights),
        weights_sha256=sha256(weights),
        settings=settings,
        platform=platform,
        serving=serving,
        ensemble=triton.ENSEMBLE,
        ifos=list(ifos),
        sample_rate=sample_rate,
        kernel_length=kernel_length,
        fduration=fduration,
        psd_length=psd_length,
        inference_sampling_rate=inference_sampling_rate,
        batch_size=batch_size,
        stride=whitener.stride,
        buffer_size=whitener.buffer_size,
        update_size=update_size,
        streams_per_gpu=streams_per_gpu,
        aframe_instances=aframe_instances,
        merger_offsets=timed,
        version=version,
    )
    if holds(repository, manifest):
        logger.info("%s already holds these weights", repository)
        return

    writer = RepositoryWriter(repository, version, serving == "python")
    tensors = Tensors(
        update=Tensor("update", (channels, update_size)),
        snapshot=Tensor("snapshot", (channels, whitener.buffer_size)),
        whitened=whitened,
        statistic=Tensor(
            "detection_statistic", (batch_size, manifest.output_width)
        ),
    )
    try:
        write_snapshotter(writer, tensors)
        write_preprocessor(writer, tensors, whitener, streams_per_gpu)
        write_detector(
            writer, tensors, weights, network, platform, fp16, aframe_instances
        )
        writer.model_dir(triton.ENSEMBLE)
        (repository / triton.ENSEMBLE / "config.pbtxt").write_text(
            triton.ensemble_config(tensors.update, tensors.statistic, version)
        )
    except BaseException:
        # a version is whole or absent: the next export reuses its number
        writer.remove()
        raise
    manifest.with_files(repository).write(repository)
    logger.info(
        "exported %s to %s: version %d, %s detector, %s serving",
        weights,
        repository,
        version,
        platform,
        serving,
    )
