"""The aframe-plots command line."""

import sys


def main(args: list[str] | None = None) -> int:
    print(
        "aframe-plots: this stage is not implemented yet",
        file=sys.stderr,
    )
    return 2
