"""The data module: background windows, signals, and time-slid validation.

Training batches are drawn on the CPU as raw background windows (each ifo
from an independent time, so windows hold no coincident event) and
polarisations (``datasets.TrainingBatches``); projection, injection and
whitening happen on the device in ``on_after_batch_transfer``.
Validation uses the last ``valid_fraction`` of the background
(``validation``), time-slid until it holds ``valid_livetime`` seconds
(``datasets.ValidationWindows``).

The augmentation and whitening run in float32 (PSDs in float64) outside
autocast, whatever precision the network trains in.  Under DDP each rank
draws its own batches (its random state is offset by its rank) and an
epoch's ``batches_per_epoch`` are split between the ranks; validation
windows are shared out by Lightning's sampler and carry their index so
the model can put them back together.
"""

import functools
import logging
from dataclasses import replace
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch

from aframe_contracts.detectors import TIMESLIDE_STEP, check_ifos
from aframe_contracts.errors import (
    DataError,
    check_not_negative,
    check_positive,
)
from aframe_contracts.model import WhiteningSpec
from aframe_contracts.strain import BackgroundStrain
from aframe_contracts.waveforms import WaveformSet, coalescence_sample
from aframe_signal.glitches import GlitchModel
from aframe_signal.whitening import STRAIN_SCALE, Whitener
from aframe_train.augment import (
    Glitches,
    Injector,
    mute_channel,
    swap_channels,
)
from aframe_train.datasets import TrainingBatches, ValidationWindows
from aframe_train.glitches import (
    RecordedGlitches,
    glitch_peaks,
    training_shapes,
)
from aframe_train.validation import split_background

logger = logging.getLogger("aframe_train")


def full_precision(method):
    """Run a batch transform outside autocast, on float32 strain.

    PSDs of float16 strain underflow, and ml4gw's projections are matrix
    products that autocast would take to float16/bfloat16.
    """

    @functools.wraps(method)
    def wrapper(self, X, *args):
        with torch.autocast(X.device.type, enabled=False):
            return method(self, X.float(), *args)

    return wrapper


def scaled_strain(
    paths: list[Path], ifos: list[str], sample_rate: float
) -> list[torch.Tensor]:
    """Each file's strain as a (C, T) float32 tensor, scaled."""
    if not paths:
        raise DataError("no background files to train on")
    strain = []
    for path in paths:
        chunk = BackgroundStrain.read(path, ifos)
        if chunk.sample_rate != sample_rate:
            raise DataError(
                f"{path} is sampled at {chunk.sample_rate} Hz, not the "
                f"pipeline's {sample_rate} Hz"
            )
        data = np.stack(list(chunk.strain.values())) * STRAIN_SCALE
        strain.append(torch.as_tensor(data, dtype=torch.float32))
    return strain


class AframeDataModule(pl.LightningDataModule):
    """Background and signals for training and time-slid validation.

    Args:
        ifos: the interferometers, in channel order.
        sample_rate: the strain sample rate (Hz).
        kernel_length: the whitened window the network sees (s).
        fduration: the whitening filter length (s).
        psd_length: background before a window whose PSD whitens it (s).
        highpass: the whitening highpass (Hz).
        background_files: the training background (data-stage HDF5).
        training_waveforms: files of polarisations for training.
        validation_waveforms: the file of projected validation signals.
        batch_size: windows per training batch (per device).
        batches_per_epoch: training batches per epoch (over all devices:
            DDP splits them between the ranks).
        fftlength: FFT length of the PSD (s); None: kernel + fduration.
        lowpass: the whitening lowpass (Hz); None for none.
        inference_psd_length: the background before a window whose PSD
            whitens it in the search (s), as the bank's noise fit
            (``model.glitch_tails``) whitens; None: psd_length.
        waveform_prob: probability that a window gets a signal.
        swap_prob: probability of a signal with one ifo's channel taken
            from another signal, labelled background.
        mute_prob: probability of a signal with one ifo zeroed, labelled
            background.
        kernel_left_pad: earliest merger after the kernel's start (s).
        kernel_right_pad: latest merger before the kernel's end (s).
        snr_min: lowest network SNR of training signals.
        snr_max: highest network SNR of training signals.
        snr_index: power-law index of the SNR distribution.
        valid_fraction: share of the background kept for validation.
        valid_stride: time between validation windows (s).
        num_valid_views: positions at which each validation signal is
            seen; its score is the mean over them.
        valid_livetime: time-slid validation background (s).
        waveforms_in_memory: at most this many training waveforms are
            loaded at once; a new random subset is loaded every epoch.
        glitch_prob: probability that a background window gets a blip
            in one of its ifos (``augment.Glitches``).
        coincident_glitch_prob: probability that a background window
            gets a blip in every ifo, each drawn on its own.
        signal_glitch_prob: probability that a window with a signal gets
            a blip in one of its ifos; it stays labelled a signal.
        glitch_snr_min: the quietest training blip's optimal SNR.
        glitch_snr_max: the loudest's.
        glitch_snr_index: power-law index of the blips' SNRs.
        glitch_shapes: gengli blips made per ifo to draw from.
        recorded_glitch_prob: probability that an ifo's background window
            is taken around one of the glitches the training background
            records (gengli's, or a table's real ones), instead of
            anywhere.
    """

    def __init__(
        self,
        ifos: list[str],
        sample_rate: float,
        kernel_length: float,
        fduration: float,
        psd_length: float,
        highpass: float,
        background_files: list[Path],
        training_waveforms: list[Path],
        validation_waveforms: Path,
        batch_size: int,
        batches_per_epoch: int,
        fftlength: float | None = None,
        lowpass: float | None = None,
        inference_psd_length: float | None = None,
        waveform_prob: float = 0.5,
        swap_prob: float = 0.0,
        mute_prob: float = 0.0,
        kernel_left_pad: float = 0.25,
        kernel_right_pad: float = 0.05,
        snr_min: float = 4,
        snr_max: float = 100,
        snr_index: float = -3,
        valid_fraction: float = 0.25,
        valid_stride: float = 0.5,
        num_valid_views: int = 4,
        valid_livetime: float = 3600,
        waveforms_in_memory: int = 20000,
        glitch_prob: float = 0.0,
        coincident_glitch_prob: float = 0.0,
        signal_glitch_prob: float = 0.0,
        glitch_snr_min: float = 6.5,
        glitch_snr_max: float = 100.0,
        glitch_snr_index: float = -2.0,
        glitch_shapes: int = 500,
        recorded_glitch_prob: float = 0.0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        check_ifos(ifos)
        check_positive(
            sample_rate=sample_rate,
            kernel_length=kernel_length,
            psd_length=psd_length,
            inference_psd_length=inference_psd_length or psd_length,
            batch_size=batch_size,
            batches_per_epoch=batches_per_epoch,
            snr_min=snr_min,
            valid_stride=valid_stride,
            num_valid_views=num_valid_views,
            valid_livetime=valid_livetime,
            waveforms_in_memory=waveforms_in_memory,
        )
        check_not_negative(
            fduration=fduration,
            waveform_prob=waveform_prob,
            swap_prob=swap_prob,
            mute_prob=mute_prob,
            kernel_left_pad=kernel_left_pad,
            kernel_right_pad=kernel_right_pad,
        )
        if waveform_prob + swap_prob + mute_prob > 1:
            raise DataError(
                "waveform_prob + swap_prob + mute_prob must not exceed 1"
            )
        if not 0 <= recorded_glitch_prob <= 1:
            raise DataError(
                f"recorded_glitch_prob = {recorded_glitch_prob}: it is a "
                "probability, in [0, 1]"
            )
        check_not_negative(
            glitch_prob=glitch_prob,
            coincident_glitch_prob=coincident_glitch_prob,
            signal_glitch_prob=signal_glitch_prob,
        )
        if glitch_prob + coincident_glitch_prob > 1 or signal_glitch_prob > 1:
            raise DataError(
                "glitch_prob + coincident_glitch_prob and "
                "signal_glitch_prob are probabilities: at most 1"
            )
        self.glitchy = (
            glitch_prob + coincident_glitch_prob + signal_glitch_prob
        )
        if self.glitchy:
            check_positive(glitch_shapes=glitch_shapes)
            GlitchModel(
                {ifo: 1.0 for ifo in ifos},
                glitch_snr_min,
                glitch_snr_max,
                glitch_snr_index,
            ).check(ifos)
        if not snr_min < snr_max:
            raise DataError(
                f"snr_min = {snr_min}, snr_max = {snr_max}: the range of "
                "training SNRs is empty"
            )
        if not 0 < valid_fraction < 1:
            raise DataError(
                f"valid_fraction = {valid_fraction}: it is the share of "
                "each background file held out, in (0, 1)"
            )
        self.whitening = WhiteningSpec(
            sample_rate,
            kernel_length,
            fduration,
            psd_length,
            fftlength,
            highpass,
            lowpass,
        )
        self.whitener = Whitener(self.whitening)
        # the search's whitening: a longer PSD of the past, as a rule
        self.search_whitening = replace(
            self.whitening, psd_length=inference_psd_length or psd_length
        )
        self.waveform_files = [Path(p) for p in training_waveforms]
        attrs = WaveformSet.attributes(self.waveform_files[0])
        self.injector = Injector(
            ifos,
            self.whitening,
            kernel_left_pad,
            kernel_right_pad,
            coalescence_sample(attrs, sample_rate),
            snr_min,
            snr_max,
            snr_index,
        )
        self.validation_coalescence = None
        self.glitches = None
        self.recorded_glitches = None

    # ------------------------------------------------------------ setup
    def setup(self, stage: str) -> None:
        hp = self.hparams
        rank, world = self.rank()
        # the ranks start from the same seed: they draw different batches
        self.seed = (torch.initial_seed() + rank) % 2**32
        logger.info(
            "rank %d of %d: %d training batches of %d windows per epoch",
            rank,
            world,
            self.rank_batches(),
            hp.batch_size,
        )
        strain = scaled_strain(hp.background_files, hp.ifos, hp.sample_rate)
        shortest = min(x.shape[-1] for x in strain)
        window_size = self.whitening.input_size
        if shortest <= window_size:
            raise DataError(
                f"background files of {shortest / hp.sample_rate:.0f} s "
                "are shorter than a training window (psd_length + "
                f"kernel_length + fduration = "
                f"{window_size / hp.sample_rate} s)"
            )
        if hp.recorded_glitch_prob:
            self.train_background, self.valid_background, peaks = (
                split_background(
                    strain,
                    hp.valid_fraction,
                    window_size,
                    glitch_peaks(hp.background_files, hp.ifos, hp.sample_rate),
                )
            )
            self.recorded_glitches = self.around_glitches(peaks)
        else:
            self.train_background, self.valid_background = split_background(
                strain, hp.valid_fraction, window_size
            )
        valid = WaveformSet.read(hp.validation_waveforms, list(hp.ifos))
        if valid.sample_rate != hp.sample_rate:
            raise DataError(
                f"{hp.validation_waveforms} is sampled at "
                f"{valid.sample_rate} Hz, not {hp.sample_rate} Hz"
            )
        if not len(valid.waveforms[hp.ifos[0]]):
            raise DataError(
                f"{hp.validation_waveforms} holds no validation waveforms"
            )
        self.valid_signals = torch.as_tensor(
            valid.stacked(hp.ifos) * STRAIN_SCALE, dtype=torch.float32
        )
        self.valid_snrs = torch.as_tensor(valid.parameters["snr"])
        self.validation_coalescence = valid.coalescence
        if self.glitchy and self.glitches is None:
            self.glitches = self.make_glitches()

    def around_glitches(self, peaks) -> "RecordedGlitches":
        """Windows around the training background's own glitches: the
        peak anywhere in the whitened kernel."""
        hp = self.hparams
        count = sum(p.size for piece in peaks for p in piece)
        if not count:
            raise DataError(
                "recorded_glitch_prob needs glitches recorded in the "
                "training background (glitch_source = gengli or table); "
                "these files record none"
            )
        logger.info("%d recorded glitches to train around", count)
        spec = self.whitening
        first = spec.psd_size + spec.half_filter_size
        return RecordedGlitches(
            [[torch.as_tensor(p) for p in piece] for piece in peaks],
            hp.recorded_glitch_prob,
            first,
            first + spec.kernel_size - 1,
        )

    def make_glitches(self) -> Glitches:
        """Blips of each ifo from gengli, band-limited as the whitening
        will, for the training windows; seeded by the fit's seed, so all
        ranks draw from the same shapes."""
        hp = self.hparams
        logger.info(
            "making %d gengli blips per ifo for training", hp.glitch_shapes
        )
        shapes = training_shapes(
            hp.ifos,
            hp.glitch_shapes,
            hp.sample_rate,
            torch.initial_seed() % 2**31,
            hp.highpass,
            hp.lowpass,
        )
        return Glitches(
            shapes,
            self.whitening,
            hp.glitch_snr_min,
            hp.glitch_snr_max,
            hp.glitch_snr_index,
        )

    def rank(self) -> tuple[int, int]:
        """This process's rank and the number of ranks."""
        if self.trainer is None:
            return 0, 1
        return self.trainer.global_rank, self.trainer.world_size

    def rank_batches(self) -> int:
        """Training batches per epoch on this rank."""
        return max(self.hparams.batches_per_epoch // self.rank()[1], 1)

    def load_training_waveforms(self, count: int | None = None):
        """All training waveforms, or a random subset of ``count`` (by
        default ``waveforms_in_memory``): (N, 2, T), cross and plus."""
        counts = [WaveformSet.count(path) for path in self.waveform_files]
        total = sum(counts)
        if total == 0:
            raise DataError("the training waveform files hold no waveforms")
        keep = min(total, count or self.hparams.waveforms_in_memory)
        chosen = np.sort(np.random.choice(total, keep, replace=False))
        rows, offset = [], 0
        for path, count in zip(self.waveform_files, counts, strict=True):
            local = chosen[(chosen >= offset) & (chosen < offset + count)]
            names = ["cross", "plus"]
            signals = WaveformSet.read(path, names, local - offset)
            rows.append(signals.stacked(names))
            offset += count
        return torch.as_tensor(np.concatenate(rows) * STRAIN_SCALE)

    @torch.no_grad()
    def whitened_signals(
        self, count: int, size: int, post_merger: int
    ) -> torch.Tensor:
        """Training signals as the network sees them, noise aside.

        ``count`` plus polarisations, each whitened by the PSD of a
        training window of its own (and a random ifo of it), so that
        background of several PSDs gives signals whitened by each, and
        cut to the ``size`` samples that end ``post_merger`` after its
        merger: (count, size).
        """
        kernel = self.whitening.kernel_size
        if size > kernel:
            raise DataError(
                f"templates of {size} samples do not fit in the "
                f"{kernel}-sample kernel"
            )
        plus = self.load_training_waveforms(count)[:, 1:].float()
        # the merger post_merger before the kernel's end
        merger = self.whitening.half_filter_size + kernel - post_merger
        placed = self.injector.place(
            plus, torch.full((len(plus),), merger, dtype=torch.long)
        )
        psds = []
        for chunk in torch.split(torch.arange(len(plus)), 256):
            windows = TrainingBatches(
                self.train_background,
                None,
                len(chunk),
                1,
                self.whitening.input_size,
                None,
            ).sample_windows()
            ifo = torch.randint(windows.shape[1], (len(chunk),))
            psds.append(
                self.whitener.psd(windows)[torch.arange(len(chunk)), ifo]
            )
        psd = torch.cat(psds)[:, None]
        whitened = self.whitener(placed, psd)
        return whitened[:, 0, kernel - size :].double()

    # ------------------------------------------------------ dataloaders
    def epoch_seed(self, stream: int = 0) -> int:
        """The seed of this epoch's ``stream`` of random draws."""
        epoch = self.trainer.current_epoch if self.trainer else 0
        return (self.seed + 1_000_003 * epoch + stream) % 2**32

    def seed_epoch(self) -> None:
        """Seed the global random draws of this epoch (the choice of
        training waveforms, the augmentation) from the seed and the epoch
        alone; the batches have their own stream.  So a fit resumed at an
        epoch draws what an uninterrupted one would have.  Called when the
        training waveforms are loaded and as each epoch starts
        (``Aframe.on_train_epoch_start``)."""
        seed = self.epoch_seed()
        torch.manual_seed(seed)
        np.random.seed(seed)

    def train_dataloader(self):
        self.seed_epoch()
        dataset = TrainingBatches(
            self.train_background,
            self.load_training_waveforms(),
            self.hparams.batch_size,
            self.rank_batches(),
            self.whitening.input_size,
            functools.partial(self.epoch_seed, 1),
            self.recorded_glitches,
        )
        # a generator of its own: making the loader's iterator does not
        # draw from the global one, whenever Lightning makes it
        return torch.utils.data.DataLoader(
            dataset, batch_size=None, generator=torch.Generator()
        )

    def val_dataloader(self):
        hp = self.hparams
        stride = round(hp.valid_stride * hp.sample_rate)
        first, last = self.injector.first, self.injector.last
        views = np.linspace(first, last, hp.num_valid_views).round()
        self.valid_windows = ValidationWindows(
            self.valid_background,
            self.valid_signals,
            self.whitening.input_size,
            stride,
            round(TIMESLIDE_STEP * hp.sample_rate),
            round(hp.valid_livetime * hp.sample_rate),
            views.astype(int).tolist(),
        )
        # no gradients in validation: larger batches fit
        return torch.utils.data.DataLoader(
            self.valid_windows, batch_size=4 * hp.batch_size, shuffle=False
        )

    # ------------------------------------------------------ on device
    def on_after_batch_transfer(self, batch, dataloader_idx):
        self.whitener.to(batch[0].device)
        self.injector.to(batch[0].device)
        if self.glitches is not None:
            self.glitches.to(batch[0].device)
        if self.trainer.training:
            return self.augment(*batch)
        return self.validation_batch(*batch)

    @full_precision
    def augment(self, X, waveforms):
        """Inject, swap and mute signals; whiten; label."""
        hp = self.hparams
        psd = self.whitener.psd(X)
        # background augmentations that keep its statistics
        X = X * torch.where(torch.rand_like(X[:, :, :1]) < 0.5, -1, 1)
        u = torch.rand(len(X), device=X.device)
        signal = u < hp.waveform_prob
        swap = (u >= hp.waveform_prob) & (u < hp.waveform_prob + hp.swap_prob)
        mute = (u >= hp.waveform_prob + hp.swap_prob) & (
            u < hp.waveform_prob + hp.swap_prob + hp.mute_prob
        )
        injected = signal | swap | mute
        if injected.any():
            responses = self.injector.project(
                waveforms[injected, 0], waveforms[injected, 1], psd[injected]
            )
            placed = self.injector.place(responses)
            kinds = torch.where(
                signal[injected], 0, torch.where(swap[injected], 1, 2)
            )
            if (kinds == 1).any():
                placed[kinds == 1] = swap_channels(placed[kinds == 1])
            if (kinds == 2).any():
                placed[kinds == 2] = mute_channel(placed[kinds == 2])
            X[injected, :, -placed.shape[-1] :] += placed
        if self.glitches is not None:
            X = self.glitches(X, psd, self.glitch_windows(signal, X.shape[1]))
        return self.whitener(X, psd), signal.float()[:, None]

    def glitch_windows(self, signal: torch.Tensor, channels: int):
        """Which ifos of which windows get a blip, (B, C): one ifo of a
        background window with glitch_prob, every ifo with
        coincident_glitch_prob, one ifo of a signal's window with
        signal_glitch_prob."""
        hp = self.hparams
        u = torch.rand(len(signal), device=signal.device)
        one = torch.where(
            signal, u < hp.signal_glitch_prob, u < hp.glitch_prob
        )
        every = ~signal & (u >= hp.glitch_prob)
        every &= u < hp.glitch_prob + hp.coincident_glitch_prob
        ifo = torch.randint(channels, (len(signal),), device=signal.device)
        where = torch.nn.functional.one_hot(ifo, channels).bool()
        return (where & one[:, None]) | every[:, None]

    @full_precision
    def validation_batch(self, X, timeslide, signal, view, index):
        """Whiten; add signals at their views where the item has one."""
        psd = self.whitener.psd(X)
        has = signal >= 0
        if has.any():
            responses = self.valid_signals.to(X.device)[signal[has]]
            merger = torch.as_tensor(
                self.valid_windows.views, device=X.device
            )[view[has]]
            placed = self.injector.place(
                responses, merger, self.validation_coalescence
            )
            X = X.clone()
            X[has, :, -placed.shape[-1] :] += placed
        return self.whitener(X, psd), timeslide, signal, index
