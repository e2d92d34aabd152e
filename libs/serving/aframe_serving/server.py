"""Start and stop a Triton server for one inference run.

Three kinds of server, by what ``server`` names:

- a directory: a Python environment holding the nvidia-pytriton wheel
  (``make triton-env`` builds ``.venv-triton``).  Its bundled
  ``tritonserver`` has only the python backend, which serves the python
  flavour of the repository on CPU;
- a ``.sif`` image: NVIDIA's Triton container, through ``apptainer exec
  --nv`` (GPU nodes; all backends);
- any other path: a ``tritonserver`` executable.

The server listens on free local ports; its log goes beside the outputs.
"""

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aframe_contracts.repository import ENSEMBLE
from aframe_serving.errors import ServerError

logger = logging.getLogger("aframe_serving")

DEFAULT_ENV = ".venv-triton"


def default_server() -> Path:
    """$AFRAME_TRITON_ENV, else the .venv-triton beside this venv."""
    if os.environ.get("AFRAME_TRITON_ENV"):
        return Path(os.environ["AFRAME_TRITON_ENV"])
    return Path(sys.prefix).with_name(DEFAULT_ENV)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class TritonServer:
    """A tritonserver process serving one model repository."""

    def __init__(
        self,
        repository: Path,
        server: Path | None = None,
        log: Path | None = None,
        startup_timeout: float = 120.0,
    ) -> None:
        self.repository = Path(repository).resolve()
        self.ensemble = ENSEMBLE
        self.server = Path(server) if server else default_server()
        self.log = log
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self.workspace: Path | None = None

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def pytriton_command(self) -> tuple[list[str], dict[str, str]]:
        """The pytriton wheel's server, with its python-backend stub."""
        python = self.server / "bin" / "python"
        if not python.exists():
            raise ServerError(
                f"{self.server} is not a Python environment: build the "
                "Triton server's with `make triton-env`, or set the Infer "
                "task's triton_server to a tritonserver binary or image"
            )
        probe = subprocess.run(
            [
                str(python),
                "-c",
                "import sys, sysconfig, pytriton; "
                "print(pytriton.__path__[0]); "
                "print(sysconfig.get_config_var('LIBDIR')); "
                "print(f'{sys.version_info[0]}.{sys.version_info[1]}')",
            ],
            capture_output=True,
            text=True,
        )
        if probe.returncode:
            raise ServerError(
                f"{python} cannot import pytriton: build the environment "
                f"with `make triton-env` ({probe.stderr.strip()[-300:]})"
            )
        package, libdir, version = probe.stdout.split()
        dist = Path(package) / "tritonserver"
        # the python backend loads its stub from the backend directory:
        # the stub built for the environment's Python goes there
        self.workspace = Path(tempfile.mkdtemp(prefix="aframe-triton-"))
        backend = self.workspace / "backends" / "python"
        shutil.copytree(dist / "backends" / "python", backend)
        shutil.copy(
            dist
            / "python_backend_stubs"
            / version
            / "triton_python_backend_stub",
            backend,
        )
        env = dict(os.environ)
        # the stub links libpython: the environment's own must come first
        # (ENVIRONMENT.md), then the libraries the wheel bundles
        libs = [libdir, str(Path(package).parent / "nvidia_pytriton.libs")]
        if env.get("LD_LIBRARY_PATH"):
            libs.append(env["LD_LIBRARY_PATH"])
        env["LD_LIBRARY_PATH"] = ":".join(libs)
        env["PATH"] = f"{self.server / 'bin'}:{env['PATH']}"
        command = [
            str(dist / "bin" / "tritonserver"),
            f"--backend-directory={self.workspace / 'backends'}",
        ]
        return command, env

    def command(self) -> tuple[list[str], dict[str, str]]:
        if self.server.is_dir():
            command, env = self.pytriton_command()
        elif self.server.suffix == ".sif":
            binds = f"{self.repository}:{self.repository}:ro"
            command = [
                "apptainer",
                "exec",
                "--nv",
                "--bind",
                binds,
                str(self.server),
                "tritonserver",
            ]
            env = dict(os.environ)
        elif self.server.exists():
            command, env = [str(self.server)], dict(os.environ)
        else:
            raise ServerError(
                f"no Triton server at {self.server}: build one with `make "
                "triton-env`, or name a tritonserver binary or an image"
            )
        self.http_port, self.grpc_port, self.metrics_port = free_ports(3)
        return command + [
            f"--model-repository={self.repository}",
            # only the ensemble and the models it names: the repository
            # also holds the export's logs and older versions
            "--model-control-mode=explicit",
            f"--load-model={self.ensemble}",
            f"--http-port={self.http_port}",
            f"--grpc-port={self.grpc_port}",
            f"--metrics-port={self.metrics_port}",
            "--allow-metrics=false",
            "--exit-timeout-secs=10",
        ], env

    def start(self) -> "TritonServer":
        import tritonclient.grpc as grpc

        command, env = self.command()
        output = open(self.log, "ab") if self.log else subprocess.DEVNULL
        logger.info("starting Triton: %s", " ".join(command))
        # its own session: the python-backend stubs it forks are in its
        # process group, so stop() can clean them up even after a crash
        self.process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        client = grpc.InferenceServerClient(self.url)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"Triton exited with code {self.process.returncode} "
                    f"while loading {self.repository}{self.log_tail()}"
                )
            try:
                if client.is_server_ready():
                    logger.info("Triton is ready at %s", self.url)
                    return self
            except Exception:  # not listening yet
                pass
            time.sleep(0.5)
        self.stop()
        raise ServerError(
            f"Triton was not ready after {self.startup_timeout:.0f} s"
            f"{self.log_tail()}"
        )

    def log_tail(self, lines: int = 20) -> str:
        if not self.log or not Path(self.log).exists():
            return ""
        text = Path(self.log).read_text(errors="replace").splitlines()
        return f"; the end of its log ({self.log}):\n" + "\n".join(
            text[-lines:]
        )

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            # a server that died leaves its stubs running: end them too
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process = None
        if self.workspace is not None:
            shutil.rmtree(self.workspace, ignore_errors=True)
            self.workspace = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> "TritonServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
