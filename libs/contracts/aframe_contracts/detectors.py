"""The detectors aframe analyses.

Signals are projected onto a detector with its arms and vertex, which
ml4gw's ``InterferometerGeometry`` holds for these four; strain from any
other name would train and test without a detector response to match.
"""

from collections.abc import Iterable

from aframe_contracts.errors import DataError

DETECTORS = ("H1", "L1", "V1", "K1")


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
