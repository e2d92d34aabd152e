"""Training batches: injected signals and the negatives.

Everything here runs on the training device, batch by batch, on strain
multiplied by ``aframe_signal.whitening.STRAIN_SCALE``; the batches are
whitened by ``aframe_signal.whitening.Whitener``.
"""

import torch
from ml4gw.distributions import PowerLaw
from ml4gw.gw import compute_observed_strain, get_ifo_geometry

from aframe_contracts.model import WhiteningSpec
from aframe_signal.snr import network_snr


class Injector(torch.nn.Module):
    """Project polarisations, rescale them to sampled SNRs, and place them.

    The merger lands uniformly between ``kernel_left_pad`` seconds after
    the start of the whitened kernel and ``kernel_right_pad`` before its
    end.

    Args:
        ifos: the interferometers, in channel order.
        spec: the whitening the windows get: their sizes, and the band
            of the SNRs.
        kernel_left_pad: earliest merger after the kernel's start (s).
        kernel_right_pad: latest merger before the kernel's end (s).
        coalescence: the coalescence sample of the training waveforms.
        snr_min: the quietest signal's network SNR.
        snr_max: the loudest's.
        snr_index: power-law index of the SNRs.
    """

    def __init__(
        self,
        ifos: list[str],
        spec: WhiteningSpec,
        kernel_left_pad: float,
        kernel_right_pad: float,
        coalescence: int,
        snr_min: float,
        snr_max: float,
        snr_index: float,
    ) -> None:
        super().__init__()
        tensors, vertices = get_ifo_geometry(*ifos)
        self.register_buffer("tensors", tensors)
        self.register_buffer("vertices", vertices)
        sample_rate = spec.sample_rate
        self.sample_rate = sample_rate
        self.highpass, self.lowpass = spec.highpass, spec.lowpass
        self.window_size = spec.window_size
        self.first = spec.half_filter_size + round(
            kernel_left_pad * sample_rate
        )
        self.last = (
            spec.half_filter_size
            + round((spec.kernel_length - kernel_right_pad) * sample_rate)
            - 1
        )
        if self.last < self.first:
            raise ValueError(
                "kernel_left_pad + kernel_right_pad leave no room for the "
                "merger in the kernel"
            )
        self.coalescence = coalescence
        self.snr = PowerLaw(snr_min, snr_max, snr_index)

    def project(self, cross, plus, psd):
        """Responses (N, C, T) on random skies, at PowerLaw network SNRs."""
        n, device = cross.shape[0], cross.device
        dec = torch.arcsin(2 * torch.rand(n, device=device) - 1)
        psi = torch.pi * torch.rand(n, device=device)
        phi = 2 * torch.pi * torch.rand(n, device=device)
        responses = compute_observed_strain(
            dec,
            psi,
            phi,
            self.tensors,
            self.vertices,
            self.sample_rate,
            cross=cross,
            plus=plus,
        )
        snr = network_snr(
            responses, psd, self.sample_rate, self.highpass, self.lowpass
        )
        target = self.snr.sample((n,)).to(device)
        return responses * (target / snr)[:, None, None]

    def place(
        self,
        responses: torch.Tensor,
        merger: torch.Tensor | None = None,
        coalescence: int | None = None,
    ) -> torch.Tensor:
        """The part of each response inside a window, merger placed.

        Args:
            responses: (N, C, T) signals.
            merger: the window sample of each merger; None draws them.
            coalescence: the coalescence sample of the responses; None for
                the training waveforms'.
        """
        n, channels, size = responses.shape
        device = responses.device
        if merger is None:
            merger = torch.randint(
                self.first, self.last + 1, (n,), device=device
            )
        if coalescence is None:
            coalescence = self.coalescence
        # window sample i holds response sample i + coalescence - merger
        start = coalescence - merger
        index = start[:, None] + torch.arange(self.window_size, device=device)
        inside = (index >= 0) & (index < size)
        index = index.clamp(0, size - 1)[:, None].expand(-1, channels, -1)
        placed = torch.gather(responses, -1, index)
        return placed * inside[:, None]


def swap_channels(signals: torch.Tensor) -> torch.Tensor:
    """Give each signal one channel of another signal: no coherent event."""
    n, channels = signals.shape[:2]
    if n < 2:
        return torch.zeros_like(signals)
    channel = torch.randint(channels, (n,), device=signals.device)
    rows = torch.arange(n, device=signals.device)
    swapped = signals.clone()
    swapped[rows, channel] = signals.roll(1, 0)[rows, channel]
    return swapped


def mute_channel(signals: torch.Tensor) -> torch.Tensor:
    """Zero one channel of each signal: the event is in one ifo only."""
    n, channels = signals.shape[:2]
    channel = torch.randint(channels, (n,), device=signals.device)
    muted = signals.clone()
    muted[torch.arange(n, device=signals.device), channel] = 0
    return muted


class Glitches(torch.nn.Module):
    """Put blips into training windows, coloured by each window's PSD.

    A glitch is a whitened shape (gengli's, ``aframe_signal.glitches``)
    placed with its middle anywhere in the whitened kernel, coloured by
    the window's PSD (the inverse of whitening) and rescaled to an
    optimal SNR drawn from a power law, then added to the raw strain: the
    whitener turns it back into the shape, at that SNR, as it does
    signals.

    Args:
        shapes: (C, N, T) whitened shapes of each ifo, unit norm.
        spec: the whitening the windows get: their sizes, and the band
            of the SNRs.
        snr_min: the quietest glitch's SNR.
        snr_max: the loudest's.
        snr_index: power-law index of the SNRs.
    """

    def __init__(
        self,
        shapes: torch.Tensor,
        spec: WhiteningSpec,
        snr_min: float,
        snr_max: float,
        snr_index: float,
    ) -> None:
        super().__init__()
        self.register_buffer("shapes", shapes.float())
        self.sample_rate = spec.sample_rate
        self.window_size = spec.window_size
        # the earliest and latest sample of a glitch's middle: the kernel
        self.first = spec.half_filter_size
        self.last = spec.half_filter_size + spec.kernel_size - 1
        self.highpass, self.lowpass = spec.highpass, spec.lowpass
        self.snr = PowerLaw(snr_min, snr_max, snr_index)

    def forward(
        self, X: torch.Tensor, psd: torch.Tensor, where: torch.Tensor
    ) -> torch.Tensor:
        """``X`` (B, C, T) with a glitch in each ifo of each window where
        ``where`` (B, C) is true; ``psd`` (B, C, F) is the windows'."""
        rows, ifos = where.nonzero(as_tuple=True)
        n, device = len(rows), X.device
        if not n:
            return X
        count, size = self.shapes.shape[1:]
        shapes = self.shapes[ifos, torch.randint(count, (n,), device=device)]
        middle = torch.randint(self.first, self.last + 1, (n,), device=device)
        index = middle[:, None] - size // 2 + torch.arange(size, device=device)
        inside = (index >= 0) & (index < self.window_size)
        placed = torch.zeros(n, self.window_size, device=device)
        placed.scatter_add_(
            1, index.clamp(0, self.window_size - 1), shapes * inside
        )
        spectrum = torch.fft.rfft(placed.double())
        window_psd = torch.nn.functional.interpolate(
            psd[rows, ifos][:, None], size=spectrum.shape[-1], mode="linear"
        )[:, 0]
        spectrum = spectrum * (window_psd * self.sample_rate / 2).sqrt()
        strain = torch.fft.irfft(spectrum, self.window_size).float()
        snr = network_snr(
            strain[:, None],
            psd[rows, ifos][:, None],
            self.sample_rate,
            self.highpass,
            self.lowpass,
        )
        target = self.snr.sample((n,)).to(device)
        X = X.clone()
        X[rows, ifos, -self.window_size :] += strain * (target / snr)[:, None]
        return X
