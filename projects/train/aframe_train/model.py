"""The detector: a network (aframe_train.networks) on whitened multi-ifo
windows, trained as a binary classifier."""

import logging
from typing import Literal

import lightning.pytorch as pl
import torch

from aframe_contracts.errors import check_not_negative, check_positive
from aframe_signal.bank import TemplateBank, fit_background_tails
from aframe_train.metrics import found_fraction, max_pool, partial_auroc
from aframe_train.networks import ConvNet, resnet

logger = logging.getLogger("aframe_train")


class ModelError(ValueError):
    """Model settings the stage cannot build a network from."""


def network(
    num_ifos: int,
    architecture: str,
    norm_groups: int,
    layers: list[int] | None,
    channels: list[int] | None,
    kernel_sizes: list[int] | None,
    pools: list[int] | None,
    bank: dict | None = None,
) -> torch.nn.Module:
    """The architecture's network, from the settings it uses.

    ``bank`` holds the ``TemplateBank`` arguments after ``num_ifos``.
    """
    if architecture == "resnet":
        if not layers:
            raise ModelError("model.layers is needed for the resnet")
        return resnet(num_ifos, layers, norm_groups)
    if architecture == "convnet":
        missing = [
            f"model.{name}"
            for name, value in [
                ("channels", channels),
                ("kernel_sizes", kernel_sizes),
                ("pools", pools),
            ]
            if not value
        ]
        if missing:
            raise ModelError(f"{', '.join(missing)} needed for the convnet")
        try:
            return ConvNet(
                num_ifos, channels, kernel_sizes, pools, norm_groups
            )
        except ValueError as error:
            raise ModelError(f"model: {error}") from error
    if architecture == "bank":
        try:
            return TemplateBank(num_ifos, **(bank or {}))
        except (TypeError, ValueError) as error:
            raise ModelError(f"model: {error}") from error
    raise ModelError(
        f"model.architecture: {architecture!r} is not resnet, convnet or bank"
    )


def ramp_fraction(pct_lr_ramp: float, steps: int) -> float:
    """OneCycleLR's pct_start, kept valid for very short runs.

    Both of its phases must span more than zero steps: the ramp ends
    after ``pct_start * steps - 1`` steps, the decay at ``steps - 1``.
    """
    return min(max(pct_lr_ramp, 1.5 / steps), 1 - 0.5 / steps)


def unique_rows(rows: torch.Tensor) -> torch.Tensor:
    """Rows sorted by their first column (an index), one per index.

    DDP's sampler pads the ranks' shares with repeated windows; those
    repeats are dropped.
    """
    rows = rows[torch.argsort(rows[:, 0], stable=True)]
    keep = torch.ones(len(rows), dtype=torch.bool)
    keep[1:] = rows[1:, 0] != rows[:-1, 0]
    return rows[keep]


class Aframe(pl.LightningModule):
    """Binary classifier of whitened windows: signal or background.

    Args:
        num_ifos: input channels (linked from the data's ifos).
        layers: residual blocks per ResNet stage (resnet).
        norm_groups: groups of the GroupNorm layers (0: one per channel).
        architecture: ``resnet`` (ml4gw's ResNet1D, the paper's),
            ``convnet`` (wide kernels and max-pooling) or ``bank`` (a
            bank of whitened templates and a learned ranking of their
            SNRs); see aframe_train.networks.
        channels: filters per convolution (convnet).
        kernel_sizes: width of each convolution in samples, odd (convnet).
        pools: max-pooling after each convolution, 1 for none (convnet).
        sample_rate: the windows' sample rate (Hz), linked from the data.
        templates: waveforms in the template bank (bank).
        template_length: each template's span (s) (bank).
        learn_templates: train the bank's templates too (bank).
        chisq_bins: frequency bands of the bank's chi-squared test, whose
            reweighted SNRs the ranking sees; 0: none (bank).
        sine_gaussian_q: quality factor of the bank's sine-Gaussian
            test, which looks for power above each template's band; 0:
            none (bank).
        sine_gaussian_threshold: the reduced sine-Gaussian chi-squared
            above which the bank's SNRs are reweighted (bank).
        max_snr_ratio: the largest ratio of an ifo's SNR to the other
            ifos' that a signal has; the bank's ranking sees an ifo
            beyond it divided by the excess; 0: no such veto (bank).
        glitch_tails: fit each template's noise in each ifo to the
            training background's single-ifo triggers before training;
            the search maps each reweighted SNR to the value Gaussian
            noise reaches as often (bank).
        learning_rate: the one-cycle schedule's peak learning rate, per
            device (DDP multiplies it by the number of devices).
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
        layers: list[int] | None = None,
        norm_groups: int = 16,
        learning_rate: float = 1e-3,
        pct_lr_ramp: float = 0.1,
        weight_decay: float = 0.0,
        max_fpr: float = 1e-3,
        pool_length: float = 8,
        valid_stride: float = 0.5,
        architecture: Literal["resnet", "convnet", "bank"] = "resnet",
        channels: list[int] | None = None,
        kernel_sizes: list[int] | None = None,
        pools: list[int] | None = None,
        sample_rate: float | None = None,
        templates: int = 64,
        template_length: float = 1.0,
        learn_templates: bool = False,
        chisq_bins: int = 0,
        sine_gaussian_q: float = 0.0,
        sine_gaussian_threshold: float = 2.0,
        max_snr_ratio: float = 0.0,
        glitch_tails: bool = False,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        check_positive(
            learning_rate=learning_rate,
            max_fpr=max_fpr,
            pool_length=pool_length,
            valid_stride=valid_stride,
        )
        check_not_negative(weight_decay=weight_decay)
        if not 0 <= pct_lr_ramp <= 1:
            raise ModelError(
                f"pct_lr_ramp = {pct_lr_ramp}: it is the share of training "
                "that warms the learning rate up, in [0, 1]"
            )
        self.network = network(
            num_ifos,
            architecture,
            norm_groups,
            layers,
            channels,
            kernel_sizes,
            pools,
            bank={
                "sample_rate": sample_rate,
                "templates": templates,
                "template_length": template_length,
                "learn_templates": learn_templates,
                "chisq_bins": chisq_bins,
                "sine_gaussian_q": sine_gaussian_q,
                "sine_gaussian_threshold": sine_gaussian_threshold,
                "max_snr_ratio": max_snr_ratio,
                "glitch_tails": glitch_tails,
            },
        )
        self.loss = torch.nn.BCEWithLogitsLoss()
        self.valid_outputs: list = []

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.network(X)

    def on_train_epoch_start(self) -> None:
        self.trainer.datamodule.seed_epoch()

    def on_fit_start(self) -> None:
        # a template bank is filled from the training signals, whitened
        # as the network will see them, and its noise fitted to the
        # training background; a resumed fit keeps its own
        bank = self.network
        if not isinstance(bank, TemplateBank):
            return
        if not bank.initialised:
            self.fill_bank(bank)
        if bank.glitch_tails and not bank.tails_fitted:
            data = self.trainer.datamodule
            try:
                fitted = fit_background_tails(
                    bank, data.search_whitening, data.train_background
                )
            except ValueError as error:
                raise ModelError(f"model.glitch_tails: {error}") from None
            logger.info(
                "the bank's noise, fitted to %.0f s of the training "
                "background: Gaussian slope %.2f per unit SNR; %d glitches "
                "above %.2f in %d templates and ifos, slope %.2f",
                fitted["duration"],
                fitted["alpha"],
                fitted["glitch_triggers"],
                fitted["glitch_start"],
                fitted["glitchy_templates"],
                fitted["beta"],
            )

    def fill_bank(self, bank: TemplateBank) -> None:
        data = self.trainer.datamodule
        first, last = bank.response(data.whitening.kernel_size)
        placed = (
            data.hparams.kernel_right_pad,
            data.hparams.kernel_length - data.hparams.kernel_left_pad,
        )
        if abs(placed[0] - first) > 0.01 or abs(placed[1] - last) > 0.01:
            logger.warning(
                "the training mergers lie %.3f-%.3f s before the kernel's "
                "end, the bank's templates reach %.3f-%.3f s: set "
                "data.kernel_right_pad and data.kernel_left_pad to match",
                *placed,
                first,
                last,
            )
        signals = data.whitened_signals(
            20 * bank.templates, bank.template_size, bank.post_merger
        )
        bank.initialise(signals)
        # every rank drew its own signals: all take rank 0's bank
        state = self.trainer.strategy.broadcast(bank.bank.data.cpu(), 0)
        bank.bank.data.copy_(state)
        bank.set_tests()

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
        X, timeslide, signal, index = batch
        score = self(X)[:, 0]
        # one row per window: (index, score, timeslide, signal)
        columns = (index, score, timeslide, signal)
        self.valid_outputs.append(
            torch.stack([x.double() for x in columns], -1)
        )

    def on_validation_epoch_end(self):
        rows = torch.cat(self.valid_outputs)
        self.valid_outputs.clear()
        # under DDP each rank scored its share of the windows: the metric
        # needs them all (the loudest background of every timeslide)
        rows = unique_rows(self.gather_rows(rows).cpu())
        scores = rows[:, 1].float()
        timeslides, signals = rows[:, 2].long(), rows[:, 3].long()
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
        # every rank computed the same values from all the windows
        self.log("valid_auroc", auroc, prog_bar=True, sync_dist=True)
        datamodule = self.trainer.datamodule
        found = found_fraction(
            background, foreground, datamodule.valid_snrs[:count], 20
        )
        self.log("valid_found_snr20", found, sync_dist=True)

    def gather_rows(self, rows: torch.Tensor) -> torch.Tensor:
        """The rows (N, K) of every rank, concatenated (N may differ)."""
        if self.trainer.world_size == 1:
            return rows
        size = torch.tensor([len(rows)], device=self.device)
        sizes = self.all_gather(size).flatten().tolist()
        padded = rows.new_zeros(max(sizes), *rows.shape[1:])
        padded[: len(rows)] = rows
        gathered = self.all_gather(padded)
        return torch.cat(
            [part[:n] for part, n in zip(gathered, sizes, strict=True)]
        )

    def configure_optimizers(self):
        # the batch grows with the number of devices (DDP), and the rate
        # with it, as upstream aframe does
        learning_rate = self.hparams.learning_rate * self.trainer.world_size
        optimizer = torch.optim.AdamW(
            self.parameters(),
            lr=learning_rate,
            weight_decay=self.hparams.weight_decay,
        )
        steps = int(self.trainer.estimated_stepping_batches)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=learning_rate,
            total_steps=steps,
            pct_start=ramp_fraction(self.hparams.pct_lr_ramp, steps),
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }
