"""The report's glitches: how many the testing background holds, which of
the loudest background events they drive, and how those look (each ifo's
whitened data around the loudest events of up to SHOWN glitches, and the
detector's output there, run again on the same stream).

The testing background files record their glitches (a ``glitches``
group, ``aframe_contracts.glitches``).  A time-slid background event at
analysis time t with shifts s sees ifo c's strain of GPS t + s[c]
(``aframe_signal.glitches.nearest_glitch``), so a glitch drives an
event when it lies within a second of that.
"""

import logging
import math
from pathlib import Path

import numpy as np

from aframe_contracts.events import BackgroundEvents
from aframe_contracts.glitches import GlitchTable
from aframe_contracts.repository import NETWORK_FILE
from aframe_contracts.strain import BackgroundStrain
from aframe_plots.errors import PlotsError
from aframe_plots.plotting import _png
from aframe_serving.bank import local_engine
from aframe_serving.engine import InProcessEngine
from aframe_serving.errors import RepositoryError
from aframe_serving.repository import ModelRepository
from aframe_signal.bank import NO_GLITCHES, TAIL_START, load_bank
from aframe_signal.glitches import loudest_near_glitches
from aframe_signal.psd import welch_psd

logger = logging.getLogger("aframe_plots")

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
    events: BackgroundEvents,
    ifos: list[str],
    files: list[Path],
    repository: ModelRepository | None = None,
) -> tuple[dict, bytes | str]:
    """The glitches' count, the loudest background events with the
    glitch nearest each (``loudest_near_glitches``), and a figure of the
    whitened data around the loudest events a glitch drives, with the
    detector's output there when the ``repository`` that made the
    events is given (or why there is no figure)."""
    table = read_glitches(files)
    summary = loudest_near_glitches(
        events.time, events.statistic, events.shift, ifos, table
    )
    if repository is not None:
        summary["noise_model"] = noise_model(repository)
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
    return summary, driven_figure(events, ifos, files, driven, repository)


def noise_model(repository: ModelRepository) -> dict | None:
    """A template bank's fitted noise (``model.glitch_tails``): where its
    Gaussian tail starts, its Gaussian and glitch slopes (per unit SNR),
    the reweighted SNR glitches are counted above, and each template of
    each ifo with glitches there, with their rate over a Gaussian
    template's above the tail's start; None for another network, or a
    bank without the fit."""
    version = str(repository.manifest.version)
    path = repository.path / "aframe" / version / NETWORK_FILE
    bank = load_bank(path) if path.is_file() else None
    if bank is None or not bank.glitch_tails or not bool(bank.tails_fitted):
        return None
    gaussian_slope, glitch_slope, start = bank.tail_model.tolist()
    excess = bank.log_glitch_excess
    glitchy = [
        {
            "ifo": repository.ifos[ifo],
            "template": template,
            "rate_ratio": math.exp(float(excess[ifo, template])),
        }
        for ifo, template in (excess > NO_GLITCHES / 2).nonzero().tolist()
    ]
    return {
        "tail_start": TAIL_START,
        "gaussian_slope": gaussian_slope,
        "glitch_slope": glitch_slope,
        "glitch_start": start,
        "glitchy": glitchy,
    }


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
    repository: ModelRepository | None = None,
) -> bytes:
    """Each ifo's whitened data around background events a glitch drives,
    on the analysis's clock (its timeslide applied), the glitch marked;
    below it, with a repository, the detector's output there."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    engine = None
    if repository is not None:
        # the figure runs the model here, on the CPU, as the local backend
        # does (a TensorRT detector runs only if it is a template bank)
        try:
            engine = local_engine(repository)
        except RepositoryError as error:
            logger.warning(
                "the glitch figure shows no detector output: %s", error
            )
    rows = 1 if engine is None else 2
    figure = Figure(
        figsize=(5.5 * len(driven), 4.2 + 2.3 * (rows - 1)),
        layout="constrained",
    )
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(rows, len(driven), height_ratios=[2, 1][:rows])
    strain = StrainReader(files)
    for column, event in enumerate(driven):
        ax = figure.add_subplot(grid[0, column])
        index = event_index(events, event)
        # the GPS time of each ifo's strain the analysis saw at the event
        seen = [
            event["time"] + events.shift[index, c] for c in range(len(ifos))
        ]
        for c, ifo in enumerate(ifos):
            # the strain this ifo fed the analysis around the event, with
            # a second either side for the whitening's taper
            span = strain.span(
                ifo, seen[c] - HALF_SPAN - 1, seen[c] + HALF_SPAN + 1
            )
            data = whitened(
                span.strain[ifo], strain.psd(ifo, seen[c]), span.sample_rate
            )
            t = span.t0 + np.arange(data.size) / span.sample_rate - seen[c]
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
        ax.set_ylabel("whitened strain (σ), ifos offset by 8")
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(True, alpha=0.3)
        if engine is None:
            ax.set_xlabel("time from the event (s)")
            continue
        below = figure.add_subplot(grid[1, column], sharex=ax)
        t, outputs = detector_output(engine, repository, strain, ifos, seen)
        below.plot(t, outputs, lw=0.9, color="C2", label="output")
        below.plot([0], [event["statistic"]], "k*", ms=8, label="event")
        below.axvline(
            event["glitch_offset_s"], color="r", ls=":", lw=1, label="glitch"
        )
        below.set_xlabel("time from the event (s)")
        below.set_ylabel("detector output")
        below.legend(loc="upper right", fontsize=8)
        below.grid(True, alpha=0.3)
    return _png(figure)


def event_index(events: BackgroundEvents, event: dict) -> int:
    """The index of a summary's event among the background events: by
    its time and its statistic, since events of other timeslides may
    share its time."""
    return int(
        np.flatnonzero(
            (events.time == event["time"])
            & (events.statistic == event["statistic"])
        )[0]
    )


class StrainReader:
    """Spans of the testing background files, and each ifo's Welch PSD
    of the whole file that holds a time (what whitens the figure's
    data)."""

    def __init__(self, files: list[Path]) -> None:
        self.headers = {path: BackgroundStrain.header(path) for path in files}
        self.psds = {}

    def file(self, start: float, stop: float) -> Path:
        for path, header in self.headers.items():
            if header.t0 <= start and header.stop >= stop:
                return path
        raise PlotsError(
            f"no testing background file holds {start:.1f}-{stop:.1f} s "
            f"(the files: {', '.join(map(str, self.headers))})"
        )

    def span(self, ifo: str, start: float, stop: float) -> BackgroundStrain:
        path = self.file(start, stop)
        return BackgroundStrain.read_span([path], start, stop, [ifo])

    def psd(self, ifo: str, time: float) -> np.ndarray:
        path = self.file(time, time)
        if (path, ifo) not in self.psds:
            chunk = BackgroundStrain.read(path, [ifo])
            self.psds[path, ifo] = welch_psd(
                chunk.strain, [ifo], chunk.sample_rate, FFTLENGTH
            )[0]
        return self.psds[path, ifo]


def detector_output(
    engine: InProcessEngine,
    repository: ModelRepository,
    strain: StrainReader,
    ifos: list[str],
    seen: list[float],
) -> tuple[np.ndarray, np.ndarray]:
    """The detector's raw outputs around an event, each at the merger
    time it points to (the end of its window less the centre of the
    model's response), from the event (s): the event's statistic is
    their moving average over the integration window, where it is not 0.

    ``seen`` is the GPS time of each ifo's strain at the event: the
    stream is made of those stretches, as the timeslide made it.
    """
    geometry = repository.geometry
    rate = geometry.sample_rate
    centre = sum(geometry.response) / 2
    # an output's window: the PSD's past, the kernel and half the
    # whitening filter before its end, the other half after it
    past = (
        geometry.psd_length + geometry.kernel_length + geometry.fduration / 2
    )
    first = centre - HALF_SPAN - past - geometry.stride / rate
    last = centre + HALF_SPAN + geometry.fduration / 2 + geometry.stride / rate
    first = min(first, last - geometry.buffer_size / rate)
    spans = [
        strain.span(ifo, time + first, time + last)
        for ifo, time in zip(ifos, seen, strict=True)
    ]
    if spans[0].sample_rate != rate:
        raise PlotsError(
            f"{strain.file(seen[0], seen[0])}: strain at "
            f"{spans[0].sample_rate} Hz, but {repository.path} was exported "
            f"for {rate} Hz: give the testing background the model analysed"
        )
    channels = [
        span.strain[ifo] for span, ifo in zip(spans, ifos, strict=True)
    ]
    size = min(channel.size for channel in channels)
    stream = np.stack([channel[:size] for channel in channels])
    responses = engine.infer([geometry.updates(stream)])[0]
    # the logits: the plot is of the statistic's parts
    outputs = geometry.outputs(responses, size)[:, 0]
    t0 = spans[0].t0 - seen[0]
    times = geometry.output_times(outputs.size, t0) - centre
    inside = np.abs(times) <= HALF_SPAN
    return times[inside], outputs[inside]
