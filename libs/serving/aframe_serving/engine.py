"""The engines that stream strain through an exported model repository.

Each takes the update arrays of several streams (stream.Geometry.updates)
and returns each stream's detector responses, (R, batch_size):

- ``LocalEngine`` runs the repository's own files in process: the
  snapshotter and detector ONNX graphs through onnxruntime, the whitener's
  TorchScript through torch.
- ``aframe_serving.bank.BankEngine``, for a template bank, runs the same
  whitening and network in process, the bank's filtering done once over
  each update's whitened span at FFT cost instead of per window.
- ``TritonEngine`` sends every stream as a sequence of the aframe-stream
  ensemble to a Triton server over gRPC.

The files and the sequence semantics are the same, so they return the
same numbers (to float rounding).  ``local_engine`` picks the in-process
one.
"""

import logging
import queue
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from aframe_contracts.repository import Manifest
from aframe_serving.errors import RepositoryError, ServerError
from aframe_serving.repository import ModelRepository

logger = logging.getLogger("aframe_serving")


class InProcessEngine:
    """An engine whose streams run in this process, an update at a time,
    as sequences (``sequence``: an object whose ``push`` takes a
    (C, update_size) update and returns its (batch_size, W) responses,
    W the manifest's ``output_width``)."""

    def infer(self, streams: Sequence[np.ndarray]) -> list[np.ndarray]:
        """(R, batch_size, W) responses of each stream's (R, C, u)
        updates."""
        results = []
        for updates in streams:
            sequence = self.sequence(updates.shape[1])
            results.append(np.stack([sequence.push(u) for u in updates]))
        return results

    def sequence(self, channels: int):
        raise NotImplementedError


def cpu_session(path: Path):
    """An onnxruntime session of the ONNX graph at ``path`` on the CPU,
    as the local engine runs its graphs."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    # as many threads as torch was given (OMP_NUM_THREADS)
    options.intra_op_num_threads = torch.get_num_threads()
    # idle onnxruntime threads spin by default, and took the CPU from
    # the whitener that runs between the ONNX graphs (2x slower)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(
        str(path), options, providers=["CPUExecutionProvider"]
    )


class LocalEngine(InProcessEngine):
    """The repository's models on this machine's CPU.

    GPU nodes serve the repository with Triton (the triton backend): the
    whitener is traced on the CPU, so it is not moved to a GPU here.
    """

    def __init__(self, repository: ModelRepository) -> None:
        self.manifest = repository.manifest
        if self.manifest.platform != "onnx":
            raise RepositoryError(
                f"the local engine runs ONNX detectors; {repository.path} "
                f"holds a {self.manifest.platform} one: use the triton "
                "backend"
            )
        version = str(self.manifest.version)

        def session(model: str):
            return cpu_session(
                repository.path / model / version / "model.onnx"
            )

        self.snapshotter = session("snapshotter")
        self.detector = session("aframe")
        self.preprocessor = torch.jit.load(
            str(repository.path / "preprocessor" / version / "model.pt"),
            map_location="cpu",
        )

    def sequence(self, channels: int) -> "LocalSequence":
        """A new stream of ``channels`` channels, from a zero state."""
        return LocalSequence(self, channels)


class LocalSequence:
    """One stream through a LocalEngine, an update at a time: the
    snapshotter's state is carried from one update to the next, as a
    Triton sequence carries it."""

    def __init__(self, engine: LocalEngine, channels: int) -> None:
        self.engine = engine
        manifest = engine.manifest
        size = manifest.buffer_size - manifest.update_size
        self.state = np.zeros((channels, size), np.float32)

    def push(self, update: np.ndarray) -> np.ndarray:
        """The (batch_size, W) responses to a (C, update_size) update."""
        engine = self.engine
        with torch.no_grad():
            snapshot, self.state = engine.snapshotter.run(
                None, {"update": update, "state": self.state}
            )
            kernels = engine.preprocessor(torch.from_numpy(snapshot))
            (scores,) = engine.detector.run(
                None, {"whitened": kernels.numpy()}
            )
        return scores


class TritonEngine:
    """The aframe-stream ensemble of a Triton server, over gRPC.

    Every stream is one sequence; the streams' requests are interleaved
    on one gRPC stream with at most ``in_flight`` unanswered, so the
    snapshotter, the whitener and the detector work concurrently.
    """

    def __init__(
        self,
        url: str,
        manifest: Manifest,
        first_sequence_id: int = 1,
        in_flight: int = 16,
        timeout: float = 120.0,
    ) -> None:
        self.url = url
        self.manifest = manifest
        self.model = manifest.ensemble
        self.first_sequence_id = first_sequence_id
        self.in_flight = in_flight
        self.timeout = timeout

    def check(self, client) -> None:
        """Refuse a served model whose input is not this stream's."""
        if not client.is_model_ready(self.model):
            raise RepositoryError(
                f"the server at {self.url} has no ready {self.model!r} model"
            )
        metadata = client.get_model_metadata(self.model, as_json=True)
        (served,) = metadata["inputs"]
        expected = [len(self.manifest.ifos), self.manifest.update_size]
        if [int(d) for d in served["shape"]] != expected:
            raise RepositoryError(
                f"the server's {self.model} takes updates of shape "
                f"{served['shape']}, the repository's manifest "
                f"{expected}: it serves another export"
            )

    def infer(self, streams: Sequence[np.ndarray]) -> list[np.ndarray]:
        import tritonclient.grpc as grpc
        from tritonclient.utils import InferenceServerException

        answers: queue.Queue = queue.Queue()
        client = grpc.InferenceServerClient(self.url)
        try:
            self.check(client)
            client.start_stream(
                callback=lambda result, error: answers.put((result, error))
            )
        except InferenceServerException as e:
            client.close()
            raise ServerError(f"Triton at {self.url}: {e}") from e
        except RepositoryError:
            client.close()
            raise
        shape = (self.manifest.batch_size, self.manifest.output_width)
        responses = [np.zeros((len(u),) + shape, np.float32) for u in streams]
        order = [
            (s, i)
            for i in range(max(len(u) for u in streams))
            for s, u in enumerate(streams)
            if i < len(u)
        ]
        pending = 0

        def collect() -> None:
            try:
                result, error = answers.get(timeout=self.timeout)
            except queue.Empty as e:
                raise ServerError(
                    f"Triton at {self.url} did not answer in "
                    f"{self.timeout:.0f} s"
                ) from e
            if error is not None:
                raise ServerError(f"Triton at {self.url}: {error}")
            s, i = map(int, result.get_response().id.split("-"))
            responses[s][i] = result.as_numpy("detection_statistic")

        try:
            for s, i in order:
                if pending >= self.in_flight:
                    collect()
                    pending -= 1
                update = grpc.InferInput(
                    "update", list(streams[s][i].shape), "FP32"
                )
                update.set_data_from_numpy(streams[s][i])
                client.async_stream_infer(
                    self.model,
                    [update],
                    request_id=f"{s}-{i}",
                    sequence_id=self.first_sequence_id + s,
                    sequence_start=i == 0,
                    sequence_end=i == len(streams[s]) - 1,
                )
                pending += 1
            while pending:
                collect()
                pending -= 1
        except InferenceServerException as e:
            # a server that dies mid-run may show it here, at the next
            # request, rather than in an answer's error: retryable alike
            raise ServerError(f"Triton at {self.url}: {e}") from e
        finally:
            client.stop_stream(cancel_requests=True)
            client.close()
        return responses


def with_retries(call, attempts: int, backoff: float, restart=None):
    """call(); on a ServerError retry with exponential backoff.

    ``restart`` (a server this process started) runs before each retry.
    """
    for attempt in range(attempts):
        try:
            return call()
        except ServerError as e:
            if attempt == attempts - 1:
                raise ServerError(
                    f"{e} (gave up after {attempts} attempts)"
                ) from e
            wait = backoff * 2**attempt
            logger.warning("%s: retrying in %.0f s", e, wait)
            time.sleep(wait)
            if restart is not None:
                restart()
