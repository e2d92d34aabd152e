"""The background held out for validation, and the glitches training
puts into its windows."""

import numpy as np
import pytest
import torch

from aframe_contracts.errors import DataError
from aframe_contracts.strain import BackgroundStrain
from aframe_signal.whitening import STRAIN_SCALE
from aframe_train.data import AframeDataModule
from aframe_train.datasets import TrainingBatches, ValidationWindows
from aframe_train.validation import held_out, held_out_span
from tests.train.tiny import RATE, data_settings


def test_held_out_fills_from_the_last_file_back():
    assert held_out([100, 100, 100], 0.25) == [0, 0, 75]
    assert held_out([100, 100, 100], 0.5) == [0, 50, 100]
    assert held_out([100, 100, 100], 1.0) == [100, 100, 100]
    assert held_out([240], 0.25) == [60]


def test_held_out_span_of_several_files(tmp_path):
    paths = []
    for i, t0 in enumerate((1e9, 1e9 + 200, 1e9 + 500)):
        strain = {ifo: np.zeros(100 * 16) for ifo in ("H1", "L1")}
        paths.append(tmp_path / f"background-{i}.hdf5")
        BackgroundStrain(strain, t0, 16).write(paths[-1])
    # 150 s of the 300: the last file, and the last 50 s of the second
    assert held_out_span(paths, 0.5) == (1e9 + 250, 1e9 + 600)
    assert held_out_span(paths, 0.25) == (1e9 + 525, 1e9 + 600)
    assert held_out_span(paths, 0.0) == (1e9 + 600, 1e9 + 600)


def pieces(*lengths):
    """(2, T) pieces whose samples hold (piece, index) as 1000 p + i."""
    return [
        torch.stack([1000.0 * p + torch.arange(n)] * 2)
        for p, n in enumerate(lengths)
    ]


def test_validation_windows_over_pieces():
    windows = ValidationWindows(
        pieces(40, 25), [], size=10, stride=5, shift=2, livetime=60, views=[]
    )
    # timeslide 1 delays the second ifo 2 samples: starts 0-28 in the
    # first piece, 0-13 in the second: 9 windows, 45 s at stride 5, so
    # livetime 60 needs a second timeslide, which delays it 4 samples
    assert windows.windows[:7] == [(0, 1, s) for s in range(0, 30, 5)] + [
        (1, 1, 0)
    ]
    assert len(windows) == 6 + 3 + 6 + 3
    window, timeslide, *_ = windows[7]
    assert timeslide == 1
    np.testing.assert_array_equal(window[0], 1005 + np.arange(10))
    np.testing.assert_array_equal(window[1], 1007 + np.arange(10))
    window, timeslide, *_ = windows[9]
    assert timeslide == 2
    np.testing.assert_array_equal(window[1], 4 + np.arange(10))


def test_validation_too_short_for_its_livetime():
    with pytest.raises(DataError, match="too short for valid_livetime"):
        ValidationWindows(
            pieces(12, 12),
            [],
            size=10,
            stride=5,
            shift=2,
            livetime=99,
            views=[],
        )


def test_the_data_module_holds_out_the_last_files(data, tmp_path):
    """Validation takes the last 25% of 300 s: all of a 60 s second file
    and the last 15 s of the first; training the first 225 s."""
    first = BackgroundStrain.read(data[0], ["H1", "L1"])
    second = tmp_path / "background-2.hdf5"
    tail = {ifo: x[: 60 * RATE] for ifo, x in first.strain.items()}
    BackgroundStrain(tail, 1e9 + 300, RATE).write(second)
    settings = data_settings(data, valid_livetime=10)
    settings["background_files"].append(str(second))
    module = AframeDataModule(**settings)
    module.setup("fit")
    assert [x.shape[-1] for x in module.train_background] == [225 * RATE]
    assert [x.shape[-1] for x in module.valid_background] == [
        15 * RATE,
        60 * RATE,
    ]
    # the 15 s held out of the first file are its last
    np.testing.assert_array_equal(
        module.valid_background[0][0].numpy(),
        np.float32(first.strain["H1"][-15 * RATE :] * STRAIN_SCALE),
    )


def augmented(module, windows, waveforms, seed):
    torch.manual_seed(seed)
    return module.augment(windows.clone(), waveforms)


def test_glitch_augmentation_touches_only_the_ifos_it_draws(data):
    """The same batch augmented with and without blips, from one seed:
    the labels are the same; a window without a blip is the same; a
    background window with one differs in one ifo or in all, and a
    signal's window in one, where the blip's whitened norm is its drawn
    SNR (times the whitening's gain on noise)."""
    plain = AframeDataModule(**data_settings(data, waveform_prob=0.5))
    glitchy = AframeDataModule(
        **data_settings(
            data,
            waveform_prob=0.5,
            glitch_prob=0.4,
            coincident_glitch_prob=0.3,
            signal_glitch_prob=0.5,
            glitch_snr_min=30,
            glitch_snr_max=30.001,
            glitch_shapes=20,
        )
    )
    for module in (plain, glitchy):
        module.setup("fit")
    batch = TrainingBatches(
        plain.train_background,
        plain.load_training_waveforms(),
        64,
        1,
        plain.whitening.input_size,
        lambda: 3,
    )
    windows, waveforms = next(iter(batch))
    X, y = augmented(plain, windows, waveforms, 7)
    G, z = augmented(glitchy, windows, waveforms, 7)
    assert G.shape == X.shape and torch.equal(y, z)
    changed = (G - X).abs().amax(-1) > 1e-3  # (B, C)
    count = changed.sum(-1)
    signal = y[:, 0] > 0
    assert set(count[signal].tolist()) <= {0, 1}
    assert set(count[~signal].tolist()) == {0, 1, 2}
    assert (count > 0).float().mean() > 0.3
    # whitened noise has a gain (the Welch estimate's) of about 1.1
    gain = X[count == 0].std()
    norms = (G - X)[changed].norm(dim=-1) / gain
    assert torch.allclose(norms, torch.full_like(norms, 30), rtol=0.15)


def test_windows_around_recorded_glitches(data, tmp_path):
    """With recorded_glitch_prob 1, every ifo's window holds one of the
    glitches its file records, its peak inside the whitened kernel; a
    file that records none is refused."""
    from aframe_contracts.glitches import GlitchTable

    first = BackgroundStrain.read(data[0], ["H1", "L1"])
    t0 = first.t0
    glitches = GlitchTable(
        t0 + np.array([30.0, 100.0, 60.0]),
        np.array(["H1", "H1", "L1"]),
        np.array([10.0, 10.0, 10.0]),
        np.array([-1, -1, -1]),
    )
    path = tmp_path / "glitchy.hdf5"
    BackgroundStrain(first.strain, t0, first.sample_rate, glitches).write(path)
    settings = data_settings(data, recorded_glitch_prob=1.0)
    settings["background_files"] = [str(path)]
    module = AframeDataModule(**settings)
    module.setup("fit")
    recorded = module.recorded_glitches
    batch = TrainingBatches(
        module.train_background,
        module.load_training_waveforms(),
        32,
        1,
        module.whitening.input_size,
        lambda: 5,
        recorded,
    )
    windows, _ = next(iter(batch))
    strain = module.train_background[0]
    for channel, peaks in enumerate([[30, 100], [60]]):
        # where each window starts: its first 64 samples, found
        every = strain[channel].unfold(0, 64, 1)
        for window in windows[:, channel]:
            start = int(torch.nonzero((every == window[:64]).all(-1))[0, 0])
            offsets = [p * RATE - start for p in peaks]
            assert any(recorded.first <= o <= recorded.last for o in offsets)
    settings["background_files"] = [str(data[0])]
    with pytest.raises(DataError, match="record none"):
        AframeDataModule(**settings).setup("fit")
