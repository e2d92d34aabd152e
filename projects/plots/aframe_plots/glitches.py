"""The report's glitches: how many the testing background holds, which of
the loudest background events they drive, and how those look (each ifo's
whitened data around the loudest events of up to SHOWN glitches).

The testing background files record their glitches (a ``glitches``
group, ``aframe_contracts.glitches``).  A time-slid background event at
analysis time t with shifts s sees ifo c's strain of GPS t + s[c]
(``aframe_signal.glitches.nearest_glitch``), so a glitch drives an
event when it lies within a second of that.
"""

from pathlib import Path

import numpy as np

from aframe_contracts.events import BackgroundEvents
from aframe_contracts.glitches import GlitchTable
from aframe_contracts.strain import BackgroundStrain
from aframe_plots.plotting import _png
from aframe_signal.glitches import loudest_near_glitches
from aframe_signal.psd import welch_psd

# what the figure shows around an event (s), and of how many events
HALF_SPAN = 1.5
SHOWN = 3
# the whitened data's band (Hz): the glitches' and the search's
HIGHPASS = 16.0
# the Welch FFT length of the PSD that whitens the figure's data (s)
FFTLENGTH = 2.0


def read_glitches(files: list[Path]) -> GlitchTable:
    """The glitches recorded in testing background files."""
    return GlitchTable.concatenate(
        [
            BackgroundStrain.read(path).glitches or GlitchTable.empty()
            for path in files
        ]
    )


def glitch_summary(
    events: BackgroundEvents, ifos: list[str], files: list[Path]
) -> tuple[dict, bytes | str]:
    """The glitches' count, the loudest background events with the
    glitch nearest each (``loudest_near_glitches``), and a figure of the
    whitened data around the loudest events a glitch drives (or why
    there is none)."""
    table = read_glitches(files)
    summary = loudest_near_glitches(
        events.time, events.statistic, events.shift, ifos, table
    )
    # one event per glitch: a loud glitch drives an event in many
    # timeslides
    driven = {}
    for event in summary["events"]:
        offset = event["glitch_offset_s"]
        if offset is not None and abs(offset) <= summary["window_s"]:
            driven.setdefault(
                (event["glitch_ifo"], event["glitch_time"]), event
            )
    driven = list(driven.values())[:SHOWN]
    if not driven:
        return summary, "No loud background event lies near a glitch."
    return summary, driven_figure(events, ifos, files, driven)


def whitened(strain: np.ndarray, psd: np.ndarray, rate: float) -> np.ndarray:
    """Strain whitened by a one-sided PSD (on the rfft grid of
    FFTLENGTH), in units of the noise's standard deviation, above
    HIGHPASS; tapered at its ends."""
    from scipy.signal.windows import tukey

    size = strain.size
    grid = np.fft.rfftfreq(size, 1 / rate)
    psd_grid = np.fft.rfftfreq(round(FFTLENGTH * rate), 1 / rate)
    asd = np.sqrt(np.interp(grid, psd_grid, psd) * rate / 2)
    spectrum = np.fft.rfft(strain * tukey(size, 0.1)) / asd
    spectrum[grid < HIGHPASS] = 0
    return np.fft.irfft(spectrum, size)


def driven_figure(
    events: BackgroundEvents,
    ifos: list[str],
    files: list[Path],
    driven: list[dict],
) -> bytes:
    """Each ifo's whitened data around background events a glitch drives,
    on the analysis's clock (its timeslide applied), the glitch marked."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.5 * len(driven), 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    headers = {path: BackgroundStrain.header(path) for path in files}
    psds = {}
    for column, event in enumerate(driven, start=1):
        ax = figure.add_subplot(1, len(driven), column)
        index = int(np.flatnonzero(events.time == event["time"])[0])
        for c, ifo in enumerate(ifos):
            # the strain this ifo fed the analysis around the event, with
            # a second either side for the whitening's taper
            gps = event["time"] + events.shift[index, c]
            start, stop = gps - HALF_SPAN - 1, gps + HALF_SPAN + 1
            path = next(
                p
                for p, h in headers.items()
                if h.t0 <= start and h.stop >= stop
            )
            if (path, ifo) not in psds:
                chunk = BackgroundStrain.read(path, [ifo])
                psds[path, ifo] = welch_psd(
                    chunk.strain, [ifo], chunk.sample_rate, FFTLENGTH
                )[0]
            span = BackgroundStrain.read_span([path], start, stop, [ifo])
            rate = span.sample_rate
            data = whitened(span.strain[ifo], psds[path, ifo], rate)
            t = span.t0 + np.arange(data.size) / rate - gps
            inside = np.abs(t) <= HALF_SPAN
            ax.plot(t[inside], data[inside] + 8 * c, lw=0.6, label=ifo)
        ax.axvline(0, color="k", ls="--", lw=0.8, label="event")
        ax.axvline(
            event["glitch_offset_s"], color="r", ls=":", lw=1, label="glitch"
        )
        ax.set_title(
            f"statistic {event['statistic']:.3g}: {event['glitch_ifo']} "
            f"glitch, SNR {event['glitch_snr']:.1f}",
            fontsize=9,
        )
        ax.set_xlabel("time from the event (s)")
        ax.set_ylabel("whitened strain (σ), ifos offset by 8")
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(True, alpha=0.3)
    return _png(figure)
