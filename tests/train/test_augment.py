"""Injection geometry, SNR rescaling, and the negatives."""

import torch
from ml4gw.gw import compute_network_snr

from aframe_contracts.model import WhiteningSpec
from aframe_train.augment import Injector, mute_channel, swap_channels

RATE = 256


def injector():
    return Injector(
        ifos=["H1", "L1"],
        spec=WhiteningSpec(
            sample_rate=RATE,
            kernel_length=1.0,
            fduration=1.0,
            psd_length=4.0,
            fftlength=None,
            highpass=20.0,
            lowpass=None,
        ),
        kernel_left_pad=0.25,
        kernel_right_pad=0.05,
        coalescence=3 * RATE,
        snr_min=10,
        snr_max=10.0001,
        snr_index=-3,
    )


def test_merger_lands_where_asked():
    module = injector()
    responses = torch.zeros(3, 2, 4 * RATE)
    responses[:, :, 3 * RATE] = 1.0  # the coalescence sample
    merger = torch.tensor([module.first, 300, module.last])
    placed = module.place(responses, merger)
    assert placed.shape == (3, 2, 2 * RATE)
    assert torch.argmax(placed[:, 0], dim=-1).tolist() == merger.tolist()
    # drawn mergers stay inside [left pad, kernel - right pad]
    drawn = torch.argmax(module.place(responses.repeat(100, 1, 1))[:, 0], -1)
    assert drawn.min() >= RATE // 2 + RATE // 4
    assert drawn.max() <= RATE // 2 + RATE - round(0.05 * RATE) - 1


def test_projection_is_rescaled_to_the_drawn_snr():
    module = injector()
    torch.manual_seed(0)
    t = torch.arange(4 * RATE) / RATE
    chirp = torch.sin(2 * torch.pi * (30 + 10 * t) * t) * torch.exp(
        -((t - 3) ** 2)
    )
    cross = chirp[None].repeat(5, 1)
    plus = torch.roll(cross, 7, -1)
    psd = torch.ones(5, 2, 2 * RATE + 1) * 1e-2
    responses = module.project(cross, plus, psd)
    snr = compute_network_snr(responses, psd, RATE, 20.0, None)
    torch.testing.assert_close(snr, torch.full((5,), 10.0), rtol=1e-3, atol=0)


def test_swap_and_mute_break_coherence():
    signals = torch.arange(4 * 2 * 3, dtype=torch.float32).reshape(4, 2, 3)
    muted = mute_channel(signals)
    assert ((muted == 0).all(-1).sum(-1) == 1).all()
    swapped = swap_channels(signals)
    changed = (swapped != signals).any(-1)
    assert (changed.sum(-1) == 1).all()  # exactly one channel per signal
    assert swap_channels(signals[:1]).abs().sum() == 0
