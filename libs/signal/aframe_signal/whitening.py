"""Strain whitened into the windows the network sees.

Training, validation and the exported preprocessor (so inference) all
whiten through ``Whitener``, built from the model's ``WhiteningSpec``:
the PSD of the leading ``psd_length`` seconds of a window
(``psd.spectral_density``) whitens the rest with ml4gw's ``Whiten``,
which crops ``fduration / 2`` from each side.

Strain is handled multiplied by ``STRAIN_SCALE``: whitening does not care
about the scale, and at O(1) amplitudes PSDs stay far from float32's
subnormals (raw strain PSDs are ~1e-46 / Hz).  The scale is recorded
with the model (``ModelSettings.strain_scale``).
"""

import torch
from ml4gw.transforms import Whiten

from aframe_contracts.model import WhiteningSpec
from aframe_signal.psd import spectral_density

STRAIN_SCALE = 1e21


class Whitener(torch.nn.Module):
    """PSD from the leading psd_length seconds, whiten the rest.

    Input windows are (B, C, (psd_length + kernel_length + fduration) fs);
    output kernels (B, C, kernel_length fs).
    """

    def __init__(self, spec: WhiteningSpec) -> None:
        super().__init__()
        rate = spec.sample_rate
        self.psd_size = spec.psd_size
        self.window_size = spec.window_size
        fftlength = spec.fftlength or spec.kernel_length + spec.fduration
        self.spectral_density = spectral_density(rate, fftlength)
        self.whiten = Whiten(spec.fduration, rate, spec.highpass, spec.lowpass)

    def psd(self, X: torch.Tensor) -> torch.Tensor:
        """The PSD (B, C, F) of the leading psd_length of windows."""
        return self.spectral_density(X[..., : self.psd_size].double())

    def forward(
        self, X: torch.Tensor, psd: torch.Tensor | None = None
    ) -> torch.Tensor:
        if psd is None:
            psd = self.psd(X)
        return self.whiten(X[..., -self.window_size :], psd)
