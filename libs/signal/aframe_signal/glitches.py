"""Glitches: loud, short bursts of non-Gaussian noise, put into strain.

Real detector noise is not Gaussian.  In O3a, glitches with SNR above 6.5
arrived at about 0.29 per minute in H1 and 1.1 per minute in L1 (GWTC-2,
detector characterisation), and blips (a few cycles at 30-250 Hz, tens of
ms long) were the commonest class.  Two sources:

* ``gengli``: blips made by gengli's GAN, trained on real LIGO blips
  (Lopez et al. 2022, PRD 106, 023027), one network per ifo.  gengli
  returns a glitch as it looks in whitened data; ``colour`` turns it into
  strain with the strain's own PSD, at an optimal SNR drawn from a falling
  power law (``GlitchModel``).  Times are a Poisson process per ifo, so
  coincident glitches happen only by chance, as in real data.
* a table of real glitches (GPS time, ifo, SNR), as Omicron or Gravity
  Spy write them (``read_glitch_table``): nothing is added, the table says
  where real strain already holds glitches.

Whatever the source, the glitches are recorded beside the strain
(``aframe_contracts.glitches.GlitchTable``), and each made glitch can be
made again from its seed.
"""

import functools
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from aframe_contracts.errors import DataError
from aframe_contracts.glitches import REAL, GlitchTable

# the ifos and classes gengli has networks for
GENGLI_IFOS = ("H1", "L1")
GENGLI_CLASSES = ("blip",)
# the stream of glitch draws (times, SNRs, seeds), apart from the noise's
GLITCH_STREAM = 7
# the whitened shape is coloured in a stretch this much longer on either
# side (s): the PSD's filter spreads it, and the stretch must hold that
PAD = 0.5


def default_rates() -> dict[str, float]:
    """O3a's glitch rates above SNR 6.5, per minute (GWTC-2)."""
    return {"H1": 0.29, "L1": 1.1}


@dataclass(frozen=True)
class GlitchModel:
    """How glitches are drawn: where, how many and how loud.

    Args:
        rates: glitches per minute in each ifo (an ifo not named gets
            none).
        snr_min: the quietest glitch's optimal SNR.
        snr_max: the loudest's.
        snr_index: the power law of the SNRs, p(snr) ~ snr^snr_index.
        classes: the glitch classes drawn, uniformly (gengli: blip).
        taper: the Tukey window's tapered share of each shape, so that it
            has no edges.
        highpass: glitches have no power below this (Hz): blips live at
            30-250 Hz, and below ~15 Hz the PSD of a LIGO detector is a
            wall that colouring would amplify without end.
    """

    rates: dict[str, float] = field(default_factory=default_rates)
    snr_min: float = 6.5
    snr_max: float = 100.0
    snr_index: float = -2.0
    classes: list[str] = field(default_factory=lambda: ["blip"])
    taper: float = 0.25
    highpass: float = 16.0

    def check(self, ifos: list[str]) -> None:
        """Refuse parameters no draw can use, in one line naming them.

        Raises:
            DataError: a negative rate, an SNR range that is empty or not
                positive, an ifo or class gengli has no network for.
        """
        for ifo, rate in self.rates.items():
            if not rate >= 0:
                raise DataError(
                    f"glitches.rates: {ifo} has {rate} per minute: rates "
                    "must not be negative"
                )
        if not 0 < self.snr_min < self.snr_max:
            raise DataError(
                f"glitches: snr_min = {self.snr_min}, snr_max = "
                f"{self.snr_max}: the SNRs need 0 < snr_min < snr_max"
            )
        if not self.highpass >= 0:
            raise DataError(
                f"glitches.highpass = {self.highpass}: it must not be negative"
            )
        if not 0 <= self.taper <= 1:
            raise DataError(
                f"glitches.taper = {self.taper}: the tapered share of a "
                "shape lies in [0, 1]"
            )
        unknown = [
            ifo
            for ifo in ifos
            if self.rates.get(ifo, 0) > 0 and ifo not in GENGLI_IFOS
        ]
        if unknown:
            raise DataError(
                f"glitches.rates: gengli has no glitches of "
                f"{', '.join(unknown)} (it has {', '.join(GENGLI_IFOS)}): "
                "set their rates to 0"
            )
        classes = [c for c in self.classes if c not in GENGLI_CLASSES]
        if classes or not self.classes:
            raise DataError(
                f"glitches.classes: {self.classes}: gengli makes "
                f"{', '.join(GENGLI_CLASSES)}"
            )

    def attrs(self, seed: int) -> dict:
        """The draw's parameters, for the record."""
        values = asdict(self)
        rates = values.pop("rates")
        return {
            "source": "gengli",
            "seed": seed,
            "rate_ifos": list(rates),
            "rates_per_minute": list(rates.values()),
            **values,
        }


def power_law(
    rng: np.random.Generator, low: float, high: float, index: float, n: int
) -> np.ndarray:
    """``n`` draws of p(x) ~ x^index on [low, high], by inverting the
    cumulative distribution."""
    u = rng.uniform(size=n)
    if abs(index + 1) < 1e-12:
        return low * (high / low) ** u
    a = index + 1
    return (low**a + u * (high**a - low**a)) ** (1 / a)


def draw_glitches(
    model: GlitchModel,
    ifos: list[str],
    start: float,
    duration: float,
    seed: int,
    margin: float = 0.0,
) -> GlitchTable:
    """Glitch times, ifos, SNRs and shape seeds in GPS [start + margin,
    start + duration - margin): a Poisson process per ifo.

    Each ifo's draws come from a stream of its own, seeded by ``seed``,
    ``start`` and the ifo's index, so that the glitches of one ifo do not
    change when the rates of another do.
    """
    tables = []
    span = duration - 2 * margin
    for i, ifo in enumerate(ifos):
        rate = model.rates.get(ifo, 0.0) / 60
        rng = np.random.default_rng([seed, round(start), i, GLITCH_STREAM])
        n = rng.poisson(rate * span) if span > 0 else 0
        times = np.sort(start + margin + rng.uniform(0, span, n))
        snrs = power_law(rng, model.snr_min, model.snr_max, model.snr_index, n)
        seeds = rng.integers(0, 2**31 - 1, n)
        tables.append(
            GlitchTable(times, np.full(n, ifo), snrs, seeds, model.attrs(seed))
        )
    return GlitchTable.concatenate(tables)


@functools.cache
def _generator(ifo: str):
    import warnings

    with warnings.catch_warnings():
        # gengli's imports warn about ray's and torch's deprecations
        warnings.simplefilter("ignore")
        import gengli

    return gengli.glitch_generator(ifo)


def gengli_shape(
    ifo: str, seed: int, sample_rate: float, taper: float = 0.25
) -> np.ndarray:
    """The whitened blip of ``ifo`` that gengli makes from ``seed``, at
    ``sample_rate``, Tukey-tapered so that it has no edges: (T,).

    gengli seeds torch's global generator; the caller's random state is
    kept.
    """
    return gengli_bank(ifo, 1, sample_rate, seed, taper)[0]


def gengli_bank(
    ifo: str, count: int, sample_rate: float, seed: int, taper: float = 0.25
) -> np.ndarray:
    """``count`` whitened blips of ``ifo`` at ``sample_rate``, (count, T),
    made in one pass of gengli's network from ``seed`` (the caller's
    random state is kept)."""
    import torch

    generator = _generator(ifo)
    threads = torch.get_num_threads()
    # the network is small: threads cost more than they save (10x on two
    # cores)
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            shapes = generator.get_glitch(
                count, srate=float(sample_rate), seed=int(seed), alpha=taper
            )
    finally:
        torch.set_num_threads(threads)
    return np.atleast_2d(np.asarray(shapes, dtype=np.float64))


def band_limit(
    shape: np.ndarray,
    sample_rate: float,
    highpass: float | None,
    lowpass: float | None = None,
) -> np.ndarray:
    """A whitened shape with its power outside [highpass, lowpass)
    removed: what the search's whitening keeps of it."""
    spectrum = np.fft.rfft(shape, axis=-1)
    frequencies = np.fft.rfftfreq(shape.shape[-1], 1 / sample_rate)
    outside = frequencies < (highpass or 0)
    if lowpass:
        outside |= frequencies >= lowpass
    spectrum[..., outside] = 0
    return np.fft.irfft(spectrum, shape.shape[-1], axis=-1)


def colour(
    shape: np.ndarray,
    frequencies: np.ndarray,
    psd: np.ndarray,
    sample_rate: float,
    snr: float,
    highpass: float | None,
) -> np.ndarray:
    """Strain whose whitening is ``shape``, at optimal SNR ``snr``.

    ``shape`` is in the units of whitened data (noise of unit variance
    per sample), so its SNR is its norm.  Above ``highpass`` it is
    multiplied by the amplitude spectral density sqrt(S(f) fs / 2), the
    inverse of whitening, in a stretch padded by ``PAD`` s on either side
    for the filter's spread, and scaled to ``snr``: then
    4 sum |h(f)|^2 / S(f) df = snr^2 against the one-sided PSD S.

    Args:
        shape: (T,) the whitened glitch, its peak in the middle.
        frequencies: (F,) the PSD's frequencies (Hz).
        psd: (F,) the strain's one-sided PSD (1/Hz).
        sample_rate: samples per second (Hz).
        snr: the optimal SNR of the result.
        highpass: no power below this (Hz): the PSD there is a wall the
            search never sees through.

    Returns:
        (T + 2 pad,) strain, the shape's middle in the middle.
    """
    from scipy.signal.windows import tukey

    pad = round(PAD * sample_rate)
    padded = np.pad(shape, pad)
    size = padded.size
    grid = np.fft.rfftfreq(size, 1 / sample_rate)
    below = grid < (highpass or 0)
    asd = np.sqrt(np.interp(grid, frequencies, psd) * sample_rate / 2)
    spectrum = np.fft.rfft(padded) * asd
    spectrum[below] = 0
    # the filter's spread wraps around the stretch a little: taper the
    # pads so that the strain starts and ends at zero
    strain = np.fft.irfft(spectrum, size) * tukey(size, 2 * pad / size)
    whitened = np.fft.rfft(strain) / asd
    whitened[below] = 0
    norm = np.sqrt(np.sum(np.fft.irfft(whitened, size) ** 2))
    if norm == 0:
        raise DataError("a glitch shape has no power above the highpass")
    return strain * (snr / norm)


def add_glitches(
    strain: dict[str, np.ndarray],
    t0: float,
    sample_rate: float,
    table: GlitchTable,
    shapes: list[np.ndarray],
    psds: dict[str, tuple[np.ndarray, np.ndarray]],
    highpass: float | None,
) -> dict[str, np.ndarray]:
    """Strain with each glitch of ``table`` added, coloured by its ifo's
    PSD, its middle at its time (parts outside the strain are cut).

    Args:
        strain: (T,) strain per ifo from GPS ``t0``.
        t0: GPS time of the first sample (s).
        sample_rate: samples per second (Hz).
        table: the glitches.
        shapes: the whitened shape of each row of the table.
        psds: (frequencies, PSD) of each ifo's strain.
        highpass: see ``colour``.
    """
    result = {
        ifo: np.array(data, dtype=np.float64) for ifo, data in strain.items()
    }
    for time, ifo, snr, shape in zip(
        table.time, table.ifo, table.snr, shapes, strict=True
    ):
        glitch = colour(shape, *psds[ifo], sample_rate, snr, highpass)
        middle = round((time - t0) * sample_rate)
        first = middle - glitch.size // 2
        data = result[ifo]
        lo, hi = max(first, 0), min(first + glitch.size, data.size)
        if hi > lo:
            data[lo:hi] += glitch[lo - first : hi - first]
    return result


def glitchy(
    strain: dict[str, np.ndarray],
    t0: float,
    sample_rate: float,
    model: GlitchModel,
    seed: int,
    fftlength: float = 2.0,
) -> tuple[dict[str, np.ndarray], GlitchTable]:
    """Strain with gengli glitches drawn by ``model`` added, and their
    record.  Each ifo's glitches are coloured by the Welch PSD of its own
    strain, so that their SNRs are what the search will measure."""
    from aframe_signal.psd import welch_psd

    ifos = list(strain)
    model.check(ifos)
    duration = len(strain[ifos[0]]) / sample_rate
    table = draw_glitches(model, ifos, t0, duration, seed)
    if not len(table):
        return strain, table
    psd = welch_psd(strain, ifos, sample_rate, fftlength)
    frequencies = np.fft.rfftfreq(
        round(fftlength * sample_rate), 1 / sample_rate
    )
    psds = {ifo: (frequencies, psd[i]) for i, ifo in enumerate(ifos)}
    shapes = [
        gengli_shape(ifo, seed, sample_rate, model.taper)
        for ifo, seed in zip(table.ifo, table.seed, strict=True)
    ]
    return add_glitches(
        strain, t0, sample_rate, table, shapes, psds, model.highpass
    ), table


# the names Omicron and Gravity Spy give the columns of a glitch table,
# the first found used: a glitch's time is its peak's, in full GPS
# seconds (Gravity Spy's event_time), else in whole seconds and
# nanoseconds (peak_time and peak_time_ns, as LIGO's sngl_burst tables
# and Gravity Spy both hold them), else the start of its tile
TABLE_ALIASES = {
    "time": ("time", "gpstime", "event_time", "peak_time", "tstart"),
    "ifo": ("ifo", "detector"),
    "snr": ("snr",),
}


def read_glitch_table(path: Path, ifos: list[str]) -> GlitchTable:
    """Real glitches from a text table with a header line, comma- or
    whitespace-separated: a GPS time, an ifo and an SNR per row (column
    names as Omicron or Gravity Spy write them, ``TABLE_ALIASES``).  Rows
    of other ifos are left out.

    Raises:
        DataError: the file is missing, empty, or lacks a column.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"glitch_table: {path} is not a file")
    lines = [
        line
        for line in path.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise DataError(f"glitch_table: {path} holds no table")
    comma = "," in lines[0]
    header = [
        name.strip().lower()
        for name in (lines[0].split(",") if comma else lines[0].split())
    ]
    index = {}
    for column, aliases in TABLE_ALIASES.items():
        found = [header.index(a) for a in aliases if a in header]
        if not found:
            raise DataError(
                f"glitch_table: {path} has no {column} column (its header: "
                f"{', '.join(header)}; expected one of "
                f"{', '.join(aliases)})"
            )
        index[column] = found[0]
    rows = [
        [cell.strip() for cell in (line.split(",") if comma else line.split())]
        for line in lines[1:]
    ]
    nanoseconds = None
    if header[index["time"]] == "peak_time" and "peak_time_ns" in header:
        nanoseconds = header.index("peak_time_ns")
    try:
        time = np.array([float(row[index["time"]]) for row in rows])
        if nanoseconds is not None:
            time += np.array([float(row[nanoseconds]) for row in rows]) * 1e-9
        snr = np.array([float(row[index["snr"]]) for row in rows])
        ifo = np.array([row[index["ifo"]] for row in rows], dtype=str)
    except (ValueError, IndexError) as error:
        raise DataError(f"glitch_table: {path}: a bad row ({error})") from None
    keep = np.isin(ifo, ifos)
    order = np.argsort(time[keep], kind="stable")
    return GlitchTable(
        time[keep][order],
        ifo[keep][order],
        snr[keep][order],
        np.full(np.count_nonzero(keep), REAL, dtype=np.int64),
        {"source": "table", "table": str(path)},
    )


def nearest_glitch(
    times: np.ndarray,
    shifts: np.ndarray,
    ifos: list[str],
    table: GlitchTable,
) -> tuple[np.ndarray, np.ndarray]:
    """For each event, the glitch nearest in time in any ifo: the time
    from the event to it (s, inf where there is none) and its row in
    ``table`` (-1 where there is none).

    Args:
        times: (E,) the events' times, in the analysis frame (s).
        shifts: (E, C) each event's shift of each ifo (s): the analysis
            sees ifo c's strain of GPS t + shifts[c] at time t.
        ifos: the ifos, in the order of the shifts' columns.
        table: the glitches, at their GPS times.
    """
    distance = np.full(len(times), np.inf)
    row = np.full(len(times), -1)
    for c, ifo in enumerate(ifos):
        rows = np.flatnonzero(table.ifo == ifo)
        if not rows.size:
            continue
        glitch_times = table.time[rows]
        order = np.argsort(glitch_times)
        glitch_times, rows = glitch_times[order], rows[order]
        # the event's time in this ifo's strain
        seen = times + shifts[:, c]
        after = np.searchsorted(glitch_times, seen).clip(1, rows.size) - 1
        for candidate in (after, (after + 1).clip(max=rows.size - 1)):
            gap = np.abs(glitch_times[candidate] - seen)
            closer = gap < np.abs(distance)
            distance[closer] = (glitch_times[candidate] - seen)[closer]
            row[closer] = rows[candidate][closer]
    return distance, row


def loudest_near_glitches(
    times: np.ndarray,
    statistics: np.ndarray,
    shifts: np.ndarray,
    ifos: list[str],
    table: GlitchTable,
    count: int = 10,
    window: float = 1.0,
) -> dict:
    """How many of the ``count`` loudest events lie within ``window``
    seconds of a glitch, and those events, loudest first: what a person
    asks first of a background with glitches in it."""
    order = np.argsort(statistics)[::-1][:count]
    distance, row = nearest_glitch(times[order], shifts[order], ifos, table)
    loudest = [
        {
            "time": float(times[i]),
            "statistic": float(statistics[i]),
            "glitch_offset_s": None if r < 0 else float(d),
            "glitch_time": None if r < 0 else float(table.time[r]),
            "glitch_ifo": None if r < 0 else str(table.ifo[r]),
            "glitch_snr": None if r < 0 else float(table.snr[r]),
        }
        for i, d, r in zip(order, distance, row, strict=True)
    ]
    return {
        "glitches": table.counts(ifos),
        "window_s": window,
        "loudest": len(order),
        "loudest_near_a_glitch": int(np.sum(np.abs(distance) <= window)),
        "events": loudest,
    }
