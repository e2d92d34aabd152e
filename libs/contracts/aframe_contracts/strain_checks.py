"""What every strain reader checks of what it reads, before any work.

Strain is read by the data stage's background files
(``strain.BackgroundStrain``), the files users bring (GWOSC HDF5, the
MLGWSC-1 layout and GWF frames, ``strain_files``, so the data stage's
``files`` source, the MLGWSC-1 commands and the online replay) and the
online search's low-latency frames.  Each checks here what it found:

- the samples are real floating-point numbers, and the sampling
  interval is finite and positive (``check_series``);
- the series of a file that its format requires to share one span, the
  ifos of a background file or of an MLGWSC-1 segment, share it
  (``check_shared_span``);
- stretches of one ifo's strain that overlap, in two files or two
  datasets, hold the same samples (``check_overlaps``).

An error is a ``DataError`` that names the file, the dataset and what
was expected.
"""

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from aframe_contracts.errors import DataError

# starts of series that share a span may differ by this share of a
# sample: GPS times in float64 are exact to ~1e-7 s, samples are longer
START_TOLERANCE = 0.01
# intervals (and rates) that agree to this relative precision are equal
INTERVAL_TOLERANCE = 1e-9


def check_series(
    path: Path | str,
    dataset: str,
    dtype: np.dtype,
    *,
    interval: float | None = None,
    sample_rate: float | None = None,
) -> None:
    """Refuse a series that is not strain aframe can use: samples of a
    real floating-point type, and a finite positive sampling interval
    (given as the ``interval`` or the ``sample_rate`` the file records).

    Args:
        path: the file (or the source, for data that are not in one).
        dataset: the series in it: an HDF5 dataset or a GWF channel.

    Raises:
        DataError: the file, the dataset, what it holds and what was
            expected.
    """
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise DataError(
            f"{path}: {dataset} holds {dtype} samples: expected strain "
            "as real floating-point numbers (float32 or float64)"
        )
    if interval is not None and not (math.isfinite(interval) and interval > 0):
        raise DataError(
            f"{path}: {dataset} has a sampling interval of {interval} s: "
            "expected a finite positive number of seconds"
        )
    if sample_rate is not None and not (
        math.isfinite(sample_rate) and sample_rate > 0
    ):
        raise DataError(
            f"{path}: {dataset} has a sample rate of {sample_rate} Hz: "
            "expected a finite positive rate"
        )


def check_shared_span(
    path: Path | str,
    spans: Mapping[str, tuple[float, float, int]],
    layout: str,
) -> None:
    """Refuse series of one file that its layout requires to share one
    span (the same start, sampling interval and length) but do not.

    Args:
        spans: each dataset's (start (GPS s), sampling interval (s),
            samples), the first the one the others must match.
        layout: the file's layout, for the message.

    Raises:
        DataError: the file, the dataset that differs and the span it
            was expected to have.
    """
    (first, expected), *others = spans.items()
    for dataset, (start, interval, size) in others:
        same = (
            size == expected[2]
            and math.isclose(interval, expected[1], rel_tol=INTERVAL_TOLERANCE)
            and abs(start - expected[0]) <= START_TOLERANCE * interval
        )
        if not same:
            raise DataError(
                f"{path}: {dataset} holds {_describe(start, interval, size)}"
                f": expected the span of {first}, "
                f"{_describe(*expected)}, as the {layout} layout has one "
                "span for every ifo"
            )


class StrainSpan(Protocol):
    """A contiguous stretch of one ifo's strain in a file
    (``strain_files.Span``)."""

    start: float
    sample_rate: float
    path: Path
    key: str

    @property
    def stop(self) -> float: ...

    def read(self, start: float, stop: float) -> np.ndarray: ...


def check_overlaps(spans: Sequence[StrainSpan]) -> None:
    """Refuse stretches of one ifo's strain that overlap but disagree:
    sampled at other rates, on grids that are not a whole number of
    samples apart, or holding other samples where they overlap (which
    are read, so this costs what the overlaps hold).

    Raises:
        DataError: both files and datasets, where they overlap, and what
            was expected.
    """
    active: list[StrainSpan] = []
    for span in sorted(spans, key=lambda span: span.start):
        active = [earlier for earlier in active if earlier.stop > span.start]
        for earlier in active:
            _check_overlap(earlier, span)
        active.append(span)


def _check_overlap(earlier: StrainSpan, later: StrainSpan) -> None:
    start, stop = later.start, min(earlier.stop, later.stop)
    rate = earlier.sample_rate
    # spans that touch, to within rounding, do not overlap
    if (stop - start) * rate < 0.5:
        return
    where = (
        f"{earlier.path}: {earlier.key} and {later.path}: {later.key} "
        f"overlap at GPS {start}-{stop}"
    )
    if not math.isclose(rate, later.sample_rate, rel_tol=INTERVAL_TOLERANCE):
        raise DataError(
            f"{where}, sampled at {rate} Hz and {later.sample_rate} Hz: "
            "expected files that overlap to hold the same strain"
        )
    offset = (later.start - earlier.start) * rate
    off_grid = abs(offset - round(offset))
    if off_grid > START_TOLERANCE:
        raise DataError(
            f"{where}, their samples {off_grid:.3f} of a sample apart: "
            "expected files that overlap to hold the same samples"
        )
    if not np.array_equal(
        earlier.read(start, stop), later.read(start, stop), equal_nan=True
    ):
        raise DataError(
            f"{where} with other samples: expected files that overlap to "
            "hold the same strain"
        )


def _describe(start: float, interval: float, size: int) -> str:
    return f"{size} samples from GPS {start} every {interval} s"
