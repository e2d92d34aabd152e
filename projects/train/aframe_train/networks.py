"""The networks the detector can be: each maps whitened windows
(batch, ifos, samples) to one logit per window.

* ``resnet``: ml4gw's ResNet1D, the paper's network.  Its residual
  convolutions are 3 samples wide, so a shallow one sees little of a
  window at once: ``[2, 2]`` spans 99 samples (0.1 s at 1024 Hz) before
  the global average over time.
* ``convnet``: plain convolutions with wide kernels and max-pooling, as
  in the first CNN searches (George & Huerta 2018, Gabbard et al. 2018).
  The mlgwsc1 preset's six layers span 616 samples (0.6 s at 1024 Hz),
  for a training step 1.25 times the ``[2, 2]`` ResNet's on a CPU.
* ``bank``: a matched filter's front end, a bank of whitened templates
  filled from the training signals, and a learned ranking of their SNRs
  (``aframe_signal.bank.TemplateBank``, a library because inference runs
  its parts too): the presets' network.
"""

from functools import partial

import torch
from ml4gw.nn.norm import GroupNorm1D
from ml4gw.nn.resnet import ResNet1D


def resnet(num_ifos: int, layers: list[int], norm_groups: int) -> ResNet1D:
    """ml4gw's ResNet1D with ``layers`` residual blocks per stage."""
    norm = (
        partial(GroupNorm1D, num_groups=norm_groups) if norm_groups else None
    )
    return ResNet1D(num_ifos, layers=layers, classes=1, norm_layer=norm)


def receptive_field(kernel_sizes: list[int], pools: list[int]) -> int:
    """How many input samples one feature of the last layer depends on
    through the convolutions and poolings (the GroupNorms, which
    normalise over the whole window, aside)."""
    span, stride = 1, 1
    for kernel, pool in zip(kernel_sizes, pools, strict=True):
        span += (kernel - 1) * stride
        span += (pool - 1) * stride
        stride *= pool
    return span


class ConvNet(torch.nn.Sequential):
    """Convolution, GroupNorm and ReLU per layer, then max-pooling.

    Layer ``i`` has ``channels[i]`` filters of ``kernel_sizes[i]``
    samples (odd: padded to keep the length) and is followed by
    max-pooling by ``pools[i]`` (1: none).  Its GroupNorm is the ResNet's:
    ``norm_groups`` groups, capped at the channels (0: one per channel).
    A global average over time and a two-layer head of ``head`` units give
    the logit.
    """

    def __init__(
        self,
        num_ifos: int,
        channels: list[int],
        kernel_sizes: list[int],
        pools: list[int],
        norm_groups: int = 16,
        head: int = 64,
    ) -> None:
        lengths = {len(channels), len(kernel_sizes), len(pools)}
        if len(lengths) != 1 or not channels:
            raise ValueError(
                "the convnet needs one entry per layer in channels, "
                f"kernel_sizes and pools: got {len(channels)}, "
                f"{len(kernel_sizes)} and {len(pools)}"
            )
        if any(k < 1 or k % 2 == 0 for k in kernel_sizes):
            raise ValueError(
                f"convnet kernel_sizes must be odd and positive (they are "
                f"padded to keep the length), got {kernel_sizes}"
            )
        if any(p < 1 for p in pools) or any(c < 1 for c in channels):
            raise ValueError(
                "convnet channels and pools must be positive, got "
                f"{channels} and {pools}"
            )
        layers = []
        inputs = num_ifos
        for width, kernel, pool in zip(
            channels, kernel_sizes, pools, strict=True
        ):
            layers += [
                torch.nn.Conv1d(
                    inputs, width, kernel, padding=kernel // 2, bias=False
                ),
                GroupNorm1D(width, norm_groups or None),
                torch.nn.ReLU(),
            ]
            if pool > 1:
                layers.append(torch.nn.MaxPool1d(pool))
            inputs = width
        layers += [
            torch.nn.AdaptiveAvgPool1d(1),
            torch.nn.Flatten(),
            torch.nn.Linear(inputs, head),
            torch.nn.ReLU(),
            torch.nn.Linear(head, 1),
        ]
        super().__init__(*layers)
