"""Frame names, frame files and the decimator that brings frames to the
model's rate."""

import time

import numpy as np
import pytest

from aframe_online.frames import FrameError, FrameName, read_frame, write_frame
from aframe_online.stream import Decimator

CHANNEL, STATE = "GDS-CALIB_STRAIN_CLEAN", "GDS-CALIB_STATE_VECTOR"


def test_names_follow_the_low_latency_convention():
    name = FrameName.parse("H-H1_llhoft-1262304000-1.gwf")
    assert name == FrameName("H1", "llhoft", 1262304000, 1, ".gwf")
    assert name.name == "H-H1_llhoft-1262304000-1.gwf"
    assert FrameName.parse(
        "L-L1_HOFT_C00-1262304000-4096.hdf5"
    ).frame_type == ("HOFT_C00")
    # another site's letter, a temporary file, another suffix: not frames
    for other in (
        "L-H1_llhoft-1262304000-1.gwf",
        ".H-H1_llhoft-1262304000-1.gwf.tmp",
        "H-H1_llhoft-1262304000-1.txt",
    ):
        assert FrameName.parse(other) is None


@pytest.mark.parametrize("suffix", [".gwf", ".hdf5"])
def test_a_frame_reads_back_as_written(tmp_path, suffix):
    name = FrameName("L1", "llhoft", 1262304000, 2, suffix)
    strain = np.random.default_rng(0).normal(size=2 * 4096) * 1e-21
    offset = time.localtime().tm_gmtoff
    path = write_frame(tmp_path, name, strain, 4096, CHANNEL, STATE, 3)
    # lalframe's writer sets the C library's TZ: the process's clock (its
    # log times) must not change with it
    assert time.localtime().tm_gmtoff == offset
    frame = read_frame(path, CHANNEL, STATE, 3)
    assert (frame.ifo, frame.t0, frame.sample_rate) == ("L1", 1262304000, 4096)
    np.testing.assert_array_equal(frame.strain, strain)
    assert frame.observing
    assert not read_frame(path, CHANNEL, STATE, 4).observing
    # a frame whose name says other times than it holds (lalframe reads
    # a GWF file's times by its name, and fails)
    moved = path.with_name(name.name.replace("1262304000", "1262304002"))
    path.rename(moved)
    said = "holds 2 s from GPS 1262304000.000, its name says 2 s from"
    with pytest.raises(FrameError, match=f"{moved}: ({said}|cannot be read)"):
        read_frame(moved, CHANNEL, STATE, 3)
    with pytest.raises(FrameError, match="cannot be read"):
        read_frame(moved, "NO-SUCH_CHANNEL", STATE, 3)


def test_decimating_frame_by_frame_is_decimating_at_once():
    rate_in, factor = 4096, 4
    rng = np.random.default_rng(1)
    t = np.arange(8 * rate_in) / rate_in
    # a 30 Hz tone well inside the band, and noise
    x = np.stack([np.sin(2 * np.pi * 30 * t), rng.normal(size=t.size)])
    whole = Decimator(factor, 2, rate_in / factor)(x)
    pieces = Decimator(factor, 2, rate_in / factor)
    # frames of sizes that do not divide by the factor
    edges = [0, 1001, 4096, 9999, 20000, x.shape[-1]]
    parts = [
        pieces(x[:, a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]
    np.testing.assert_allclose(
        np.concatenate(parts, axis=1), whole, atol=1e-12
    )
    # sample j is the input at delay + j / rate_out: the tone, delayed
    decimator = Decimator(factor, 2, rate_in / factor)
    out = decimator(x)[0]
    times = decimator.delay + np.arange(out.size) * factor / rate_in
    np.testing.assert_allclose(out, np.sin(2 * np.pi * 30 * times), atol=2e-3)


def test_replay_refuses_what_it_cannot_do(tmp_path, background):
    from aframe_contracts.errors import DataError
    from aframe_online.replay import replay

    with pytest.raises(DataError, match="speed = -1"):
        replay([str(background)], str(tmp_path / "f"), speed=-1)
    (tmp_path / "file").write_text("")
    with pytest.raises(DataError, match="cannot make the H1 frame directory"):
        replay([str(background)], str(tmp_path / "file" / "{ifo}"))


def test_a_frame_of_integer_strain_is_refused(tmp_path):
    """The strain contract's checks, in the frame reader: the file, the
    channel and what was expected."""
    from gwpy.timeseries import TimeSeries, TimeSeriesDict

    name = FrameName("H1", "llhoft", 1262304000, 1, ".hdf5")
    data = TimeSeriesDict()
    for channel in (CHANNEL, STATE):
        data[f"H1:{channel}"] = TimeSeries(
            np.full(16, 3, np.int32),
            t0=name.gps,
            sample_rate=16,
            name=f"H1:{channel}",
            channel=f"H1:{channel}",
        )
    path = tmp_path / name.name
    data.write(str(path), format="hdf5")
    with pytest.raises(FrameError) as error:
        read_frame(path, CHANNEL, STATE, 3)
    assert str(error.value) == (
        f"{path}: H1:{CHANNEL} holds int32 samples: expected strain as "
        "real floating-point numbers (float32 or float64)"
    )
