"""The detectors aframe analyses.

Signals are projected onto a detector with its arms and vertex, which
ml4gw's ``InterferometerGeometry`` holds for these four; strain from any
other name would train and test without a detector response to match.

Background is made by timeslides, here defined once: timeslide k pairs
each ifo c's strain with strain ``k * steps[c]`` later than the first
ifo's (``timeslide_shifts``), so no real coincidence survives.  The
search takes its steps from the cfg (``shifts``); training's validation
and calibration, which slide their held-out background themselves,
step ifo c by ``c * TIMESLIDE_STEP`` (``ifo_steps``).
"""

from collections.abc import Iterable, Sequence

from aframe_contracts.errors import DataError

DETECTORS = ("H1", "L1", "V1", "K1")

# the step (s) between the timeslides of training's validation and of
# calibration: timeslide k shifts ifo c by c * k * TIMESLIDE_STEP
TIMESLIDE_STEP = 1.0


def ifo_steps(count: int, step: float = TIMESLIDE_STEP) -> list[float]:
    """Each of ``count`` ifos' step: ifo c's is ``c * step`` (in the
    unit of ``step``: seconds, or samples)."""
    return [c * step for c in range(count)]


def timeslide_shifts(
    timeslide: int, steps: Sequence[float]
) -> tuple[float, ...]:
    """Each ifo's shift in the ``timeslide``-th timeslide: ifo c's strain
    is taken ``timeslide * steps[c]`` later (in the unit of ``steps``)."""
    return tuple(timeslide * step for step in steps)


def check_ifos(ifos: Iterable[str]) -> None:
    """Refuse an empty, repeated or unknown ifo list, naming the culprit.

    Raises:
        DataError: which ifo, and the ones aframe knows.
    """
    ifos = list(ifos)
    if not ifos:
        raise DataError(f"ifos is empty: name one or more of {DETECTORS}")
    unknown = [ifo for ifo in ifos if ifo not in DETECTORS]
    if unknown:
        raise DataError(
            f"ifos {ifos}: {unknown} not among the detectors aframe can "
            f"project signals onto, {', '.join(DETECTORS)}"
        )
    if len(set(ifos)) < len(ifos):
        raise DataError(f"ifos {ifos}: each detector may appear once")


def check_shifts(shifts: list[float], ifos: list[str], what: str = "") -> None:
    """Refuse timeslide shifts that are not one per ifo, each >= 0 (a
    shift advances its ifo's strain, whose start the stream cannot pass).

    Args:
        what: names the timeslide in the message, e.g. ``timeslide 3: ``.

    Raises:
        DataError: the shifts, and the ifos they must match.
    """
    if len(shifts) != len(ifos) or min(shifts) < 0:
        raise DataError(
            f"{what}shifts {shifts} s: give one shift of 0 s or more for "
            f"each of {ifos}"
        )
