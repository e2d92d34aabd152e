"""The validation metric: AUROC at low false-positive rates.

A search cares about the loudest background, so the metric compares the
injections only with the loudest background: the background outputs of
each timeslide are max-pooled over ``pool_length`` seconds (as clustering
would), and the area under the ROC curve is taken for false-positive rates
up to ``max_fpr``, standardised as McClish (1989) and scikit-learn do, so
0.5 is chance and 1 perfect.
"""

import torch


def max_pool(outputs: torch.Tensor, window: int) -> torch.Tensor:
    """Max over windows of ``window`` samples with half overlap (1d)."""
    if window <= 1 or outputs.numel() <= window:
        return outputs if window <= 1 else outputs.max().reshape(1)
    pooled = torch.nn.functional.max_pool1d(
        outputs[None, None],
        kernel_size=window,
        stride=max(window // 2, 1),
        ceil_mode=True,
    )
    return pooled.flatten()


def partial_auroc(
    background: torch.Tensor, foreground: torch.Tensor, max_fpr: float
) -> float:
    """McClish-standardised area under the ROC curve up to ``max_fpr``.

    The ROC curve steps at every distinct score; its value at ``max_fpr``
    is interpolated linearly, as in scikit-learn's ``roc_auc_score``.
    """
    scores = torch.cat([background, foreground]).double()
    labels = torch.cat(
        [torch.zeros_like(background), torch.ones_like(foreground)]
    ).double()
    order = torch.argsort(scores, descending=True)
    scores, labels = scores[order], labels[order]
    # the last index of each run of equal scores: thresholds
    distinct = torch.nonzero(torch.diff(scores)).flatten()
    last = torch.cat([distinct, torch.tensor([scores.numel() - 1])])
    tps = torch.cumsum(labels, 0)[last]
    fps = (last + 1).double() - tps
    zero = torch.zeros(1, dtype=torch.float64)
    tpr = torch.cat([zero, tps / tps[-1]])
    fpr = torch.cat([zero, fps / fps[-1]])
    limit = torch.tensor([max_fpr], dtype=torch.float64)
    stop = int(torch.searchsorted(fpr, limit))
    x = torch.cat([fpr[:stop], limit])
    interpolated = tpr[stop - 1] + (tpr[stop] - tpr[stop - 1]) * (
        max_fpr - fpr[stop - 1]
    ) / (fpr[stop] - fpr[stop - 1])
    y = torch.cat([tpr[:stop], interpolated.reshape(1)])
    area = torch.trapezoid(y, x)
    min_area = 0.5 * max_fpr**2
    return float(0.5 * (1 + (area - min_area) / (max_fpr - min_area)))


def found_fraction(
    background: torch.Tensor,
    foreground: torch.Tensor,
    snrs: torch.Tensor,
    min_snr: float,
) -> float:
    """Share of injections with SNR >= min_snr above the loudest background."""
    loud = snrs >= min_snr
    if not loud.any():
        return float("nan")
    return float((foreground[loud] > background.max()).double().mean())
