"""The aframe-export command line."""

import sys


def main(args: list[str] | None = None) -> int:
    print(
        "aframe-export: this stage is not implemented yet",
        file=sys.stderr,
    )
    return 2
