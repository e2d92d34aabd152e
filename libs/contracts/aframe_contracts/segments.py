"""Segment lists: the spans of GPS time with data, as segwizard text.

``segments.txt`` under ``$AFRAME_TRAIN_DATA_DIR`` and
``$AFRAME_TEST_DATA_DIR`` (and beside each MLGWSC-1 set), written by the
data stage and read by the orchestration, whose branch maps come from
them, one segment a line:

```text
# seg	start	stop	duration
0	1240579783.000000	1240583383.000000	3600.000000
```

Times are GPS seconds.  gwpy and ligo-segments read and write the same
text.  The arithmetic the stages and the orchestration both do on
segment lists is here too; standard library only.
"""

from collections.abc import Iterable
from pathlib import Path

from aframe_contracts.errors import ContractError
from aframe_contracts.files import write_atomic

Segment = tuple[float, float]


def write_segments(segments: Iterable[Segment], path: Path) -> None:
    """Write segments as segwizard text (``# seg start stop duration``)."""
    lines = ["# seg\tstart\tstop\tduration"]
    for i, (start, stop) in enumerate(segments):
        lines.append(f"{i}\t{start:.6f}\t{stop:.6f}\t{stop - start:.6f}")
    write_atomic(path, "\n".join(lines) + "\n")


def read_segments(path: Path) -> list[Segment]:
    """Read a segwizard file (as written by ``write_segments`` or gwpy)."""
    segments = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 4:
            raise ContractError(
                f"{path}, line {number}: expected 4 columns (seg start stop "
                f"duration), got {len(fields)}: {line!r}"
            )
        start, stop = float(fields[1]), float(fields[2])
        if stop <= start:
            raise ContractError(
                f"{path}, line {number}: segment ends before it starts"
            )
        segments.append((start, stop))
    return segments


def coalesce(segments: Iterable[Segment]) -> list[Segment]:
    """Sorted segments with overlapping and touching ones merged."""
    merged: list[Segment] = []
    for start, stop in sorted(segments):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def intersect(a: Iterable[Segment], b: Iterable[Segment]) -> list[Segment]:
    """The times in both segment lists, coalesced."""
    a, b = coalesce(a), coalesce(b)
    common, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        start, stop = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < stop:
            common.append((start, stop))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return common


# injection times are jittered by up to half of this either way, so that
# they sit on no fixed phase of the inference grid
INJECTION_JITTER = 1.0


def injection_room(seconds: float, spacing: float) -> int:
    """How many injections fit in ``seconds``: one per ``spacing`` and
    the jitter (``aframe_signal.placement.injection_times``)."""
    return int(max(0.0, seconds) // (spacing + INJECTION_JITTER))
