"""How a stretch of strain becomes the updates of a snapshotter sequence.

The repository's snapshotter starts each sequence from a zero state.  To
keep zeros out of every PSD estimate, the stream is front-padded so that
the first response whose buffer is entirely real data covers exactly the
first ``buffer_size`` samples; the responses before it (the warm-up) are
dropped.  The end is padded to a whole update, and outputs whose
whitening filter reaches into that padding are dropped too.  Both
backends stream through this one plan, so they return the same outputs.

The streams themselves are time-shifted strain (``shifted``), with
signals added for the foreground (``inject``).
"""

from dataclasses import dataclass

import numpy as np

from aframe_contracts.detectors import check_shifts
from aframe_contracts.repository import Manifest
from aframe_serving.errors import StreamError


@dataclass(frozen=True)
class Geometry:
    """The stream geometry recorded in the repository's manifest."""

    sample_rate: float
    stride: int
    update_size: int
    buffer_size: int
    batch_size: int
    psd_length: float
    kernel_length: float
    fduration: float
    # where the network responds to a merger: window end - t_c (s)
    response: tuple[float, float]

    @classmethod
    def from_manifest(cls, manifest: Manifest) -> "Geometry":
        fields = set(cls.__dataclass_fields__) - {"response"}
        return cls(
            **{k: getattr(manifest, k) for k in fields},
            response=manifest.settings.response_span,
        )

    @property
    def front_padding(self) -> int:
        return (-self.buffer_size) % self.update_size

    @property
    def warmup(self) -> int:
        """Responses before the first buffer of real data."""
        return (self.buffer_size + self.front_padding) // self.update_size - 1

    def updates(self, strain: np.ndarray) -> np.ndarray:
        """(R, C, update_size) float32 updates of (C, T) strain."""
        size = strain.shape[-1]
        if size < self.buffer_size:
            raise StreamError(
                f"{size / self.sample_rate:.1f} s of strain is shorter than "
                f"one request ({self.buffer_size / self.sample_rate:.1f} s: "
                "psd_length + kernel + fduration + the batch's span)"
            )
        front = self.front_padding
        back = (-(front + size)) % self.update_size
        padded = np.pad(strain.astype(np.float32), ((0, 0), (front, back)))
        count = padded.shape[-1] // self.update_size
        channels = strain.shape[0]
        return padded.reshape(channels, count, self.update_size).transpose(
            1, 0, 2
        )

    def valid_outputs(self, size: int) -> int:
        """Outputs of T = size samples whose windows hold only real data."""
        rate = self.sample_rate
        # the last sample an output's window, with half a filter after
        # it, may use: outputs beyond it would see the end padding
        reach = (self.kernel_length + self.fduration) * rate
        return int((size - self.psd_length * rate - reach) // self.stride) + 1

    def outputs(self, responses: np.ndarray, size: int) -> np.ndarray:
        """(N, W) outputs from the (R, batch_size, W) responses of a
        stream of T = size samples."""
        kept = responses[self.warmup :].reshape(-1, responses.shape[-1])
        return kept[: self.valid_outputs(size)]

    def duration(self, count: int) -> float:
        """Seconds of strain that ``count`` outputs analyse, one every
        stride: a stream's background time."""
        return count * self.stride / self.sample_rate

    def output_times(self, count: int, t0: float) -> np.ndarray:
        """GPS time of the end of each output's whitened kernel."""
        rate = self.sample_rate
        first = (
            self.psd_length * rate
            + (self.kernel_length + self.fduration / 2) * rate
        )
        return t0 + (first + np.arange(count) * self.stride) / rate


def shifted(
    strain: dict[str, np.ndarray], ifos: list[str], shifts: list[float], rate
) -> np.ndarray:
    """(C, T - max shift) strain, ifo c advanced by shifts[c] seconds."""
    check_shifts(shifts, ifos)
    offsets = [round(s * rate) for s in shifts]
    size = min(strain[ifo].size for ifo in ifos) - max(offsets)
    if size <= 0:
        raise StreamError(
            f"shifts {shifts} s are longer than the strain "
            f"({strain[ifos[0]].size / rate:.0f} s)"
        )
    return np.stack(
        [
            strain[ifo][o : o + size]
            for ifo, o in zip(ifos, offsets, strict=True)
        ]
    )


def inject(
    stream: np.ndarray,
    t0: float,
    rate: float,
    times: np.ndarray,
    responses: np.ndarray,
    coalescence: int,
) -> np.ndarray:
    """The stream with each response's coalescence at its time."""
    stream = stream.copy()
    size = stream.shape[-1]
    for time, response in zip(times, responses, strict=True):
        start = round((time - t0) * rate) - coalescence
        first, last = max(start, 0), min(start + response.shape[-1], size)
        if last > first:
            stream[:, first:last] += response[:, first - start : last - start]
    return stream
