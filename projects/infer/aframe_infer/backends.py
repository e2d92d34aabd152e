"""The backend a run streams through: the exported files in process, or a
Triton server (started for the run unless one is named)."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from aframe_contracts.files import make_directory
from aframe_contracts.repository import Manifest
from aframe_infer.engine import (
    LocalEngine,
    RepositoryError,
    TritonEngine,
    with_retries,
)
from aframe_infer.server import TritonServer
from aframe_infer.stream import Geometry


@contextmanager
def streamer(
    repository: Path,
    backend: str,
    triton_url: str,
    triton_server: str,
    log_dir: Path,
    first_sequence_id: int,
    attempts: int = 3,
    backoff: float = 2.0,
) -> Iterator[Callable[[list[np.ndarray]], list[np.ndarray]]]:
    """A function from (C, T) strains to their outputs.

    The triton backend starts a server for the run unless ``triton_url``
    names one; a server that fails is retried with exponential backoff
    (and restarted when we started it) before a clear error.
    """
    manifest = Manifest.read(repository)
    manifest.verify(repository)
    geometry = Geometry.from_manifest(manifest)
    server = None
    if backend == "local":
        infer = LocalEngine(repository).infer
    elif backend == "triton":
        if not triton_url:
            make_directory(log_dir)
            server = TritonServer(
                repository, triton_server or None, log_dir / "triton.log"
            )
            if server.server.is_dir() and manifest.serving != "python":
                raise RepositoryError(
                    f"{repository} was exported for NVIDIA's Triton "
                    f"(serving: {manifest.serving}); the server in "
                    f"{server.server} has only the python backend: set "
                    "triton_server to a Triton image or binary, or export "
                    "with serving: python"
                )
            with_retries(server.start, attempts, backoff, server.stop)
            triton_url = server.url
        engine = TritonEngine(triton_url, manifest, first_sequence_id)
        restart = None
        if server is not None:

            def restart():
                server.restart()
                engine.url = server.url

        def infer(streams):
            return with_retries(
                lambda: engine.infer(streams), attempts, backoff, restart
            )
    else:
        raise RepositoryError(
            f"backend {backend!r}: choose 'local' or 'triton'"
        )

    def run(strains: list[np.ndarray]) -> list[np.ndarray]:
        responses = infer([geometry.updates(x) for x in strains])
        return [
            geometry.outputs(r, x.shape[-1])
            for r, x in zip(responses, strains, strict=True)
        ]

    try:
        yield run
    finally:
        if server is not None:
            server.stop()
