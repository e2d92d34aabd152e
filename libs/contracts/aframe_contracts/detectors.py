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
