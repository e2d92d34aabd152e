"""Seconds of strain analysed per second: the engines against a naive loop.

Streams ``--duration`` seconds of two-detector strain twice (background
and foreground, as every inference branch does) through an exported
repository of a randomly initialised ResNet1D at the quickstart geometry,
and times

* ``naive``: a batched torch loop that cuts every window out of the
  strain and whitens each with the PSD of its own preceding psd_length
  (the way training whitens), then runs the torch detector;
* ``local``: the embedded engine (snapshotter + whitener + ONNX detector,
  one PSD per request of batch_size windows);
* ``triton``: the same repository served by the nvidia-pytriton server
  (.venv-triton), when it exists.

Ratios are against the naive loop measured in the same run.  Usage::

    .venv/bin/python benchmarks/inference.py [--duration 600] [--layers 1 1]
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from aframe_contracts.model import WhiteningSpec
from aframe_export.export import export
from aframe_serving.engine import LocalEngine, TritonEngine
from aframe_serving.repository import ModelRepository
from aframe_serving.server import TritonServer, default_server
from aframe_signal.whitening import STRAIN_SCALE, Whitener
from aframe_train.model import resnet

# the quickstart preset's geometry
RATE, KERNEL, FDURATION, PSD_LENGTH = 1024, 1.0, 1.0, 64.0
INFERENCE_RATE, BATCH = 4.0, 64


def save_weights(directory: Path, layers: list[int]) -> Path:
    network = resnet(2, layers, 16).eval()
    example = torch.zeros(1, 2, round(KERNEL * RATE))
    path = directory / "model.pt"
    torch.jit.trace(network, example).save(str(path))
    settings = {
        "ifos": ["H1", "L1"],
        "sample_rate": RATE,
        "kernel_length": KERNEL,
        "fduration": FDURATION,
        "psd_length": PSD_LENGTH,
        "fftlength": None,
        "highpass": 32.0,
        "lowpass": None,
        "strain_scale": STRAIN_SCALE,
    }
    (directory / "model.json").write_text(json.dumps(settings))
    return path


def naive(weights: Path, strains: list[np.ndarray]) -> None:
    """Every window whitened with its own PSD, in batches."""
    network = torch.jit.load(str(weights)).eval()
    whitener = Whitener(
        WhiteningSpec(RATE, KERNEL, FDURATION, PSD_LENGTH, None, 32, None)
    )
    size = whitener.psd_size + whitener.window_size
    stride = round(RATE / INFERENCE_RATE)
    with torch.no_grad():
        for strain in strains:
            x = torch.as_tensor(strain * STRAIN_SCALE).double()
            windows = x.unfold(-1, size, stride).transpose(0, 1)
            for batch in windows.split(BATCH):
                network(whitener(batch.contiguous().float()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 1])
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="aframe-bench-"))
    weights = save_weights(work, args.layers)
    repository = work / "repo"
    export(
        weights,
        repository,
        ["H1", "L1"],
        RATE,
        KERNEL,
        FDURATION,
        PSD_LENGTH,
        INFERENCE_RATE,
        BATCH,
        platform="onnx",
        serving="python",
    )
    model = ModelRepository.open(repository)
    geometry = model.geometry
    rng = np.random.default_rng(0)
    size = round(args.duration * RATE)
    strains = [rng.standard_normal((2, size)) * 1e-21 for _ in range(2)]
    updates = [geometry.updates(x) for x in strains]
    analysed = 2 * args.duration

    timings = {}
    start = time.perf_counter()
    naive(weights, strains)
    timings["naive torch loop"] = time.perf_counter() - start

    engine = LocalEngine(model)
    start = time.perf_counter()
    engine.infer(updates)
    timings["local engine"] = time.perf_counter() - start

    if (default_server() / "bin" / "python").exists():
        with TritonServer(repository, log=work / "triton.log") as server:
            client = TritonEngine(server.url, model.manifest)
            start = time.perf_counter()
            client.infer(updates)
            timings["triton (pytriton, CPU)"] = time.perf_counter() - start

    baseline = timings["naive torch loop"]
    print(
        f"{args.duration:.0f} s x 2 streams, {RATE} Hz, batch {BATCH}, "
        f"ResNet1D {args.layers}, torch threads {torch.get_num_threads()}"
    )
    print(f"{'engine':<26}{'s':>8}{'strain s/s':>12}{'vs naive':>10}")
    for name, seconds in timings.items():
        print(
            f"{name:<26}{seconds:>8.1f}{analysed / seconds:>12.0f}"
            f"{baseline / seconds:>10.2f}"
        )


if __name__ == "__main__":
    main()
