"""``aframe-train fit``: a LightningCLI over Aframe and its data.

    aframe-train fit --config train.yaml --config overrides.yaml

The run directory (``--run_dir``) receives the CSV metrics, the
checkpoints (best and last), the resolved config, a training-curve plot,
and, once training ends, the best model's weights for export
(``aframe_train.weights``).

On a GPU the network trains in mixed precision (``gpu_precision``, used
unless ``trainer.precision`` is set); on a CPU in full precision.  The
data pipeline (PSD, injection, whitening) always runs in float32/float64,
outside autocast.  Several GPUs (``--trainer.strategy=ddp``) split each
epoch's batches between them and score validation over all of them.
A fit stopped part-way continues from its last epoch (``--resume``) when
its settings are the same (``resume_from``).
"""

import hashlib
import json
import logging
import sys
import zipfile
from pathlib import Path
from typing import Literal

import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only

from aframe_contracts.errors import DataError
from aframe_contracts.files import make_directory, write_atomic
from aframe_contracts.model import FILE as SETTINGS_FILE
from aframe_train.data import AframeDataModule
from aframe_train.model import Aframe, ModelError
from aframe_train.weights import WEIGHTS_FILE, plot_training, write_weights

logger = logging.getLogger("aframe_train")

# Lightning precisions a GPU may train in: automatic mixed precision with
# float16 (any CUDA GPU, with gradient scaling) or bfloat16 (Ampere and
# later), or full precision
GpuPrecision = Literal["16-mixed", "bf16-mixed", "32-true"]
GPU_ACCELERATORS = ("gpu", "cuda")


def select_precision(
    precision: str | int | None,
    accelerator: object,
    gpu_precision: str,
    cuda_available: bool,
) -> str | int:
    """The Lightning precision of a fit.

    Args:
        precision: ``trainer.precision`` as configured; it wins when set.
        accelerator: ``trainer.accelerator`` ("auto", "cpu", "gpu", ...,
            or an Accelerator); "auto" means a GPU where CUDA sees one,
            as Lightning resolves it.
        gpu_precision: the precision on a GPU.
        cuda_available: whether CUDA sees a device.

    Returns:
        ``precision`` if set, ``gpu_precision`` on a CUDA GPU, else
        "32-true".
    """
    if precision is not None:
        return precision
    if accelerator is None or accelerator == "auto":
        on_gpu = cuda_available
    elif isinstance(accelerator, str):
        on_gpu = accelerator.lower() in GPU_ACCELERATORS
    else:
        on_gpu = type(accelerator).__name__ == "CUDAAccelerator"
    return gpu_precision if on_gpu else "32-true"


class AframeCLI(LightningCLI):
    def add_arguments_to_parser(self, parser):
        parser.add_argument(
            "--run_dir", type=Path, required=True, help="training outputs"
        )
        parser.add_argument(
            "--gpu_precision",
            type=GpuPrecision,
            default="16-mixed",
            help="precision on a GPU unless trainer.precision is set; "
            "CPUs train in 32-true",
        )
        parser.link_arguments("data.ifos", "model.num_ifos", compute_fn=len)
        parser.link_arguments("data.valid_stride", "model.valid_stride")
        parser.link_arguments("data.sample_rate", "model.sample_rate")
        parser.add_argument(
            "--resume",
            type=bool,
            default=False,
            help="continue from the run directory's last checkpoint when "
            "it was made with these settings (a fit with other settings "
            "starts afresh, its checkpoints moved aside)",
        )

    def parse_arguments(self, parser, args):
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        given = (
            self.config[subcommand].get("ckpt_path") if subcommand else None
        )
        # a checkpoint file is a zip archive, and a truncated one lacks its
        # directory (the names Lightning resolves itself are not files)
        named = str(given).split(":")[0] in CKPT_NAMES if given else False
        if given and not named and not readable(Path(given)):
            raise DataError(
                f"--ckpt_path {given}: not a readable checkpoint (missing, "
                "or truncated: it is not a whole zip archive)"
            )

    def before_fit(self):
        run_dir = Path(self._get(self.config, "run_dir"))
        checkpoint = resume_from(
            run_dir,
            settings_digest(self.config[self.subcommand]),
            self._get(self.config, "resume"),
        )
        if checkpoint and self._get(self.config, "ckpt_path") is None:
            self.config_init[self.subcommand]["ckpt_path"] = str(checkpoint)

    def instantiate_trainer(self, **kwargs):
        run_dir = Path(self._get(self.config, "run_dir"))
        trainer = self._get(self.config_init, "trainer", default={})
        callbacks = trainer.get("callbacks") or []
        if not isinstance(callbacks, list):
            callbacks = [callbacks]
        checkpoint = ModelCheckpoint(
            dirpath=run_dir / "checkpoints",
            filename="best",
            monitor="valid_auroc",
            mode="max",
        )
        last = LastCheckpoint(run_dir / "checkpoints" / "last.ckpt")
        kwargs.setdefault(
            "callbacks", [*callbacks, checkpoint, last, EpochLog()]
        )
        # progress bars only on a terminal; logs get one line per epoch
        kwargs.setdefault("enable_progress_bar", sys.stdout.isatty())
        kwargs.setdefault("logger", CSVLogger(run_dir, name="", version=""))
        kwargs.setdefault("default_root_dir", run_dir)
        kwargs.setdefault(
            "precision",
            select_precision(
                trainer.get("precision"),
                trainer.get("accelerator"),
                self._get(self.config, "gpu_precision"),
                torch.cuda.is_available(),
            ),
        )
        return super().instantiate_trainer(**kwargs)


# the checkpoints Lightning resolves by name ("registry:<model>" too)
CKPT_NAMES = ("last", "best", "hpc", "registry")


def readable(checkpoint: Path) -> bool:
    """Whether ``checkpoint`` is a whole checkpoint (a zip archive)."""
    return checkpoint.is_file() and zipfile.is_zipfile(checkpoint)


# settings that do not change what a fit computes
NOT_SETTINGS = ("ckpt_path", "resume", "config", "trainer.max_time")


def settings_digest(config) -> str:
    """SHA-256 of a fit's resolved settings, those that shape it."""
    settings = config.as_dict()
    for key in NOT_SETTINGS:
        *parents, name = key.split(".")
        node = settings
        for parent in parents:
            node = node.get(parent) or {}
        node.pop(name, None)
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def resume_from(run_dir: Path, digest: str, resume: bool) -> Path | None:
    """The checkpoint to continue from, if any.

    ``checkpoints/fit-settings.json`` records the digest of the settings
    of the fit whose checkpoints the directory holds.  With ``resume`` and
    the same digest, the fit continues from ``last.ckpt``; otherwise
    earlier checkpoints are moved, with their record and the earlier
    fit's model.pt and model.json, to ``checkpoints-<n>`` (kept, and out
    of the new fit's way) and the fit starts afresh.
    """
    checkpoints = run_dir / "checkpoints"
    record = checkpoints / "fit-settings.json"
    last = checkpoints / "last.ckpt"
    recorded = None
    if record.exists():
        recorded = json.loads(record.read_text()).get("digest")
    if resume and recorded == digest and readable(last):
        logger.info("resuming the fit from %s", last)
        return last
    if resume and last.exists() and not readable(last):
        logger.warning("%s is not a whole checkpoint: not resumed", last)
    saved = []
    if checkpoints.exists():
        saved = [p for p in checkpoints.iterdir() if p != record]
    # the earlier fit's products: the new fit would replace them
    products = [
        run_dir / name
        for name in (WEIGHTS_FILE, SETTINGS_FILE)
        if (run_dir / name).exists()
    ]
    if saved or products:
        number = 1
        while (run_dir / f"checkpoints-{number}").exists():
            number += 1
        aside = run_dir / f"checkpoints-{number}"
        reason = (
            "they were made with other settings"
            if recorded != digest
            else "resume is off"
        )
        logger.warning(
            "starting afresh: %s holds checkpoints, and %s; moved to %s",
            checkpoints,
            reason,
            aside,
        )
        if checkpoints.exists():
            checkpoints.rename(aside)
        aside.mkdir(exist_ok=True)
        for path in products:
            path.rename(aside / path.name)
    make_directory(checkpoints)
    write_atomic(record, json.dumps({"digest": digest}) + "\n")
    return None


class LastCheckpoint(Callback):
    """``last.ckpt`` at the end of every epoch, written atomically: what a
    resumed fit continues from (ModelCheckpoint's own last.ckpt is saved
    only with a new best)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def on_train_epoch_end(self, trainer, module):
        partial = self.path.with_name(self.path.name + ".partial")
        trainer.save_checkpoint(partial)
        if trainer.is_global_zero:
            partial.replace(self.path)
        trainer.strategy.barrier("last checkpoint")


class EpochLog(Callback):
    """One log line per epoch: the metrics a person watches."""

    def on_train_epoch_end(self, trainer, module):
        metrics = trainer.callback_metrics
        values = ", ".join(
            f"{name} {float(metrics[name]):.4f}"
            for name in ("train_loss", "valid_auroc", "valid_found_snr20")
            if name in metrics
        )
        rank_zero_info(f"epoch {trainer.current_epoch}: {values}")


@rank_zero_only
def save_weights(cli: AframeCLI) -> None:
    """Write the best model's TorchScript and settings, then the plot."""
    run_dir = Path(cli._get(cli.config, "run_dir"))
    checkpoint = cli.trainer.checkpoint_callback
    best = checkpoint.best_model_path or run_dir / "checkpoints" / "last.ckpt"
    score = float(checkpoint.best_model_score or float("nan"))
    write_weights(Path(best), run_dir, score)
    plot_training(run_dir / "metrics.csv", run_dir / "training.png")


def fit(args: list[str], callbacks=()) -> AframeCLI:
    """Run the Lightning CLI (``fit`` and Lightning's other commands)."""
    return AframeCLI(
        Aframe,
        AframeDataModule,
        args=args,
        save_config_kwargs={"overwrite": True},
        trainer_defaults={"callbacks": list(callbacks)} if callbacks else None,
    )


def main(args: list[str]) -> int:
    """Fit; then, for ``fit`` (not Lightning's other commands), write the
    best model's weights.  2 for bad input, said in one line."""
    try:
        cli = fit(args)
    except (DataError, ModelError) as error:
        print(f"aframe-train: error: {error}", file=sys.stderr)
        return 2
    if cli.subcommand == "fit":
        save_weights(cli)
    return 0
