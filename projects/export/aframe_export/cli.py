"""The aframe-export command line.

aframe-export export --config export.yaml --config overrides.yaml
"""

from aframe_contracts.cli import run_cli
from aframe_export.export import ExportError, export


def main(args: list[str] | None = None) -> int:
    return run_cli("aframe-export", {"export": export}, ExportError, args)
