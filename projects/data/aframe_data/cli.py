"""The aframe-data command line: one subcommand per data product.

    aframe-data segments --config segments.yaml
    aframe-data background --config background.yaml

Each subcommand is a typed function; ``--help`` lists its arguments.
"""

import logging
import sys
from pathlib import Path
from typing import Literal

from jsonargparse import CLI

from aframe.segments import write_segments
from aframe_data import strain
from aframe_data.errors import DataError
from aframe_data.io import write_background
from aframe_data.segments import find_segments

Source = Literal["simulated", "gwosc", "files"]


def segments(
    source: Source,
    ifos: list[str],
    start: float,
    stop: float,
    output: Path,
    min_duration: float = 0,
    flag: str = "DATA",
    strain_files: list[str] | None = None,
    channel: str = "GWOSC-4KHZ_R1_STRAIN",
) -> None:
    """Write the segments where every ifo has data, as segwizard text.

    Args:
        source: simulated, gwosc or files.
        ifos: the interferometers.
        start: GPS start of the span (s).
        stop: GPS end of the span (s).
        output: the segwizard file to write.
        min_duration: shorter segments are dropped (s).
        flag: gwosc: the open-data flag, {ifo}_{flag}.
        strain_files: files: the strain files or glob patterns.
        channel: files: the channel of GWF files, without the ifo prefix.
    """
    found = find_segments(
        source, ifos, start, stop, min_duration, flag, strain_files, channel
    )
    write_segments(found, output)


def background(
    source: Source,
    ifos: list[str],
    start: float,
    duration: float,
    sample_rate: float,
    output: Path,
    seed: int = 0,
    noise_psd: str = "aLIGO_O4_high",
    strain_files: list[str] | None = None,
    channel: str = "GWOSC-4KHZ_R1_STRAIN",
) -> None:
    """Write the background strain of one chunk as HDF5.

    Args:
        source: simulated, gwosc or files.
        ifos: the interferometers, in the order of the datasets.
        start: GPS start of the chunk (s).
        duration: length of the chunk (s).
        sample_rate: sample rate of the output (Hz).
        output: the HDF5 file to write.
        seed: simulated: the seed, combined with start and the ifo.
        noise_psd: simulated: a bilby PSD curve name or a PSD file.
        strain_files: files: the strain files or glob patterns.
        channel: files: the channel of GWF files, without the ifo prefix.
    """
    if source == "simulated":
        data = strain.simulated(
            ifos, start, duration, sample_rate, noise_psd, seed
        )
    elif source == "gwosc":
        data = strain.gwosc(ifos, start, duration, sample_rate)
    else:
        data = strain.files(
            strain_files or [], ifos, start, duration, sample_rate, channel
        )
    write_background(output, data, ifos, start, sample_rate)


COMMANDS = [segments, background]


def main(args: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stdout,
    )
    try:
        CLI(COMMANDS, args=args, as_positional=False)
    except DataError as error:
        print(f"aframe-data: error: {error}", file=sys.stderr)
        return 2
    return 0
