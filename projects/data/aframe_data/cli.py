"""The aframe-data command line."""

import sys


def main(args: list[str] | None = None) -> int:
    print(
        "aframe-data: this stage is not implemented yet",
        file=sys.stderr,
    )
    return 2
