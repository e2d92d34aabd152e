"""The aframe-train command line."""

import sys


def main(args: list[str] | None = None) -> int:
    print(
        "aframe-train: this stage is not implemented yet",
        file=sys.stderr,
    )
    return 2
