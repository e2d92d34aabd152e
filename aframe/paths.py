"""Where things live: the shipped configs, the experiment's cfg and its
data roots.

The data roots come from the ``AFRAME_*`` environment variables that
``aframe-init`` writes into ``run.sh``.  They are read when a task needs a
path, never at import, and an unset or empty variable is an error that names
it (upstream silently wrote everything into the working directory).
"""

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


def config_file() -> Path | None:
    """The law cfg this process was started with, if any."""
    # law only when asked: aframe-init imports this module, and starts
    # faster without it
    import law

    name = law.config.Config.instance().config_file
    return Path(name) if name else None
