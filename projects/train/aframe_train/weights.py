"""The trained model's products in the run directory, for export.

``model.pt`` is the TorchScript of the best checkpoint's network (CPU),
``model.json`` the settings it was trained with
(``aframe_contracts.model.ModelSettings``), and ``training.png`` the
training curves.  A fit (``aframe_train.fit``) and a search
(``aframe_train.tune``) write them alike.
"""

import logging
from dataclasses import asdict
from pathlib import Path

import torch

from aframe_contracts.files import atomic_path
from aframe_contracts.model import FILE as SETTINGS_FILE
from aframe_contracts.model import ModelSettings, WhiteningSpec
from aframe_signal.bank import TemplateBank, save_network
from aframe_signal.whitening import STRAIN_SCALE
from aframe_train.model import Aframe
from aframe_train.validation import held_out_span

logger = logging.getLogger("aframe_train")

# the trained network (TorchScript), in run_dir beside model.json
WEIGHTS_FILE = "model.pt"


def write_weights(checkpoint: Path, run_dir: Path, score: float) -> None:
    """The checkpoint's network as TorchScript, with its settings.

    The settings are the data module's, as the checkpoint saved them, and
    the GPS span of the background held out for validation.

    Args:
        checkpoint: a Lightning checkpoint of Aframe and its data module.
        run_dir: gets model.json, then model.pt (the task's output).
        score: the checkpoint's valid_auroc, for the record.
    """
    model = Aframe.load_from_checkpoint(checkpoint, map_location="cpu")
    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
    data = saved["datamodule_hyper_parameters"]
    network = model.network.eval()
    whitening = WhiteningSpec(
        sample_rate=data["sample_rate"],
        kernel_length=data["kernel_length"],
        fduration=data["fduration"],
        psd_length=data["psd_length"],
        fftlength=data.get("fftlength"),
        highpass=data.get("highpass"),
        lowpass=data.get("lowpass"),
    )
    size = whitening.kernel_size
    example = torch.zeros(1, len(data["ifos"]), size)
    traced = torch.jit.trace(network, example)
    settings = ModelSettings(
        **asdict(whitening),
        ifos=list(data["ifos"]),
        strain_scale=STRAIN_SCALE,
        checkpoint=str(checkpoint),
        valid_auroc=score,
        validation_span=list(
            held_out_span(data["background_files"], data["valid_fraction"])
        ),
        # a template bank fires only where its templates reach
        response=(
            network.response(size)
            if isinstance(network, TemplateBank)
            else None
        ),
    )
    settings.write(run_dir / SETTINGS_FILE)
    # model.pt is the task's output: written last, atomically
    # a bank's settings go with it, for the bank backend of inference
    bank = network.settings if isinstance(network, TemplateBank) else None
    with atomic_path(run_dir / WEIGHTS_FILE) as tmp:
        save_network(traced, tmp, bank)
    logger.info("best model (valid_auroc %.4f): %s", score, checkpoint)


def plot_training(metrics: Path, output: Path) -> None:
    """Training loss per step and validation metrics per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    table = np.genfromtxt(metrics, delimiter=",", names=True)
    columns = table.dtype.names
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    if "train_loss" in columns:
        rows = np.isfinite(table["train_loss"])
        axes[0].plot(table["step"][rows], table["train_loss"][rows])
    axes[0].set(xlabel="step", ylabel="training loss (BCE)", yscale="log")
    for name in ("valid_auroc", "valid_found_snr20"):
        if name in columns:
            rows = np.isfinite(table[name])
            axes[1].plot(
                table["epoch"][rows], table[name][rows], "o-", label=name
            )
    axes[1].set(xlabel="epoch", ylim=(0, 1.02))
    axes[1].legend()
    figure.tight_layout()
    figure.savefig(output, dpi=100)
    plt.close(figure)
