"""Training samples per second, and the share of a step spent on data.

Builds a small synthetic training set at the settings of a preset, the
training data module over it, and the preset's network, then runs
training steps as Lightning does.  ``--settings paper`` (the default):
H1/L1 noise from the aLIGO O4 curve at 2048 Hz, 1.5 s kernels, 1 s
whitening filter, 8 s PSD, highpass 32 Hz, IMRPhenomPv2 waveforms of 8 s,
ResNet1D [3, 4, 6, 3], GroupNorm 16, batch 384.  ``--settings mlgwsc1``:
the mlgwsc1 preset's 1024 Hz, 1.75 s kernels, 20 Hz highpass, IMRPhenomD
waveforms of 4 s, its bank of 64 templates of 1.5 s, batch 64;
``mlgwsc1-convnet`` the convnet the preset had before, on 1 s kernels
with a 32 Hz highpass.  ``--layers`` times a
ResNet1D of those stages instead of the preset's network.  Each part of
every step is timed:

* load: the raw background windows and waveforms (the CPU loader);
* augment: the transfer to the device, PSDs, projection, injection and
  whitening (``AframeDataModule.augment``);
* step: forward, backward and AdamW on that ready batch, the baseline
  the others are compared with;
* total: load + augment + step.

Each precision is timed on the same device in the same run (on a GPU:
32-true and the config's 16-mixed by default).  The parts are separated
by device synchronisations; training itself also synchronises every step
(the NaN check on the loss), so the total is what training pays.

``--cost SAMPLES`` times nothing: it counts one sample's FLOPs (forward
and backward, torch's flop counter) and the float32 activations autograd
keeps for the backward, and scales them to the batch and to SAMPLES of
training.  Counts do not depend on the machine, so a CPU gives the
figures a GPU's time and memory are estimated from.

Usage::

    .venv/bin/python benchmarks/training.py [--device cpu|cuda] \\
        [--settings paper|mlgwsc1|mlgwsc1-convnet] [--steps N] [--warmup N] \\
        [--batch-size N] [--precision 32-true 16-mixed bf16-mixed] \\
        [--layers 3 4 6 3] [--cost SAMPLES]

On a 2-core CPU a step of the paper network takes about a minute: keep
``--steps`` small there.
"""

import argparse
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from aframe_contracts.strain import BackgroundStrain
from aframe_data import cli as data_cli
from aframe_data import strain
from aframe_signal.bank import TemplateBank
from aframe_train.data import AframeDataModule
from aframe_train.model import Aframe

IFOS = ["H1", "L1"]


@dataclass(frozen=True)
class Settings:
    """What a preset trains on, and with."""

    shared: dict
    signals: dict
    # the Aframe model's network settings
    network: dict
    batch_size: int
    augmentation: dict


MLGWSC1_SHARED = {
    "sample_rate": 1024.0,
    "fduration": 1.0,
    "psd_length": 8.0,
    "highpass": 32.0,
}
MLGWSC1_SIGNALS = {
    "prior": "mlgwsc1_bbh",
    "approximant": "IMRPhenomD",
    "duration": 4,
    "minimum_frequency": 20,
    "reference_frequency": 50,
    "right_pad": 0.5,
}

SETTINGS = {
    # the paper's (upstream aframe's)
    "paper": Settings(
        shared={
            "sample_rate": 2048.0,
            "kernel_length": 1.5,
            "fduration": 1.0,
            "psd_length": 8.0,
            "highpass": 32.0,
        },
        signals={
            "prior": "end_o3_ratesandpops",
            "approximant": "IMRPhenomPv2",
            "duration": 8,
            "minimum_frequency": 20,
            "reference_frequency": 50,
            "right_pad": 2,
        },
        network={"layers": [3, 4, 6, 3]},
        batch_size=384,
        augmentation={
            "waveform_prob": 0.277,
            "swap_prob": 0.014,
            "mute_prob": 0.055,
        },
    ),
    # configs/presets/mlgwsc1
    "mlgwsc1": Settings(
        shared={**MLGWSC1_SHARED, "kernel_length": 1.75, "highpass": 20.0},
        signals=MLGWSC1_SIGNALS,
        network={
            "architecture": "bank",
            "templates": 64,
            "template_length": 1.5,
        },
        batch_size=64,
        augmentation={
            "waveform_prob": 0.5,
            "kernel_left_pad": 1.45,
            "kernel_right_pad": 0.05,
        },
    ),
    # the mlgwsc1 preset's network before the template bank
    "mlgwsc1-convnet": Settings(
        shared={**MLGWSC1_SHARED, "kernel_length": 1.0},
        signals=MLGWSC1_SIGNALS,
        network={
            "architecture": "convnet",
            "channels": [16, 16, 32, 32, 64, 64],
            "kernel_sizes": [63, 31, 31, 15, 15, 15],
            "pools": [1, 4, 1, 3, 1, 1],
        },
        batch_size=64,
        augmentation={"waveform_prob": 0.5},
    ),
}
AUTOCAST = {"16-mixed": torch.float16, "bf16-mixed": torch.bfloat16}


def write_data(directory: Path, settings: Settings) -> dict:
    """Noise and waveform files; the data module's file arguments."""
    rate = settings.shared["sample_rate"]
    background = directory / "background.hdf5"
    noise = strain.simulated(IFOS, 1e9, 600, rate, "aLIGO_O4_high", 0)
    BackgroundStrain({i: noise[i] for i in IFOS}, 1e9, rate).write(background)
    signals = [
        f"--signals.{key}={value}" for key, value in settings.signals.items()
    ]
    signals.append(f"--signals.sample_rate={rate}")
    training = directory / "training.hdf5"
    args = ["--num_signals=128", "--seed=0", f"--output={training}"]
    assert data_cli.main(["training_waveforms", *signals, *args]) == 0
    validation = directory / "validation.hdf5"
    args = [
        f"--background_files=[{background}]",
        f"--ifos=[{','.join(IFOS)}]",
        "--num_signals=4",
        "--snr_threshold=4",
        f"--highpass={settings.shared['highpass']}",
        "--seed=0",
        f"--output={validation}",
    ]
    assert data_cli.main(["validation_waveforms", *signals, *args]) == 0
    return {
        "background_files": [background],
        "training_waveforms": [training],
        "validation_waveforms": validation,
    }


def cpu_name() -> str:
    """The CPU's model name (Linux), else its architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def describe(network: dict) -> str:
    if network.get("architecture") == "bank":
        return (
            f"template bank of {network['templates']} x "
            f"{network['template_length']:g} s"
        )
    if network.get("architecture") == "convnet":
        return f"convnet {network['channels']} x {network['kernel_sizes']}"
    return f"ResNet1D {network['layers']}"


def build_model(datamodule, network) -> Aframe:
    """The preset's model, its template bank (if any) set from the data."""
    torch.manual_seed(0)
    rate = datamodule.hparams.sample_rate
    model = Aframe(len(IFOS), sample_rate=rate, **network)
    if isinstance(model.network, TemplateBank):
        bank = model.network
        bank.initialise(
            datamodule.whitened_signals(
                bank.templates, bank.template_size, bank.post_merger
            )
        )
    return model


@dataclass(frozen=True)
class StepCost:
    """What one training sample costs, counted, not timed.

    Args:
        flops: floating-point operations of its forward and backward.
        activation_bytes: the tensors autograd keeps for its backward
            (float32), the part of training memory that grows with batch.
        parameters: the network's parameters.
    """

    flops: float
    activation_bytes: float
    parameters: int


def step_cost(datamodule, network, batch: int = 4) -> StepCost:
    """Count a ``batch``-sample step's FLOPs (torch's flop counter) and
    the bytes saved for backward, per sample; both grow linearly with the
    batch, so a small one measures the paper's 384 on a CPU in seconds."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(datamodule, network)
    X, waveforms = next(iter(datamodule.train_dataloader()))
    X, y = datamodule.augment(X[:batch], waveforms[:batch])
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in weights:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    with FlopCounterMode(display=False) as counter:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = model.loss(model(X), y)
        loss.backward()
    return StepCost(
        counter.get_total_flops() / batch,
        sum(saved.values()) / batch,
        sum(p.numel() for p in model.parameters()),
    )


def scaled(value: float, unit: str, base: int = 1000) -> str:
    """``value`` with the largest prefix that keeps it >= 1: 2.47 TFLOP."""
    if base == 1000:
        prefixes = ["", "k", "M", "G", "T", "P"]
    else:
        prefixes = ["", "Ki", "Mi", "Gi", "Ti"]
    power = 0
    while abs(value) >= base and power < len(prefixes) - 1:
        value, power = value / base, power + 1
    return f"{value:.3g} {prefixes[power]}{unit}"


def report_cost(cost: StepCost, batch_size: int, samples: int) -> None:
    """The counts at the preset's batch and for ``samples`` of training."""
    # the parameters, their gradients and AdamW's two moments, float32
    state = 4 * 4 * cost.parameters
    print(
        f"forward + backward: {scaled(cost.flops, 'FLOP')} per sample, "
        f"{scaled(cost.flops * batch_size, 'FLOP')} per batch of "
        f"{batch_size}, {scaled(cost.flops * samples, 'FLOP')} for "
        f"{samples:.3g} samples of training"
    )
    print(
        f"memory: {scaled(cost.activation_bytes, 'B', 1024)} of float32 "
        "activations per sample, "
        f"{scaled(cost.activation_bytes * batch_size, 'B', 1024)} per batch "
        f"of {batch_size}; {cost.parameters:,} parameters, "
        f"{scaled(state, 'B', 1024)} with gradients and AdamW state"
    )


def time_steps(datamodule, network, precision, device, steps, warmup):
    """Seconds per batch of each part, the medians over ``steps``."""
    model = build_model(datamodule, network).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "16-mixed")
    dtype = AUTOCAST.get(precision)
    batches = iter(datamodule.train_dataloader())
    times = {"load": [], "augment": [], "step": []}
    losses = []
    for i in range(warmup + steps):
        synchronize(device)
        start = time.perf_counter()
        X, waveforms = next(batches)
        loaded = time.perf_counter()
        X, y = datamodule.augment(
            X.to(device, non_blocking=True), waveforms.to(device)
        )
        synchronize(device)
        augmented = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype, enabled=bool(dtype)):
            loss = model.loss(model(X), y)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.detach().item())
        end = time.perf_counter()
        if i >= warmup:
            times["load"].append(loaded - start)
            times["augment"].append(augmented - loaded)
            times["step"].append(end - augmented)
    medians = {name: statistics.median(t) for name, t in times.items()}
    medians["total"] = sum(medians.values())
    finite = all(torch.isfinite(torch.tensor(losses)))
    return medians, finite


def report(rows, batch_size) -> None:
    """The table: seconds and samples per second, and ratios to the step."""
    print(
        f"{'precision':<11} {'part':<8} {'s/batch':>9} {'samples/s':>10} "
        f"{'x step':>7} {'share':>6}"
    )
    for precision, medians in rows:
        for part in ("step", "load", "augment", "total"):
            seconds = medians[part]
            print(
                f"{precision:<11} {part:<8} {seconds:9.4f} "
                f"{batch_size / seconds:10.1f} "
                f"{seconds / medians['step']:7.3f} "
                f"{seconds / medians['total']:6.1%}"
            )
        data = medians["load"] + medians["augment"]
        print(
            f"{precision:<11} batch production (load + augment) is "
            f"{data / medians['total']:.1%} of the training step, "
            f"{data / medians['step']:.3f} x forward/backward"
        )


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    cuda = torch.cuda.is_available()
    parser.add_argument(
        "--device", default="cuda" if cuda else "cpu", help="cpu or cuda"
    )
    parser.add_argument(
        "--settings",
        choices=list(SETTINGS),
        default="paper",
        help="whose data, network and batch size (default: paper)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="default: the preset's"
    )
    parser.add_argument(
        "--layers",
        type=int,
        nargs="+",
        default=None,
        help="default: the preset's",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="timed steps per precision (default: 20 on a GPU, 2 on a CPU)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="untimed first steps (default: 5 on a GPU, 1 on a CPU)",
    )
    parser.add_argument(
        "--precision",
        nargs="+",
        choices=["32-true", *AUTOCAST],
        default=None,
        help="default: 32-true, and 16-mixed on a GPU",
    )
    parser.add_argument(
        "--cost",
        type=int,
        metavar="SAMPLES",
        default=None,
        help="instead of timing, count a sample's FLOPs and activation "
        "memory, and the FLOPs of SAMPLES of training",
    )
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    settings = SETTINGS[args.settings]
    network = {"layers": args.layers} if args.layers else settings.network
    batch_size = args.batch_size or settings.batch_size
    shared = settings.shared
    device = torch.device(args.device)
    gpu = device.type == "cuda"
    steps = args.steps or (20 if gpu else 2)
    warmup = args.warmup if args.warmup is not None else (5 if gpu else 1)
    precisions = args.precision or (["32-true", "16-mixed"] if gpu else [])
    precisions = precisions or ["32-true"]
    if gpu:
        torch.backends.cudnn.benchmark = True
        machine = torch.cuda.get_device_name(device)
    else:
        machine = cpu_name()
    print(
        f"{machine}, {torch.get_num_threads()} CPU threads; {args.settings} "
        f"settings: {describe(network)}, batch {batch_size}, "
        f"{shared['kernel_length']:g} s at {shared['sample_rate']:g} Hz, "
        f"PSD of {shared['psd_length']:g} s; median of {steps} steps after "
        f"{warmup}"
    )
    with tempfile.TemporaryDirectory() as directory:
        files = write_data(Path(directory), settings)
        datamodule = AframeDataModule(
            IFOS,
            **shared,
            **files,
            batch_size=batch_size,
            batches_per_epoch=warmup + steps,
            **settings.augmentation,
            valid_fraction=0.1,
        )
        datamodule.setup("fit")
        if args.cost:
            report_cost(step_cost(datamodule, network), batch_size, args.cost)
            return
        rows = []
        for precision in precisions:
            medians, finite = time_steps(
                datamodule, network, precision, device, steps, warmup
            )
            if not finite:
                print(f"{precision}: the loss was not finite")
            rows.append((precision, medians))
    report(rows, batch_size)


if __name__ == "__main__":
    main()
