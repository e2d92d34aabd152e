"""The model's streams for the online search, on either backend.

A sequence takes one update at a time and keeps the snapshotter's state
between them.  The local backend runs the repository's files in this
process (``aframe_serving.engine.LocalSequence``, or for a template bank
``aframe_serving.bank.BankSequence``); the triton backend sends
each update to a Triton server as one request of a sequence of the
aframe-stream ensemble, the server keeping the state, as offline.  Each
stretch of valid data is a new sequence: a new id, started from a zero
state.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from aframe_contracts.repository import Manifest
from aframe_serving.backends import Serving
from aframe_serving.bank import local_engine
from aframe_serving.engine import TritonEngine
from aframe_serving.errors import RepositoryError, ServerError
from aframe_serving.repository import ModelRepository


class LocalSequences:
    """Sequences in this process, of the local backend's engine."""

    def __init__(self, repository: ModelRepository, engine: str) -> None:
        self.engine = local_engine(repository, engine)

    def open(self):
        return self.engine.sequence(len(self.engine.manifest.ifos))

    def close(self) -> None:
        """Nothing to end: a local sequence holds only its state."""


class TritonSequence:
    """One sequence of the ensemble on a Triton server."""

    def __init__(self, client, manifest: Manifest, sequence_id: int):
        self.client = client
        self.manifest = manifest
        self.sequence_id = sequence_id
        self.started = False

    def push(self, update: np.ndarray) -> np.ndarray:
        result = self.send(update, start=not self.started, end=False)
        self.started = True
        return result.as_numpy("detection_statistic")

    def end(self) -> None:
        """Release the sequence's slot on the server (a zero update)."""
        if self.started:
            shape = (len(self.manifest.ifos), self.manifest.update_size)
            self.send(np.zeros(shape, np.float32), start=False, end=True)

    def send(self, update: np.ndarray, start: bool, end: bool):
        """One request of the sequence; its result."""
        import tritonclient.grpc as grpc
        from tritonclient.utils import InferenceServerException

        request = grpc.InferInput("update", list(update.shape), "FP32")
        request.set_data_from_numpy(update)
        try:
            return self.client.infer(
                self.manifest.ensemble,
                [request],
                sequence_id=self.sequence_id,
                sequence_start=start,
                sequence_end=end,
            )
        except InferenceServerException as error:
            raise ServerError(f"Triton: {error}") from error


class TritonSequences:
    """Sequences on a running Triton server that serves the repository."""

    def __init__(self, repository: ModelRepository, url: str) -> None:
        import tritonclient.grpc as grpc

        self.manifest = repository.manifest
        self.url = url
        self.client = grpc.InferenceServerClient(url)
        # the offline engine's check: the served model is this export
        TritonEngine(url, self.manifest).check(self.client)
        self.next_id = 1
        self.current: TritonSequence | None = None

    def open(self) -> TritonSequence:
        self.current = TritonSequence(self.client, self.manifest, self.next_id)
        self.next_id += 1
        return self.current

    def close(self) -> None:
        if self.current is not None:
            self.current.end()
            self.current = None


@contextmanager
def open_sequences(
    repository: ModelRepository, serving: Serving
) -> Iterator[LocalSequences | TritonSequences]:
    """The sequences of a backend, for the length of a search."""
    if serving.backend == "local":
        yield LocalSequences(repository, serving.local_engine)
        return
    if not serving.triton_url:
        raise RepositoryError(
            "the triton backend of the online search needs "
            "serving.triton_url: the gRPC address of a server that serves "
            "the repository"
        )
    sequences = TritonSequences(repository, serving.triton_url)
    try:
        yield sequences
    finally:
        sequences.client.close()
