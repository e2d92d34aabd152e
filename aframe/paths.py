"""Where things live: the shipped configs and the experiment's data roots.

The data roots come from the ``AFRAME_*`` environment variables that
``aframe-init`` writes into ``run.sh``.  They are read when a task needs a
path, never at import, and an unset or empty variable is an error that names
it (upstream silently wrote everything into the working directory).
"""

import hashlib
import os
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_DIR / "configs"

# the experiment's data roots: name used in code -> environment variable
ROOTS = {
    "train_data": "AFRAME_TRAIN_DATA_DIR",
    "test_data": "AFRAME_TEST_DATA_DIR",
    "train_run": "AFRAME_TRAIN_RUN_DIR",
    "condor": "AFRAME_CONDOR_DIR",
    "results": "AFRAME_RESULTS_DIR",
    "tmp": "AFRAME_TMPDIR",
}

# where each root lives inside an experiment directory made by aframe-init
ROOT_LAYOUT = {
    "train_data": "data/train",
    "test_data": "data/test",
    "train_run": "training",
    "condor": "condor",
    "results": "results",
    "tmp": "tmp",
}


class MissingRootError(RuntimeError):
    """An ``AFRAME_*`` data root is unset or empty."""


def root(name: str) -> Path:
    """The absolute path of the data root ``name`` (a key of ``ROOTS``).

    Raises:
        MissingRootError: the root's environment variable is unset or empty.
    """
    variable = ROOTS[name]
    value = os.environ.get(variable, "").strip()
    if not value:
        raise MissingRootError(
            f"the environment variable {variable} is not set: it names the "
            f"{name.replace('_', ' ')} directory of the experiment. Run the "
            "pipeline through the run.sh that aframe-init writes, or export "
            f"{variable} yourself"
        )
    return Path(value).expanduser().resolve()


def sha256(path: Path) -> str:
    """The sha256 of a file, e.g. of the weights a model repository holds."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write a file so that a reader sees all of it or none of it.

    The data go to a hidden file beside ``path`` that then replaces it: an
    interrupted write leaves no half file behind, and ``path`` exists only
    once it is complete, which is what marks a task done.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if isinstance(data, str):
            tmp.write_text(data)
        else:
            tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
