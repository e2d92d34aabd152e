"""Glitches in training: gengli's blips for the augmentation
(``augment.Glitches``), and windows around the glitches the training
background records (``RecordedGlitches``)."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from aframe_contracts.glitches import GlitchTable
from aframe_contracts.strain import BackgroundStrain
from aframe_signal.glitches import band_limit, gengli_bank


def training_shapes(
    ifos: list[str],
    count: int,
    sample_rate: float,
    seed: int,
    highpass: float | None,
    lowpass: float | None,
) -> torch.Tensor:
    """``count`` gengli blips of each ifo, (C, count, T), band-limited as
    the whitening will and of unit norm (in whitened units, SNR 1)."""
    shapes = np.stack(
        [
            band_limit(
                gengli_bank(ifo, count, sample_rate, seed),
                sample_rate,
                highpass,
                lowpass,
            )
            for ifo in ifos
        ]
    )
    shapes /= np.linalg.norm(shapes, axis=-1, keepdims=True)
    return torch.as_tensor(shapes)


@dataclass
class RecordedGlitches:
    """Where the training background records glitches, and how often an
    ifo's window is taken around one of them instead of anywhere.

    Args:
        peaks: per training piece, per ifo, each glitch's peak sample.
        prob: the probability of a window around a glitch.
        first: the earliest window sample a peak is put at.
        last: the latest.
    """

    peaks: list[list[torch.Tensor]]
    prob: float
    first: int
    last: int

    def starts(self, piece, channel, starts, last_start, generator):
        """Window starts of one ifo of one piece, ``prob`` of them moved
        so that a glitch of it lies between ``first`` and ``last``."""
        peaks = self.peaks[piece][channel]
        n = starts.numel()
        around = torch.rand(n, generator=generator) < self.prob
        if not peaks.numel():
            return starts
        chosen = peaks[torch.randint(peaks.numel(), (n,), generator=generator)]
        offset = torch.randint(
            self.first, self.last + 1, (n,), generator=generator
        )
        moved = (chosen - offset).clamp(0, last_start)
        return torch.where(around, moved, starts)


def glitch_peaks(
    paths: list[Path], ifos: list[str], sample_rate: float
) -> list[list[np.ndarray]]:
    """The sample of each recorded glitch's peak, per file, per ifo."""
    peaks = []
    for path in paths:
        header = BackgroundStrain.header(path)
        table = (
            GlitchTable.read(path)
            if GlitchTable.recorded(path)
            else GlitchTable.empty()
        )
        peaks.append(
            [
                np.round((table.of(ifo).time - header.t0) * sample_rate)
                .astype(np.int64)
                .clip(0, header.size - 1)
                for ifo in ifos
            ]
        )
    return peaks
