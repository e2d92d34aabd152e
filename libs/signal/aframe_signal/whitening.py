"""Strain whitened into the windows the network sees.

Training, validation and the exported preprocessor (so inference) all
whiten through ``Whitener``, built from the model's ``WhiteningSpec``:
the PSD of the leading ``psd_length`` seconds of a window
(``psd.spectral_density``) whitens the rest with ml4gw's ``Whiten``,
which crops ``fduration / 2`` from each side.

Inference whitens a whole batch of windows at once (``BatchWhitener``):
the same filter, the one a window gets from the PSD, applied to the
batch's span, so that every kernel is a slice of one whitened series and
a template bank can filter that series instead of each window.

Strain is handled multiplied by ``STRAIN_SCALE``: whitening does not care
about the scale, and at O(1) amplitudes PSDs stay far from float32's
subnormals (raw strain PSDs are ~1e-46 / Hz).  The scale is recorded
with the model (``ModelSettings.strain_scale``).
"""

import torch
from ml4gw.spectral import truncate_inverse_power_spectrum
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
        self.spec = spec

    def psd(self, X: torch.Tensor) -> torch.Tensor:
        """The PSD (B, C, F) of the leading psd_length of windows."""
        return self.spectral_density(X[..., : self.psd_size].double())

    def forward(
        self, X: torch.Tensor, psd: torch.Tensor | None = None
    ) -> torch.Tensor:
        if psd is None:
            psd = self.psd(X)
        return self.whiten(X[..., -self.window_size :], psd)

    def impulse_response(self, psd: torch.Tensor) -> torch.Tensor:
        """The filter (..., window_size) that whitens a window with
        ``psd`` (..., F): built as ml4gw's whitening builds it, the
        inverse ASD on the window's frequency grid with its time-domain
        response truncated to fduration, zero phase; centred, so that
        sample ``window_size // 2`` is lag 0."""
        spec, size = self.spec, self.window_size
        psd = psd.double()
        bins = size // 2 + 1
        if psd.size(-1) != bins:
            # as ml4gw does for a PSD of another FFT length
            psd = torch.nn.functional.interpolate(
                psd, size=(bins,), mode="linear"
            )
        truncated = truncate_inverse_power_spectrum(
            psd, spec.fduration, spec.sample_rate, spec.highpass, spec.lowpass
        )
        response = torch.nan_to_num(truncated**-0.5)
        response = torch.fft.irfft(response, size) / spec.sample_rate**0.5
        return torch.roll(response, size // 2, -1)

    def span(self, X: torch.Tensor, psd: torch.Tensor) -> torch.Tensor:
        """Whiten (B, C, N) strain, N >= window_size, at once: the
        filter a window gets from ``psd`` (B, C, F), convolved with the
        whole stretch, less its mean; (B, C, N - fduration) kept.

        A window of it differs from the window whitened on its own, as
        training whitens, by 0.9% of the whitened noise (rms) on the
        quickstart's simulated background, 0.02-0.08% on MLGWSC-1
        datasets 1 and 3: on its own, a window is demeaned, rounded to
        float32 and filtered circularly, and the filter's far tails meet
        the strain's large low-frequency power.
        """
        size, half = X.size(-1), self.spec.half_filter_size
        X = X.double() - X.double().mean(-1, keepdim=True)
        response = self.impulse_response(psd)
        length = size + response.size(-1)
        product = torch.fft.rfft(X, length) * torch.fft.rfft(response, length)
        # the centred filter delays by window_size // 2
        delay = self.window_size // 2
        whitened = torch.fft.irfft(product, length)[..., delay : delay + size]
        return whitened[..., half : size - half].float()


class BatchWhitener(torch.nn.Module):
    """(C, buffer_size) strain -> (batch_size, C, kernel_size) kernels:
    the inference preprocessor.

    A buffer holds ``psd_length`` seconds of background followed by the
    span of ``batch_size`` windows, one every ``stride`` samples.  The
    PSD of the leading part whitens the span at once
    (``Whitener.span``), with training's filter settings, and the
    kernels are slices of it.
    """

    def __init__(
        self,
        spec: WhiteningSpec,
        inference_sampling_rate: float,
        batch_size: int,
        strain_scale: float,
    ) -> None:
        super().__init__()
        sample_rate = spec.sample_rate
        self.stride = round(sample_rate / inference_sampling_rate)
        if abs(self.stride - sample_rate / inference_sampling_rate) > 1e-9:
            raise ValueError(
                f"inference_sampling_rate {inference_sampling_rate} Hz does "
                f"not divide the sample rate {sample_rate} Hz"
            )
        self.whitener = Whitener(spec)
        self.kernel_size = spec.kernel_size
        self.span = (batch_size - 1) * self.stride + self.whitener.window_size
        self.batch_size = batch_size
        self.strain_scale = strain_scale

    @property
    def buffer_size(self) -> int:
        return self.whitener.psd_size + self.span

    def whitened(self, strain: torch.Tensor) -> torch.Tensor:
        """The whitened span (C, (batch_size - 1) stride + kernel_size)
        of a (C, buffer_size) buffer."""
        x = strain[None].double() * self.strain_scale
        psd = self.whitener.psd(x)
        return self.whitener.span(x[..., -self.span :], psd)[0]

    def forward(self, strain: torch.Tensor) -> torch.Tensor:
        kernels = self.whitened(strain).unfold(
            -1, self.kernel_size, self.stride
        )
        return kernels.transpose(0, 1)
