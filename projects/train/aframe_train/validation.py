"""The validation split: the tail of the background, held out.

Validation uses the last ``valid_fraction`` of all the background's
samples, taken from the end of the last files (``held_out``); training
records its GPS span with the weights (``held_out_span``), so that later
stages can measure the model on data it never trained on.
"""

from pathlib import Path

import numpy as np
import torch

from aframe_contracts.errors import DataError
from aframe_contracts.strain import BackgroundStrain


def held_out_span(
    paths: list[Path], valid_fraction: float
) -> tuple[float, float]:
    """GPS [start, stop) of the background held out for validation.

    It is the last ``valid_fraction`` of all the background's samples, at
    the end of the last files (``held_out``).  Training records it with
    the weights, so later stages can measure the model on data it never
    trained on.
    """
    headers = [BackgroundStrain.header(path) for path in paths]
    taken = held_out([h.size for h in headers], valid_fraction)
    stop = headers[-1].stop
    for header, n in zip(headers, taken, strict=True):
        if n:
            return header.stop - n / header.sample_rate, stop
    return stop, stop


def held_out(sizes: list[int], valid_fraction: float) -> list[int]:
    """Samples held out for validation from the end of each background
    file of ``sizes``: the last ``valid_fraction`` of all their samples,
    the last file's first, then the one before it, and so on."""
    wanted = round(valid_fraction * sum(sizes))
    taken = []
    for size in reversed(sizes):
        taken.append(min(size, wanted))
        wanted -= taken[-1]
    return taken[::-1]


def split_background(
    strain: list[torch.Tensor],
    valid_fraction: float,
    window_size: int,
    peaks: list[list[np.ndarray]] | None = None,
):
    """Training pieces of the background, and the validation pieces of
    its tail (``held_out``); a training piece not longer than a window
    of ``window_size`` samples is left out.  With ``peaks`` (each file's
    glitch peaks per ifo, samples), also the peaks inside each training
    piece."""
    taken = held_out([x.shape[-1] for x in strain], valid_fraction)
    kept = [
        i
        for i, (x, n) in enumerate(zip(strain, taken, strict=True))
        if x.shape[-1] - n > window_size
    ]
    if not kept:
        raise DataError(
            "valid_fraction leaves no background file long enough to "
            "train on: lower valid_fraction or add background"
        )
    train = [strain[i][:, : strain[i].shape[-1] - taken[i]] for i in kept]
    valid = [
        x[:, x.shape[-1] - n :]
        for x, n in zip(strain, taken, strict=True)
        if n
    ]
    if peaks is None:
        return train, valid
    inside = [
        [p[p < train[j].shape[-1]] for p in peaks[i]]
        for j, i in enumerate(kept)
    ]
    return train, valid, inside
