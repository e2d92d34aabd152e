"""The embedded inference engine: the exported model, run in process.

It streams strain through the repository's preprocessor and detector in
the updates a Triton snapshotter would receive: each request adds
``update_size`` = batch_size x stride samples to a buffer whose leading
``psd_length`` seconds whiten the rest.  Unlike upstream's zero-initialised
snapshot state, the first request already holds real data, so no output
is computed from a partly empty PSD window.
"""

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

logger = logging.getLogger("aframe_infer")


class RepositoryError(ValueError):
    """The model repository cannot analyse the data as asked."""


class LocalEngine:
    """The detector of a model repository, on this machine's CPU or GPU."""

    def __init__(self, repository: Path) -> None:
        manifest = Path(repository) / "manifest.json"
        if not manifest.exists():
            raise RepositoryError(f"{manifest} is missing: export first")
        self.manifest = json.loads(manifest.read_text())
        versions = self.manifest["versions"]
        repository = Path(repository)
        self.preprocessor = torch.jit.load(
            str(
                repository
                / "preprocessor"
                / str(versions["preprocessor"])
                / "model.pt"
            ),
            map_location="cpu",
        )
        detector = repository / "aframe" / str(versions["aframe"])
        if self.manifest["platform"] != "onnx":
            raise RepositoryError(
                f"the local engine runs ONNX detectors; {repository} holds a "
                f"{self.manifest['platform']} one: use the triton backend"
            )
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # as many threads as torch was given (OMP_NUM_THREADS)
        options.intra_op_num_threads = torch.get_num_threads()
        self.session = onnxruntime.InferenceSession(
            str(detector / "model.onnx"),
            options,
            providers=["CPUExecutionProvider"],
        )

    @property
    def stride(self) -> int:
        return self.manifest["stride"]

    def requests(self, strain: np.ndarray) -> Iterator[np.ndarray]:
        """The buffers of successive requests over (C, T) strain."""
        buffer = self.manifest["buffer_size"]
        update = self.manifest["update_size"]
        count = (strain.shape[-1] - buffer) // update + 1
        if count < 1:
            raise RepositoryError(
                f"{strain.shape[-1] / self.manifest['sample_rate']:.1f} s of "
                "strain is shorter than one request "
                f"({buffer / self.manifest['sample_rate']:.1f} s: psd_length "
                "+ kernel + fduration + the batch's span)"
            )
        for i in range(count):
            yield strain[:, i * update : i * update + buffer]

    def __call__(self, strain: np.ndarray) -> np.ndarray:
        """Detector outputs (N,), one per stride after the PSD window.

        The last request is completed with zeros, and the outputs whose
        whitening filter reaches into them are dropped.
        """
        m = self.manifest
        if strain.shape[0] != len(m["ifos"]):
            raise RepositoryError(
                f"{strain.shape[0]} strain channels for a model of "
                f"{len(m['ifos'])} ifos"
            )
        size = strain.shape[-1]
        missing = (-(size - m["buffer_size"])) % m["update_size"]
        if size >= m["buffer_size"] and missing:
            strain = np.pad(strain, ((0, 0), (0, missing)))
        rate = m["sample_rate"]
        # the last sample an output's window, with half a filter after
        # it, may use: outputs beyond it would see the zeros
        reach = (m["kernel_length"] + m["fduration"]) * rate
        valid = int((size - m["psd_length"] * rate - reach) // self.stride) + 1
        outputs = []
        with torch.no_grad():
            for buffer in self.requests(strain):
                kernels = self.preprocessor(torch.as_tensor(buffer).float())
                (scores,) = self.session.run(
                    None, {"whitened": kernels.numpy()}
                )
                outputs.append(scores[:, 0])
        return np.concatenate(outputs)[:valid]

    def output_times(self, count: int, t0: float) -> np.ndarray:
        """GPS time of the end of each output's whitened kernel."""
        m = self.manifest
        rate = m["sample_rate"]
        first = (
            m["psd_length"] * rate
            + (m["kernel_length"] + m["fduration"] / 2) * rate
        )
        return t0 + (first + np.arange(count) * self.stride) / rate
