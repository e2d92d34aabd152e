"""The aframe-plots command line.

    aframe-plots report --background background.hdf5 \\
        --foreground foreground.hdf5 --output_dir plots

Each subcommand is a typed function; ``--help`` lists its arguments.
Bad input exits with status 2 and ``aframe-plots: error: ...``.
"""

from collections.abc import Sequence
from pathlib import Path

from aframe.stage_cli import run_cli
from aframe_plots.errors import PlotsError
from aframe_plots.report import MASS_COMBOS, make_report


def report(
    background: Path,
    foreground: Path,
    output_dir: Path,
    mass_combos: Sequence[Sequence[float]] = MASS_COMBOS,
    sigma: float = 0.1,
    config_files: Sequence[Path] = (),
    title: str = "aframe search",
) -> None:
    """Write the sensitive volume, its figures and the HTML report.

    Outputs in ``output_dir``: ``sensitive_volume.h5``, ``far.png``,
    ``sensitive_volume.png``, ``efficiency.png`` and, last,
    ``report.html``.

    Args:
        background: HDF5 of the time-slid background events:
            detection_statistic, detection_time (GPS s), shift (s) and
            attribute Tb (s).
        foreground: HDF5 of the injection draws (aframe_data
            write_tables): parameters/ (analysed, with
            detection_statistic), rejected/, attributes prior, num_draws,
            snr_threshold, ifos.
        output_dir: where the outputs go.
        mass_combos: source-frame [m1, m2] (solar masses) of log-normal
            target populations, m2 <= m1.
        sigma: the populations' width in ln m.
        config_files: text files shown verbatim in the report.
        title: the report's title.
    """
    make_report(
        background,
        foreground,
        output_dir,
        mass_combos,
        sigma,
        config_files,
        title,
    )


COMMANDS = {"report": report}


def main(args: list[str] | None = None) -> int:
    return run_cli("aframe-plots", COMMANDS, PlotsError, args)
