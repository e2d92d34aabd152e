"""The aframe-plots command line.

    aframe-plots report --background background.hdf5 \\
        --foreground foreground.hdf5 --output_dir plots
    aframe-plots p-astro --background background.hdf5 \\
        --foreground foreground.hdf5 --output p_astro.hdf5

Each subcommand is a typed function; ``--help`` lists its arguments.
Bad input exits with status 2 and ``aframe-plots: error: ...``.
"""

from aframe_contracts.cli import run_cli
from aframe_plots.errors import PlotsError
from aframe_plots.pastro import fit_p_astro
from aframe_plots.report import make_report

COMMANDS = {"report": make_report, "p-astro": fit_p_astro}


def main(args: list[str] | None = None) -> int:
    return run_cli("aframe-plots", COMMANDS, PlotsError, args)
