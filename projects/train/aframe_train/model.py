"""The detector: ml4gw's ResNet1D on whitened multi-ifo windows."""

from functools import partial

import lightning.pytorch as pl
import torch
from ml4gw.nn.norm import GroupNorm1D
from ml4gw.nn.resnet import ResNet1D

from aframe_train.metrics import found_fraction, max_pool, partial_auroc


def resnet(num_ifos: int, layers: list[int], norm_groups: int) -> ResNet1D:
    """The network: one logit per (num_ifos, samples) window."""
    norm = (
        partial(GroupNorm1D, num_groups=norm_groups) if norm_groups else None
    )
    return ResNet1D(num_ifos, layers=layers, classes=1, norm_layer=norm)


class Aframe(pl.LightningModule):
    """Binary classifier of whitened windows: signal or background.

    Args:
        num_ifos: input channels (linked from the data's ifos).
        layers: residual blocks per ResNet stage.
        norm_groups: groups of the GroupNorm layers (0: BatchNorm).
        learning_rate: the one-cycle schedule's peak learning rate.
        pct_lr_ramp: fraction of the steps spent ramping up to it.
        weight_decay: AdamW weight decay.
        max_fpr: the validation AUROC's largest false-positive rate.
        pool_length: background max-pooling window of validation (s).
        valid_stride: time between validation windows (s), linked from
            the data.
    """

    def __init__(
        self,
        num_ifos: int,
        layers: list[int],
        norm_groups: int = 16,
        learning_rate: float = 1e-3,
        pct_lr_ramp: float = 0.1,
        weight_decay: float = 0.0,
        max_fpr: float = 1e-3,
        pool_length: float = 8,
        valid_stride: float = 0.5,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.network = resnet(num_ifos, layers, norm_groups)
        self.loss = torch.nn.BCEWithLogitsLoss()
        self.valid_outputs: list = []

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.network(X)

    def training_step(self, batch, batch_idx):
        X, y = batch
        loss = self.loss(self(X), y)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"the training loss is {loss.item()} at step "
                f"{self.global_step} (batch {batch_idx} of epoch "
                f"{self.current_epoch}): lower the learning rate or check "
                "the data"
            )
        self.log("train_loss", loss, on_step=True, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        X, timeslide, signal = batch
        self.valid_outputs.append((self(X)[:, 0].float(), timeslide, signal))

    def on_validation_epoch_end(self):
        scores, timeslides, signals = (
            torch.cat(x).cpu() for x in zip(*self.valid_outputs, strict=True)
        )
        self.valid_outputs.clear()
        is_background = signals < 0
        pool = round(self.hparams.pool_length / self.hparams.valid_stride)
        background = torch.cat(
            [
                max_pool(scores[is_background & (timeslides == k)], pool)
                for k in timeslides[is_background].unique()
            ]
        )
        # each signal's score is its mean over the views
        count = int(signals.max()) + 1
        foreground = torch.zeros(count).index_add_(
            0, signals[~is_background], scores[~is_background]
        ) / torch.bincount(signals[~is_background], minlength=count)
        auroc = partial_auroc(background, foreground, self.hparams.max_fpr)
        self.log("valid_auroc", auroc, prog_bar=True, sync_dist=True)
        datamodule = self.trainer.datamodule
        found = found_fraction(
            background, foreground, datamodule.valid_snrs[:count], 20
        )
        self.log("valid_found_snr20", found, sync_dist=True)

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(
            self.parameters(),
            lr=self.hparams.learning_rate,
            weight_decay=self.hparams.weight_decay,
        )
        steps = int(self.trainer.estimated_stepping_batches)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=self.hparams.learning_rate,
            total_steps=steps,
            # the ramp needs two steps at least (very short runs)
            pct_start=min(max(self.hparams.pct_lr_ramp, 2 / steps), 0.5),
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }
