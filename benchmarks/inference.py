"""Seconds of strain analysed per second: the engines against a naive loop.

Streams ``--duration`` seconds of two-detector strain twice (background
and foreground, as every inference branch does) through an exported
repository of a randomly initialised network at the quickstart geometry
(``--network resnet``: a ResNet1D of ``--layers``; ``bank``: the
quickstart's template bank, 32 templates of 1 s with its chi-squared,
sine-Gaussian and SNR-ratio tests), and times

* ``naive``: a batched torch loop that cuts every window out of the
  strain and whitens each with the PSD of its own preceding psd_length
  (the way training whitens), then runs the torch detector;
* ``local engine, stream``: the exported files (snapshotter + whitener +
  ONNX detector, one PSD per request of batch_size windows);
* ``local engine, bank`` (bank only): the bank backend, the same
  whitening and network with the bank's filtering done once per update
  at FFT cost (``aframe_serving.bank``);
* ``triton``: the same repository served by the nvidia-pytriton server
  (.venv-triton), when it exists.

For the bank it also times the filtering alone, per ifo stream: every
window correlated with every template directly, as the exported ONNX
detector does (in onnxruntime, and in torch), against each update's
whitened span filtered by FFT; ratios against onnxruntime's.  And the
bank backend's update in its parts: each ifo's whitening and filtering,
which a timeslide does not change, against the coincidence, the tests at
its peaks and the ranking.  And the timeslides at ranking cost
(``aframe_serving.timeslides``): each ifo of a stream filtered once with
every test at every lag, then each extra timeslide, against a timeslide
of the stream through the exported files and through the bank backend.

Ratios are against the naive loop measured in the same run.  Usage::

    .venv/bin/python benchmarks/inference.py [--duration 600] \
        [--network resnet|bank] [--layers 1 1]
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
from aframe_serving.bank import BankEngine, local_engine
from aframe_serving.engine import LocalEngine, TritonEngine, cpu_session
from aframe_serving.repository import ModelRepository
from aframe_serving.server import TritonServer, default_server
from aframe_serving.timeslides import SlidBank
from aframe_signal.bank import TemplateBank, save_network
from aframe_signal.whitening import STRAIN_SCALE, Whitener
from aframe_train.model import resnet

# the quickstart preset's geometry
RATE, KERNEL, FDURATION, PSD_LENGTH = 1024, 1.25, 1.0, 64.0
INFERENCE_RATE, BATCH = 4.0, 64
# its template bank
TEMPLATES, TEMPLATE_LENGTH = 32, 1.0


def quickstart_bank() -> TemplateBank:
    """The quickstart's bank and tests, its templates chirps sweeping
    from 20-80 Hz to their mergers, its ranking at random."""
    size = round(TEMPLATE_LENGTH * RATE)
    t = torch.arange(size, dtype=torch.float64) / RATE
    tau = t[-1] + 0.01 - t
    chirps = torch.stack(
        [
            torch.sin(2 * torch.pi * f0 * tau ** (5 / 8) * 2) * tau**-0.25
            for f0 in torch.linspace(20, 80, 2 * TEMPLATES)
        ]
    )
    bank = TemplateBank(
        2,
        RATE,
        TEMPLATES,
        TEMPLATE_LENGTH,
        chisq_bins=16,
        sine_gaussian_q=12,
        max_snr_ratio=2.5,
    )
    bank.initialise(chirps.float())
    return bank.eval()


def save_weights(directory: Path, network_name: str, layers) -> Path:
    torch.manual_seed(0)
    bank = network_name == "bank"
    network = quickstart_bank() if bank else resnet(2, layers, 16).eval()
    example = torch.zeros(1, 2, round(KERNEL * RATE))
    path = directory / "model.pt"
    save_network(
        torch.jit.trace(network, example),
        path,
        network.settings if bank else None,
    )
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
        "checkpoint": "a benchmark: no checkpoint",
        "valid_auroc": 0.5,
        "response": network.response(round(KERNEL * RATE)) if bank else None,
    }
    (directory / "model.json").write_text(json.dumps(settings))
    return path


def exported(weights: Path, repository: Path) -> Path:
    """``weights`` exported at the quickstart's geometry, for the
    embedded engine and the CPU Triton server."""
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
    return repository


class Correlation(torch.nn.Module):
    """The bank's filtering alone, as its exported detector runs it."""

    def __init__(self, bank: TemplateBank) -> None:
        super().__init__()
        self.bank = bank

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.bank.snrs(X)


def onnx_session(module: torch.nn.Module, example: torch.Tensor, path):
    """``module`` exported as the detector is, in an onnxruntime session
    set up as the local engine sets up its own."""
    torch.onnx.export(
        module, (example,), str(path), opset_version=17, dynamo=False
    )
    return cpu_session(path)


def filtering(
    engine: BankEngine, updates: list[np.ndarray], work: Path
) -> dict:
    """Seconds to correlate every whitened window with every template:
    directly, window by window, as the exported detector does
    (onnxruntime) and in torch, and by FFT of each update's span."""
    bank, whitener = engine.bank, engine.whitener
    size = engine.manifest.buffer_size
    spans = []
    with torch.no_grad():
        for stream in updates:
            buffer = np.zeros((2, size), np.float32)
            for update in stream:
                buffer = np.concatenate([buffer, update], -1)[:, -size:]
                spans.append(whitener.whitened(torch.from_numpy(buffer)))
        kernels = [
            span.unfold(-1, engine.kernel_size, whitener.stride)
            .transpose(0, 1)
            .contiguous()
            for span in spans
        ]
        session = onnx_session(
            Correlation(bank), kernels[0], work / "correlation.onnx"
        )
        seconds = {}
        start = time.perf_counter()
        for batch in kernels:
            session.run(None, {session.get_inputs()[0].name: batch.numpy()})
        seconds["per window, onnxruntime"] = time.perf_counter() - start
        start = time.perf_counter()
        for batch in kernels:
            bank.snrs(batch)
        seconds["per window, torch"] = time.perf_counter() - start
        start = time.perf_counter()
        for span in spans:
            bank.series_snrs(span, engine.spectra)
        seconds["FFT of the span"] = time.perf_counter() - start
    return seconds


def bank_parts(engine: BankEngine, repeats: int = 10) -> dict[str, float]:
    """Seconds per update of each part of the bank backend, on a buffer
    of simulated strain."""
    bank, whitener = engine.bank, engine.whitener
    rng = np.random.default_rng(1)
    buffer = torch.from_numpy(
        (rng.standard_normal((2, whitener.buffer_size)) * 1e-21).astype(
            np.float32
        )
    )
    stride = whitener.stride

    def timed(function):
        function()
        start = time.perf_counter()
        for _ in range(repeats):
            result = function()
        return (time.perf_counter() - start) / repeats, result

    parts = {}
    with torch.no_grad():
        parts["whitening"], whitened = timed(lambda: whitener.whitened(buffer))
        parts["FFT filtering"], _ = timed(
            lambda: bank.series_snrs(whitened, engine.spectra)
        )
        X, snr2 = bank.windows(
            whitened, engine.kernel_size, stride, engine.spectra
        )
        parts["coincidence"], (_, lags) = timed(lambda: bank.peaks(snr2))
        if bank.chisq_bins:
            parts["chi-squared"], _ = timed(lambda: bank.chisq(X, lags))
        if bank.sine_gaussian_q:
            parts["sine-Gaussian"], _ = timed(
                lambda: bank.sine_gaussian_chisq(X, lags)
            )
        rho = bank.ranked_snrs(X, snr2)
        parts["ranking"], _ = timed(
            lambda: bank.rank(rho.transpose(1, 2))[..., 0] + bank.bias
        )
    return parts


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
    parser.add_argument(
        "--network", choices=["resnet", "bank"], default="resnet"
    )
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 1])
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="aframe-bench-"))
    weights = save_weights(work, args.network, args.layers)
    repository = exported(weights, work / "repo")
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
    timings["local engine, stream"] = time.perf_counter() - start
    if args.network == "bank":
        bank = local_engine(model, "bank")
        start = time.perf_counter()
        bank.infer(updates)
        timings["local engine, bank"] = time.perf_counter() - start

    if (default_server() / "bin" / "python").exists():
        with TritonServer(repository, log=work / "triton.log") as server:
            client = TritonEngine(server.url, model.manifest)
            start = time.perf_counter()
            client.infer(updates)
            timings["triton (pytriton, CPU)"] = time.perf_counter() - start

    baseline = timings["naive torch loop"]
    network = (
        f"a bank of {TEMPLATES} templates with its tests"
        if args.network == "bank"
        else f"ResNet1D {args.layers}"
    )
    print(
        f"{args.duration:.0f} s x 2 streams, {RATE} Hz, batch {BATCH}, "
        f"{network}, torch threads {torch.get_num_threads()}"
    )
    print(f"{'engine':<26}{'s':>8}{'strain s/s':>12}{'vs naive':>10}")
    for name, seconds in timings.items():
        print(
            f"{name:<26}{seconds:>8.1f}{analysed / seconds:>12.0f}"
            f"{baseline / seconds:>10.2f}"
        )
    if args.network == "bank":
        # per ifo stream: each stream holds two
        seconds = filtering(bank, updates, work)
        direct = seconds["per window, onnxruntime"]
        header = f"{'filtering, per ifo':<26}{'s':>8}{'strain s/s':>12}"
        print(f"{header}{'ratio':>10}")
        for name, value in seconds.items():
            print(
                f"{name:<26}{value:>8.1f}{2 * analysed / value:>12.0f}"
                f"{direct / value:>10.2f}"
            )
        parts = bank_parts(bank)
        total = sum(parts.values())
        print(f"{'bank backend, per update':<26}{'ms':>8}{'share':>12}")
        for name, value in parts.items():
            print(f"{name:<26}{1e3 * value:>8.1f}{value / total:>12.0%}")
        # timeslides at ranking cost, per stream of strain seconds: each
        # ifo filtered once with every test at every lag, then each
        # timeslide paired and ranked
        stream = timings["local engine, stream"] / 2
        banked = timings["local engine, bank"] / 2
        slid = SlidBank(bank)
        start = time.perf_counter()
        terms = slid.terms(strains[0])
        filtered = time.perf_counter() - start
        shifts = [[0.0, float(k)] for k in range(10, 30)]
        start = time.perf_counter()
        count = sum(len(output) for output in slid.slides(terms, shifts))
        # per timeslide of the whole stream's outputs
        extra = (time.perf_counter() - start) / count * terms.windows
        print(
            f"{'a timeslide of one stream':<26}{'s':>8}{'strain s/s':>12}"
            f"{'/ stream':>10}{'/ bank':>8}"
        )
        for name, value in (
            ("local engine, stream", stream),
            ("local engine, bank", banked),
            ("lag terms, once", filtered),
            ("each extra timeslide", extra),
        ):
            print(
                f"{name:<26}{value:>8.2f}{args.duration / value:>12.0f}"
                f"{stream / value:>10.1f}{banked / value:>8.1f}"
            )


if __name__ == "__main__":
    main()
