"""The aframe-data command line: one subcommand per data product.

The signal subcommands import torch and bilby inside their bodies, so the
strain subcommands start in a second rather than ten.

    aframe-data segments --config segments.yaml
    aframe-data background --config background.yaml

Each subcommand is a typed function; ``--help`` lists its arguments.
"""

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from aframe_contracts.cli import run_cli
from aframe_contracts.detectors import check_ifos, check_shifts
from aframe_contracts.errors import (
    DataError,
    check_not_negative,
    check_positive,
)
from aframe_contracts.files import check_output, check_outputs
from aframe_contracts.segments import write_segments
from aframe_contracts.strain import BackgroundStrain
from aframe_contracts.strain_files import expand
from aframe_contracts.waveforms import WaveformSet
from aframe_data import strain
from aframe_data.segments import find_segments
from aframe_data.signals import Signals
from aframe_signal.glitches import GlitchModel, glitchy, read_glitch_table

Source = Literal["simulated", "gwosc", "files"]
logger = logging.getLogger("aframe_data")


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
    force: bool = False,
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
        force: replace an existing output.
    """
    check_ifos(ifos)
    check_not_negative(min_duration=min_duration)
    check_output(output, [], force)
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
    glitches: GlitchModel | None = None,
    glitch_table: Path | None = None,
    force: bool = False,
) -> None:
    """Write the background strain of one chunk as HDF5.

    With ``glitches``, gengli's blips are added to the strain as the
    model draws them; with ``glitch_table``, the table's glitches inside
    the chunk are recorded (the strain, real, already holds them).
    Either way the file records its glitches (``GlitchTable``).

    Args:
        source: simulated, gwosc or files.
        ifos: the interferometers, in the order of the datasets.
        start: GPS start of the chunk (s).
        duration: length of the chunk (s).
        sample_rate: sample rate of the output (Hz).
        output: the HDF5 file to write.
        seed: simulated: the seed, combined with start and the ifo.
        noise_psd: simulated: one or more PSDs, separated by spaces:
            bilby curve names, PSD files or globs of them, ``{ifo}`` for
            the ifo; each ifo draws one (``psd.psd_choices``).
        strain_files: files: the strain files or glob patterns.
        channel: files: the channel of GWF files, without the ifo prefix.
        glitches: the glitches to add; None: none.
        glitch_table: a table of the real glitches of the strain.
        force: replace an existing output (never a strain file read).
    """
    check_ifos(ifos)
    check_positive(duration=duration, sample_rate=sample_rate)
    check_output(output, expand(strain_files or []), force)
    if glitches is not None and glitch_table is not None:
        raise DataError(
            "glitches and glitch_table: add gengli's glitches or record a "
            "table's real ones, not both"
        )
    if glitches is not None:
        glitches.check(ifos)
    table = None
    if glitch_table is not None:
        table = read_glitch_table(glitch_table, ifos)
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
    chunk = {ifo: data[ifo] for ifo in ifos}
    if glitches is not None:
        chunk, table = glitchy(chunk, start, sample_rate, glitches, seed)
        logger.info(
            "added %d glitches (%s)",
            len(table),
            table.describe(ifos),
        )
    elif table is not None:
        table = table.between(start, start + duration)
    BackgroundStrain(chunk, start, sample_rate, table).write(output)


def training_waveforms(
    signals: Signals,
    num_signals: int,
    seed: int,
    output: Path,
    branch: int = 0,
    force: bool = False,
) -> None:
    """Write polarisations of prior draws, for injection in training.

    Args:
        signals: the prior and the waveform model.
        num_signals: how many waveforms.
        seed: the config seed.
        output: the HDF5 file: parameters/*, waveforms/{cross,plus}.
        branch: which of the files this is, combined with the seed.
        force: replace an existing output.
    """
    from aframe_priors import priors

    check_positive(num_signals=num_signals)
    check_output(output, [], force)
    stream = priors.stream_seed(seed, priors.TRAINING, branch)
    parameters = priors.sample(signals.prior, num_signals, stream)
    cross, plus = signals.polarisations(parameters)
    WaveformSet(
        signals.attrs(), parameters, {"cross": cross, "plus": plus}
    ).write(output)


def validation_waveforms(
    signals: Signals,
    background_files: list[Path],
    ifos: list[str],
    num_signals: int,
    snr_threshold: float,
    highpass: float,
    seed: int,
    output: Path,
    lowpass: float | None = None,
    force: bool = False,
) -> None:
    """Write projected signals above an SNR threshold, for validation.

    The SNRs are against the PSD of the training background.  Sky
    positions are stored as the Earth-fixed azimuth ``phi`` (validation
    signals have no time).

    Args:
        signals: the prior and the waveform model.
        background_files: the training background files.
        ifos: the interferometers, in the order of the responses.
        num_signals: how many signals to keep.
        snr_threshold: the lowest network SNR kept.
        highpass: the SNR band's lower edge (Hz).
        seed: the seed of the draws.
        output: the HDF5 file: parameters/*, waveforms/<ifo>.
        lowpass: the SNR band's upper edge (Hz); None for Nyquist.
        force: replace an existing output (never a background file).
    """
    from aframe_data.injections import background_psd, rejection_sample
    from aframe_priors import priors

    check_ifos(ifos)
    check_positive(num_signals=num_signals)
    check_output(output, background_files, force)
    psd, rate = background_psd(background_files, ifos, signals.duration)
    if rate != signals.sample_rate:
        raise DataError(
            f"the background is sampled at {rate} Hz, the signals at "
            f"{signals.sample_rate} Hz"
        )
    stream = priors.stream_seed(seed, priors.VALIDATION)
    draws, responses = rejection_sample(
        signals,
        num_signals,
        ifos,
        psd,
        snr_threshold,
        highpass,
        lowpass,
        stream,
    )
    WaveformSet(
        {
            **signals.attrs(),
            "ifos": ifos,
            "snr_threshold": snr_threshold,
            "num_draws": num_signals + len(draws.rejected["snr"]),
        },
        draws.accepted,
        {ifo: responses[:, i] for i, ifo in enumerate(ifos)},
    ).write(output)


@dataclass
class TimeslideInjections:
    """The injections of one timeslide of a test chunk.

    Args:
        index: the timeslide's index k, which seeds its draws.
        shifts: the shift of each ifo (s).
        num_injections: how many (fewer if they do not fit).
        output: the HDF5 file: parameters/*, waveforms/<ifo>, rejected/*.
    """

    index: int
    shifts: list[float]
    num_injections: int
    output: Path

    def check(self, ifos: list[str]) -> None:
        """Refuse shifts that are not one per ifo and >= 0, or a negative
        count."""
        check_shifts(self.shifts, ifos, f"timeslide {self.index}: ")
        check_not_negative(num_injections=self.num_injections)


def testing_waveforms(
    signals: Signals,
    background_file: Path,
    ifos: list[str],
    timeslides: list[TimeslideInjections],
    spacing: float,
    buffer: float,
    psd_length: float,
    snr_threshold: float,
    highpass: float,
    seed: int,
    lowpass: float | None = None,
    force: bool = False,
) -> None:
    """Write the injections of each timeslide of one test chunk.

    Injection times lie where inference analyses the shifted chunk: after
    its PSD window and before the largest shift cuts it short, ``buffer``
    from either end.  Every draw is written, accepted (with its responses)
    and rejected, each with the time and right ascension it was drawn for.
    SNRs are against the chunk's PSD.

    Args:
        signals: the prior and the waveform model.
        background_file: the chunk's background strain.
        ifos: the interferometers, in the order of the responses.
        timeslides: the timeslides to write.
        spacing: the shortest time between injections (s).
        buffer: injection-free time at both ends (s).
        psd_length: the inference PSD window at the start of the chunk (s).
        snr_threshold: the lowest network SNR injected.
        highpass: the SNR band's lower edge (Hz).
        seed: the config seed, combined with the chunk and timeslide.
        lowpass: the SNR band's upper edge (Hz); None for Nyquist.
        force: replace existing outputs (never the background file).
    """
    from aframe_data.injections import Band, timeslide_injections
    from aframe_priors import priors
    from aframe_signal.psd import welch_psd

    check_ifos(ifos)
    check_positive(spacing=spacing)
    check_not_negative(buffer=buffer, psd_length=psd_length)
    for timeslide in timeslides:
        timeslide.check(ifos)
    check_outputs([t.output for t in timeslides], [background_file], force)
    chunk = BackgroundStrain.read(background_file, ifos)
    duration = chunk.size / chunk.sample_rate
    psd = welch_psd(chunk.strain, ifos, chunk.sample_rate, signals.duration)
    band = Band(snr_threshold, highpass, lowpass)
    for timeslide in timeslides:
        if len(timeslide.shifts) != len(ifos):
            raise DataError(
                f"timeslide {timeslide.index}: {len(timeslide.shifts)} "
                f"shifts for {len(ifos)} ifos"
            )
        stream = priors.stream_seed(
            seed, priors.TESTING, round(chunk.t0), timeslide.index
        )
        # where inference analyses the shifted chunk: after its PSD
        # window, before the largest shift cuts it short
        start = chunk.t0 + psd_length + buffer
        stop = chunk.t0 + duration - max(timeslide.shifts) - buffer
        injections = timeslide_injections(
            signals,
            psd,
            ifos,
            band,
            (start, stop),
            timeslide.num_injections,
            spacing,
            stream,
        )
        logger.info(
            "timeslide %d (shifts %s s): %d injections",
            timeslide.index,
            timeslide.shifts,
            len(injections.parameters.get("snr", ())),
        )
        attrs = {
            "shifts": timeslide.shifts,
            "t0": chunk.t0,
            "chunk_duration": duration,
        }
        replace(injections, attrs={**injections.attrs, **attrs}).write(
            timeslide.output
        )


COMMANDS = [
    segments,
    background,
    training_waveforms,
    validation_waveforms,
    testing_waveforms,
]


def main(args: list[str] | None = None) -> int:
    return run_cli("aframe-data", COMMANDS, DataError, args)
