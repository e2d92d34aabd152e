"""The validation metric against a direct computation."""

import numpy as np
import pytest
import torch

from aframe_train.metrics import found_fraction, max_pool, partial_auroc


def reference_partial_auroc(background, foreground, max_fpr):
    """ROC by brute force over every threshold, McClish-standardised."""
    thresholds = np.unique(np.concatenate([background, foreground]))[::-1]
    fpr = [0.0] + [(background >= t).mean() for t in thresholds]
    tpr = [0.0] + [(foreground >= t).mean() for t in thresholds]
    fpr, tpr = np.array(fpr), np.array(tpr)
    stop = np.searchsorted(fpr, max_fpr, "right")
    x = np.append(fpr[:stop], max_fpr)
    y = np.append(tpr[:stop], np.interp(max_fpr, fpr, tpr))
    area = np.trapezoid(y, x)
    low = 0.5 * max_fpr**2
    return 0.5 * (1 + (area - low) / (max_fpr - low))


@pytest.mark.parametrize("max_fpr", [1e-3, 0.01, 0.2, 1.0])
@pytest.mark.parametrize("separation", [0.0, 1.0, 3.0])
def test_matches_direct_computation(max_fpr, separation):
    rng = np.random.default_rng(int(separation * 10) + int(max_fpr * 1e3))
    background = rng.standard_normal(3000)
    foreground = rng.standard_normal(500) + separation
    # ties too
    background[:50] = foreground[:50] = 0.25
    ours = partial_auroc(
        torch.as_tensor(background), torch.as_tensor(foreground), max_fpr
    )
    assert ours == pytest.approx(
        reference_partial_auroc(background, foreground, max_fpr), abs=1e-9
    )


def test_limits():
    background = torch.linspace(0, 1, 1000)
    assert partial_auroc(background, background + 2, 1e-3) == 1.0
    full = partial_auroc(background, torch.linspace(0, 1, 500), 1.0)
    assert full == pytest.approx(0.5, abs=2e-3)


def test_max_pool_and_found_fraction():
    outputs = torch.arange(10.0)
    assert max_pool(outputs, 4).tolist() == [3, 5, 7, 9]
    assert max_pool(outputs, 1).tolist() == outputs.tolist()
    background = torch.tensor([0.0, 1.0, 2.0])
    foreground = torch.tensor([3.0, 1.5, 5.0, 0.0])
    snrs = torch.tensor([25.0, 30.0, 8.0, 12.0])
    assert found_fraction(background, foreground, snrs, 20) == 0.5
    assert np.isnan(found_fraction(background, foreground, snrs, 50))


def test_unique_rows_restores_the_window_order():
    from aframe_train.model import unique_rows

    # two ranks' shares of windows 0..4, interleaved, the last padded
    # with a repeat of window 0 as DDP's sampler does
    rank_0 = torch.tensor([[0, 0.1], [2, 0.3], [4, 0.5]])
    rank_1 = torch.tensor([[1, 0.2], [3, 0.4], [0, 0.1]])
    rows = unique_rows(torch.cat([rank_0, rank_1]))
    assert rows[:, 0].tolist() == [0, 1, 2, 3, 4]
    assert rows[:, 1].tolist() == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])
