"""The backend a run streams through: the exported files in process, or a
Triton server (started for the run unless one is named).

``Serving`` is how a repository is served, one settings group for every
command that serves one: on their command lines ``--serving.backend
triton --serving.triton_url host:8001``, in their YAMLs a ``serving:``
mapping, and from the pipeline the ``[pipeline]`` keys ``backend``,
``triton_url``, ``triton_server`` and ``local_engine``.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from aframe_contracts.files import make_directory
from aframe_serving.bank import ENGINES, local_engine
from aframe_serving.engine import TritonEngine, with_retries
from aframe_serving.errors import RepositoryError
from aframe_serving.repository import ModelRepository
from aframe_serving.server import TritonServer

BACKENDS = ("local", "triton")


@dataclass(frozen=True)
class Serving:
    """How the model repository is served.

    Args:
        backend: local (the exported files in this process) or triton.
        triton_url: gRPC address (host:port) of a running Triton server
            that serves the repository; empty: a server is started for
            the run (the online search needs one running).
        triton_server: the server to start: the nvidia-pytriton
            environment (default: .venv-triton beside this venv), a
            tritonserver binary, or an Apptainer image of NVIDIA's Triton.
        local_engine: what the local backend runs: auto (a template
            bank's filtering at FFT cost, ``aframe_serving.bank``, for a
            bank; the exported files otherwise), stream (the exported
            files, whatever the network) or bank.
    """

    backend: Literal["local", "triton"] = "local"
    triton_url: str = ""
    triton_server: str = ""
    local_engine: Literal["auto", "stream", "bank"] = "auto"

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise RepositoryError(
                f"backend {self.backend!r}: choose 'local' or 'triton'"
            )
        if self.local_engine not in ENGINES:
            raise RepositoryError(
                f"local_engine {self.local_engine!r}: choose one of "
                f"{', '.join(ENGINES)}"
            )


@contextmanager
def streamer(
    repository: ModelRepository,
    serving: Serving,
    log_dir: Path,
    first_sequence_id: int,
    attempts: int = 3,
    backoff: float = 2.0,
) -> Iterator[Callable[[list[np.ndarray]], list[np.ndarray]]]:
    """A function from (C, T) strains to their outputs.

    The triton backend starts a server for the run unless
    ``serving.triton_url`` names one; a server that fails is retried with
    exponential backoff (and restarted when we started it) before a clear
    error.  A started server logs to ``log_dir``/triton.log.
    """
    manifest, geometry = repository.manifest, repository.geometry
    server = None
    if serving.backend == "local":
        infer = local_engine(repository, serving.local_engine).infer
    else:
        url = serving.triton_url
        if not url:
            make_directory(log_dir)
            server = TritonServer(
                repository.path,
                serving.triton_server or None,
                log_dir / "triton.log",
            )
            if server.server.is_dir() and manifest.serving != "python":
                raise RepositoryError(
                    f"{repository.path} was exported for NVIDIA's Triton "
                    f"(serving: {manifest.serving}); the server in "
                    f"{server.server} has only the python backend: set "
                    "triton_server to a Triton image or binary, or export "
                    "with serving: python"
                )
            with_retries(server.start, attempts, backoff, server.stop)
            url = server.url
        engine = TritonEngine(url, manifest, first_sequence_id)
        restart = None
        if server is not None:

            def restart():
                server.restart()
                engine.url = server.url

        def infer(streams):
            return with_retries(
                lambda: engine.infer(streams), attempts, backoff, restart
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
