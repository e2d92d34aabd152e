"""The aframe-online command line.

aframe-online search --config online.yaml   # until stopped
aframe-online replay --strain-files X.hdf5 --frame-dir 'frames/{ifo}'
"""

from aframe_contracts.cli import run_cli
from aframe_online.replay import replay
from aframe_online.search import search
from aframe_serving.errors import RepositoryError, ServerError


def main(args: list[str] | None = None) -> int:
    return run_cli(
        "aframe-online",
        {"search": search, "replay": replay},
        (RepositoryError, ServerError),
        args,
    )
