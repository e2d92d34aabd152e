"""Write the trained detector into a Triton model repository.

    model_repo/
      aframe/config.pbtxt, aframe/<v>/model.onnx (or model.plan)
      preprocessor/config.pbtxt, preprocessor/<v>/model.pt
      manifest.json

``manifest.json`` is written last: it records the platform, the versions,
the stream geometry and the sha256 of the weights, so a re-export of the
same weights is a no-op and new weights write a new version.
"""

import json
import logging
import os
from pathlib import Path

import torch

from aframe.paths import sha256
from aframe_export.preprocess import BatchWhitener

logger = logging.getLogger("aframe_export")

# the settings of model.json export checks against the pipeline's
CHECKED = ("ifos", "sample_rate", "kernel_length", "fduration")


class ExportError(ValueError):
    """The weights cannot be exported as asked."""


def choose_platform(platform: str) -> str:
    """'tensorrt' where tensorrt imports and a GPU is visible, else 'onnx'."""
    if platform != "auto":
        return platform
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        logger.info("tensorrt does not import: exporting ONNX")
        return "onnx"
    if not torch.cuda.is_available():
        logger.info("no GPU visible: exporting ONNX")
        return "onnx"
    return "tensorrt"


def load_settings(weights: Path, expected: dict) -> dict:
    """The model's training settings, checked against the pipeline's."""
    if not weights.exists():
        raise ExportError(f"no trained weights at {weights}")
    path = weights.with_name("model.json")
    if not path.exists():
        raise ExportError(f"{path} (the model's settings) is missing")
    settings = json.loads(path.read_text())
    for key in CHECKED:
        if key in expected and settings[key] != expected[key]:
            raise ExportError(
                f"the model in {weights} was trained with {key} = "
                f"{settings[key]!r}, but the pipeline has {expected[key]!r}"
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


def tensor_config(name, dtype, dims) -> str:
    return (
        f'  {{ name: "{name}" data_type: {dtype} '
        f"dims: [ {', '.join(str(d) for d in dims)} ] }}"
    )


def write_config(
    directory: Path, name: str, platform: str, inputs, outputs, instances, kind
) -> None:
    text = "\n".join(
        [
            f'name: "{name}"',
            f'platform: "{platform}"',
            "max_batch_size: 0",
            "input [",
            ",\n".join(tensor_config(*i) for i in inputs),
            "]",
            "output [",
            ",\n".join(tensor_config(*o) for o in outputs),
            "]",
            f"instance_group [ {{ count: {instances} kind: {kind} }} ]",
            "",
        ]
    )
    (directory / "config.pbtxt").write_text(text)


def next_version(directory: Path) -> int:
    versions = [int(p.name) for p in directory.glob("*") if p.name.isdigit()]
    return max(versions, default=0) + 1


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
    platform: str = "auto",
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
        streams_per_gpu: preprocessor instances (concurrent streams).
        platform: auto, onnx or tensorrt.
        aframe_instances: detector instances.
        fp16: TensorRT only: half precision.
    """
    expected = {
        "ifos": list(ifos),
        "sample_rate": sample_rate,
        "kernel_length": kernel_length,
        "fduration": fduration,
    }
    settings = load_settings(weights, expected)
    platform = choose_platform(platform)
    whitener = BatchWhitener(
        sample_rate,
        kernel_length,
        fduration,
        psd_length,
        inference_sampling_rate,
        batch_size,
        settings["fftlength"],
        settings["highpass"],
        settings["lowpass"],
        settings["strain_scale"],
    )
    manifest = {
        "weights": str(weights),
        "weights_sha256": sha256(weights),
        "settings": settings,
        "platform": platform,
        "ifos": list(ifos),
        "sample_rate": sample_rate,
        "kernel_length": kernel_length,
        "fduration": fduration,
        "psd_length": psd_length,
        "inference_sampling_rate": inference_sampling_rate,
        "batch_size": batch_size,
        "stride": whitener.stride,
        "buffer_size": whitener.buffer_size,
        "update_size": batch_size * whitener.stride,
    }
    manifest_path = repository / "manifest.json"
    if manifest_path.exists():
        previous = json.loads(manifest_path.read_text())
        previous.pop("versions")
        if previous == manifest:
            logger.info("%s already holds these weights", repository)
            return
    kind = "KIND_GPU" if torch.cuda.is_available() else "KIND_CPU"
    channels = len(ifos)
    kernel = round(kernel_length * sample_rate)

    detector_dir = repository / "aframe"
    version = next_version(detector_dir)
    target = detector_dir / str(version)
    target.mkdir(parents=True, exist_ok=True)
    network = torch.jit.load(str(weights), map_location="cpu").eval()
    example = torch.zeros(batch_size, channels, kernel)
    onnx_detector(network, example, target / "model.onnx")
    if platform == "tensorrt":
        tensorrt_detector(target / "model.onnx", target / "model.plan", fp16)
        (target / "model.onnx").unlink()
    write_config(
        detector_dir,
        "aframe",
        "tensorrt_plan" if platform == "tensorrt" else "onnxruntime_onnx",
        [("whitened", "TYPE_FP32", (batch_size, channels, kernel))],
        [("detection_statistic", "TYPE_FP32", (batch_size, 1))],
        aframe_instances,
        kind,
    )

    preprocessor_dir = repository / "preprocessor"
    preprocessor_version = next_version(preprocessor_dir)
    target = preprocessor_dir / str(preprocessor_version)
    target.mkdir(parents=True, exist_ok=True)
    buffer = torch.zeros(channels, whitener.buffer_size)
    traced = torch.jit.trace(whitener, buffer, check_trace=False)
    traced.save(str(target / "model.pt"))
    write_config(
        preprocessor_dir,
        "preprocessor",
        "pytorch_libtorch",
        [("strain", "TYPE_FP32", (channels, whitener.buffer_size))],
        [("whitened", "TYPE_FP32", (batch_size, channels, kernel))],
        streams_per_gpu,
        kind,
    )

    manifest["versions"] = {
        "aframe": version,
        "preprocessor": preprocessor_version,
    }
    tmp = repository / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, manifest_path)
    logger.info(
        "exported %s (%s, version %d) to %s",
        weights,
        platform,
        version,
        repository,
    )
