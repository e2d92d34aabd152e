"""The aframe-export command line.

aframe-export export --config export.yaml --config overrides.yaml
"""

import logging
import sys

from jsonargparse import CLI

from aframe_export.export import ExportError, export


def main(args: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stdout,
    )
    try:
        CLI({"export": export}, args=args, as_positional=False)
    except ExportError as error:
        print(f"aframe-export: error: {error}", file=sys.stderr)
        return 2
    return 0
