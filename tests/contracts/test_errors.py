import math

import pytest

from aframe_contracts.detectors import DETECTORS, check_ifos
from aframe_contracts.errors import (
    DataError,
    check_not_negative,
    check_positive,
)


def test_a_value_out_of_range_is_named():
    check_positive(sample_rate=2048, lowpass=None)
    check_not_negative(buffer=0.0)
    with pytest.raises(DataError, match="spacing = 0: it must be positive"):
        check_positive(sample_rate=2048, spacing=0)
    with pytest.raises(DataError, match="buffer = -1: it must not be neg"):
        check_not_negative(buffer=-1)
    # NaN compares false both ways: neither check may let it through
    with pytest.raises(DataError, match="duration = nan"):
        check_positive(duration=math.nan)
    with pytest.raises(DataError, match="psd_length = nan"):
        check_not_negative(psd_length=math.nan)


def test_ifos_are_detectors_with_a_geometry():
    from ml4gw.utils.interferometer import InterferometerGeometry

    for ifo in DETECTORS:
        InterferometerGeometry(ifo)
    check_ifos(["H1", "L1"])
    with pytest.raises(DataError, match=r"\['X9'\] not among"):
        check_ifos(["H1", "X9"])
    with pytest.raises(DataError, match="may appear once"):
        check_ifos(["H1", "H1"])
    with pytest.raises(DataError, match="ifos is empty"):
        check_ifos([])
