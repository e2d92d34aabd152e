"""The bank backend of the embedded engine: a template bank's detector
run in parts, its matched filter applied once per update to the whole
whitened span, at FFT cost.

The streaming path (``engine.LocalEngine``) whitens each update's span
and hands the detector ``batch_size`` overlapping kernels, which it
correlates with every template directly.  The kernels are slices of one
whitened series (``aframe_signal.whitening.BatchWhitener``), so the same
correlations are one FFT filtering of the series
(``TemplateBank.series_snrs``); the rest of the network (the coincidence
between the ifos, the consistency tests at each window's peak, the
ranking) then runs on each window as the exported detector does.  The
same updates give the same responses, to float rounding
(tests/serving/test_bank.py).
"""

from dataclasses import replace

import numpy as np
import torch

from aframe_contracts.repository import NETWORK_FILE
from aframe_serving.engine import InProcessEngine, LocalEngine
from aframe_serving.errors import RepositoryError
from aframe_serving.repository import ModelRepository
from aframe_signal.bank import TemplateBank, load_bank
from aframe_signal.whitening import BatchWhitener

# which in-process engine runs a repository: the bank backend for a
# template bank (auto), or the streaming path whatever the network
ENGINES = ("auto", "stream", "bank")


class BankEngine(InProcessEngine):
    """A template bank's repository in this process, filtered per update.

    Args:
        repository: an exported repository of a template bank.
        bank: its network (``load_bank`` of its ``network.pt``).
    """

    def __init__(self, repository: ModelRepository, bank: TemplateBank):
        manifest = repository.manifest
        self.manifest = manifest
        self.bank = bank
        whitening = replace(manifest.whitening, psd_length=manifest.psd_length)
        # the exported preprocessor's whitening, the same code
        self.whitener = BatchWhitener(
            whitening,
            manifest.inference_sampling_rate,
            manifest.batch_size,
            manifest.settings.strain_scale,
        )
        self.kernel_size = whitening.kernel_size
        # the filters' spectra, once
        self.spectra = bank.filter_spectra()

    def sequence(self, channels: int) -> "BankSequence":
        return BankSequence(self, channels)

    def respond(self, buffer: np.ndarray) -> np.ndarray:
        """The (batch_size, 2) responses to a (C, buffer_size) buffer, as
        the exported detector's: logits and merger offsets."""
        bank = self.bank
        with torch.no_grad():
            whitened = self.whitener.whitened(torch.from_numpy(buffer))
            kernels, snr2 = bank.windows(
                whitened, self.kernel_size, self.whitener.stride, self.spectra
            )
            return bank.timed(kernels, snr2).numpy()


class BankSequence:
    """One stream through a BankEngine: the snapshotter's state, an
    update at a time."""

    def __init__(self, engine: BankEngine, channels: int) -> None:
        self.engine = engine
        manifest = engine.manifest
        self.update_size = manifest.update_size
        size = manifest.buffer_size - manifest.update_size
        self.state = np.zeros((channels, size), np.float32)

    def push(self, update: np.ndarray) -> np.ndarray:
        """The (batch_size, 2) responses to a (C, update_size) update."""
        buffer = np.concatenate([self.state, update], -1)
        self.state = buffer[:, self.update_size :]
        return self.engine.respond(buffer)


def local_engine(
    repository: ModelRepository, engine: str = "auto"
) -> InProcessEngine:
    """The in-process engine of a repository.

    Args:
        engine: auto (the bank backend for a template bank exported with
            its network, else the streaming path), stream or bank.

    Raises:
        RepositoryError: an unknown engine, or bank for a repository
            that holds no bank network.
    """
    if engine not in ENGINES:
        raise RepositoryError(
            f"engine {engine!r}: choose one of {', '.join(ENGINES)}"
        )
    version = str(repository.manifest.version)
    path = repository.path / "aframe" / version / NETWORK_FILE
    bank = None
    if engine != "stream" and path.is_file():
        bank = load_bank(path)
    if bank is not None:
        return BankEngine(repository, bank)
    if engine == "bank":
        raise RepositoryError(
            f"{repository.path} holds no template bank's network "
            f"({path}): the bank engine runs bank detectors exported by "
            "this aframe; use engine auto or stream"
        )
    return LocalEngine(repository)
