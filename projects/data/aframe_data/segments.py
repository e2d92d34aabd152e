"""The analysable segments of a data span, for each data source."""

import logging

import numpy as np

from aframe_contracts.errors import DataError
from aframe_contracts.segments import Segment, coalesce, intersect
from aframe_contracts.strain_files import index_files, true_runs

logger = logging.getLogger("aframe_data")


def finite_runs(data: np.ndarray, start: float, rate: float) -> list[Segment]:
    """The stretches of ``data`` without NaN or infinite samples."""
    return [
        (start + a / rate, start + b / rate)
        for a, b in true_runs(np.isfinite(data))
    ]


def _files(patterns, ifos, channel) -> list[list[Segment]]:
    per_ifo = []
    for spans in index_files(patterns, ifos, channel).values():
        active = []
        for span in spans:
            data = span.read(span.start, span.stop)
            runs = finite_runs(data, span.start, span.sample_rate)
            if runs != [(span.start, span.stop)]:
                logger.warning(
                    "%s %s: %d NaN samples; only its finite stretches are "
                    "used",
                    span.path,
                    span.key,
                    np.count_nonzero(~np.isfinite(data)),
                )
            active += runs
        per_ifo.append(coalesce(active))
    return per_ifo


def _gwosc(ifos, start, stop, flag) -> list[list[Segment]]:
    from gwpy.segments import DataQualityFlag

    per_ifo = []
    for ifo in ifos:
        name = f"{ifo}_{flag}"
        logger.info("querying the GWOSC segments of %s", name)
        found = DataQualityFlag.fetch_open_data(name, start, stop)
        per_ifo.append([(float(a), float(b)) for a, b in found.active])
    return per_ifo


def find_segments(
    source: str,
    ifos: list[str],
    start: float,
    stop: float,
    min_duration: float = 0,
    flag: str = "DATA",
    strain_files: list[str] | None = None,
    channel: str = "GWOSC-4KHZ_R1_STRAIN",
) -> list[tuple[float, float]]:
    """Segments in [start, stop) where every ifo has usable strain.

    Args:
        source: simulated (the whole span), gwosc (the open-data flag of
            every ifo) or files (the extents of the strain in the files,
            without their NaN stretches).
        ifos: the interferometers, all of which must have data.
        start: GPS start (s).
        stop: GPS end (s).
        min_duration: shorter segments are dropped (s).
        flag: gwosc: the open-data flag, {ifo}_{flag}.
        strain_files: files: the files or glob patterns.
        channel: files: the channel of a GWF file, without the ifo.
    """
    if stop <= start:
        raise DataError(
            f"the data span ends ({stop}) before it starts ({start})"
        )
    if source == "simulated":
        per_ifo = [[(start, stop)]]
    elif source == "gwosc":
        per_ifo = _gwosc(ifos, start, stop, flag)
    elif source == "files":
        per_ifo = _files(strain_files or [], ifos, channel)
    else:
        raise DataError(f"unknown data source {source!r}")

    common = [(start, stop)]
    for active in per_ifo:
        common = intersect(common, active)
    kept = []
    for segment in common:
        if segment[1] - segment[0] < min_duration:
            logger.info(
                "skipping segment %s-%s: shorter than min_duration %s s",
                *segment,
                min_duration,
            )
            continue
        kept.append(segment)
    if not kept:
        raise DataError(
            f"no {source} segment of at least {min_duration} s where "
            f"{', '.join(ifos)} all have data between GPS {start} and {stop}"
        )
    logger.info(
        "%d segments, %.0f s in all", len(kept), sum(b - a for a, b in kept)
    )
    return kept
