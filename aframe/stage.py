"""The one bridge from a task to its stage CLI.

A task writes the parameters it owns into ``<workdir>/<subcommand>.yaml``
(JSON, which is YAML, so this module needs only the standard library), then
runs ``aframe-<stage> <subcommand> --config <user yaml>... --config <that
file>`` in the local environment or in the stage's Apptainer image.  The
stage's output is streamed to the log and to ``<workdir>/<subcommand>.log``;
a failure raises with the stage's last lines.

A stage never outlives the pipeline: on Linux each stage process, and the
luigi worker process that starts it, is sent SIGTERM when its parent
dies (``PR_SET_PDEATHSIG``), so ending ``law run`` ends every stage it
started; the stage CLIs turn SIGTERM into a clean exit (temporary files
removed, servers stopped).
"""

import collections
import ctypes
import json
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from aframe_contracts.files import write_atomic

logger = logging.getLogger("aframe.stage")


def _show_log() -> None:
    """Send stage logs to stdout, where luigi's own log goes.

    luigi configures only its own loggers, so without a handler the
    stages' lines would be lost from the terminal.
    """
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


# variables a container gets besides the AFRAME_* ones
FORWARDED = ("CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS")

# the container runtime (Singularity installs also provide this name)
APPTAINER = "apptainer"

# how many of a failed stage's last lines go into the error
TAIL_LINES = 40


class StageError(RuntimeError):
    """A stage CLI exited with a non-zero status."""


def executable(stage: str) -> str:
    """The stage's console script, from the environment running aframe.

    Taken from the directory of this Python so that run.sh works without an
    activated virtual environment.
    """
    local = Path(sys.executable).parent / f"aframe-{stage}"
    return str(local) if local.exists() else f"aframe-{stage}"


def command(
    stage: str,
    subcommand: str,
    configs: tuple[Path, ...],
    image: Path | None = None,
    nv: bool = False,
    binds: list[Path] | tuple[Path, ...] = (),
) -> list[str]:
    """The argument list that runs one stage subcommand.

    Args:
        stage: data, train, export, infer or plots.
        subcommand: the stage CLI's subcommand.
        configs: YAML files passed as ``--config``, later ones win.
        image: the stage's Apptainer image; None runs locally.
        nv: the stage uses GPUs: the container gets ``--nv``.
        binds: directories the container must see at the same path; the
            directories of ``configs`` are bound too.
    """
    args = [subcommand]
    for path in configs:
        args += ["--config", str(path)]
    if image is None:
        return [executable(stage), *args]
    if not image.exists():
        raise FileNotFoundError(
            f"the Apptainer image of the {stage} stage, {image}, does not "
            "exist: build it with aframe-build-containers or set "
            "container = local in the [pipeline] section"
        )
    if shutil.which(APPTAINER) is None:
        raise FileNotFoundError(
            f"container = apptainer, but there is no {APPTAINER} command "
            "on PATH: load or install Apptainer, or set container = local "
            "in the [pipeline] section"
        )
    container = [APPTAINER, "exec", "--cleanenv"]
    if nv:
        container.append("--nv")
    folders = [*binds, *(Path(c).absolute().parent for c in configs)]
    for path in dict.fromkeys(str(p) for p in folders):
        container += ["--bind", f"{path}:{path}"]
    return [*container, str(image), f"aframe-{stage}", *args]


def environment(gpus: str, threads: int | None = None) -> dict[str, str]:
    """The stage's environment: ours, with CUDA_VISIBLE_DEVICES from gpus.

    ``threads`` caps the CPU threads of torch and numpy (OMP_NUM_THREADS).

    ``--cleanenv`` keeps the host environment out of a container, so the
    variables a stage needs are forwarded with the APPTAINERENV_ prefix.
    """
    env = dict(os.environ)
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = gpus
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    for name in list(env):
        if name.startswith("AFRAME_") or name in FORWARDED:
            env[f"APPTAINERENV_{name}"] = env[name]
    return env


# prctl(2)'s option: the signal a process gets when its parent dies
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Have this process sent SIGTERM when its parent dies (Linux only;
    elsewhere a no-op)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def write_parameters(parameters: dict[str, Any], path: Path) -> None:
    """Write ``parameters`` as YAML (via JSON), atomically."""
    write_atomic(path, json.dumps(parameters, indent=2, default=str) + "\n")


def run(
    stage: str,
    subcommand: str,
    parameters: dict[str, Any],
    workdir: Path,
    configs: tuple[Path, ...] = (),
    image: Path | None = None,
    gpus: str = "",
    binds: list[Path] | tuple[Path, ...] = (),
    threads: int | None = None,
    nv: bool = False,
) -> None:
    """Run a stage subcommand, streaming its output; raise on failure.

    ``gpus`` becomes the stage's ``CUDA_VISIBLE_DEVICES`` (empty leaves it
    as it is); ``image``, ``nv`` and ``binds`` are as for ``command``.
    """
    overrides = workdir / f"{subcommand}.yaml"
    write_parameters(parameters, overrides)
    args = command(stage, subcommand, (*configs, overrides), image, nv, binds)
    _show_log()
    prefix = f"[aframe-{stage} {subcommand} {workdir.name}]"
    logger.info("%s running %s", prefix, shlex.join(args))
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    log_file = workdir / f"{subcommand}.log"
    # a luigi worker process dies with law's main process; the stage
    # with whichever runs it
    die_with_parent()
    with (
        log_file.open("w") as log,
        subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environment(gpus, threads),
            text=True,
            bufsize=1,
            preexec_fn=die_with_parent,
        ) as process,
    ):
        for line in process.stdout:
            log.write(line)
            tail.append(line.rstrip("\n"))
            logger.info("%s %s", prefix, line.rstrip("\n"))
        returncode = process.wait()
    if returncode != 0:
        last = "\n".join(tail)
        raise StageError(
            f"aframe-{stage} {subcommand} exited with status {returncode} "
            f"(full log: {log_file}); its last lines:\n{last}"
        )
