"""A matched filter's front end and a learned ranking of its SNRs: the
``bank`` network (``TemplateBank``).

It lives among the libraries because two stages run it: training fits
it, and the embedded inference engine's bank backend
(``aframe_serving.bank``) runs its parts on the SNR series of a whole
stream, filtered once at FFT cost, instead of per window.
"""

import json
import math

import torch

from aframe_contracts.model import WhiteningSpec
from aframe_signal.whitening import BatchWhitener

# the noise model of ``glitch_tails`` (``TemplateBank.fit_tails``): the
# Gaussian tail of a reweighted SNR is fitted from TAIL_START (below it
# Gaussian noise makes hundreds of triggers per template and hour)
TAIL_START = 4.5
# its slope is fitted from how many fewer triggers lie TAIL_STEP above
# it; fewer triggers there than MIN_TAIL_TRIGGERS cannot fix it
TAIL_STEP = 0.5
MIN_TAIL_TRIGGERS = 20
# glitches are counted above the reweighted SNR that Gaussian noise
# reaches this many times in all templates and ifos of the background
# fitted: a template's trigger there is a glitch but one time in ten
GAUSSIAN_COUNT_ABOVE_GLITCHES = 0.1
# templates whose chi-squared bands ``series_chisq`` filters at once
CHISQ_GROUP = 8
# the glitches' slope beta is drawn towards 1 per unit SNR, as if this
# many triggers with it were among those fitted
BETA_PRIOR = 1.0
BETA_PRIOR_COUNT = 3
# single-ifo triggers: one per template and ifo per TAIL_CLUSTER seconds
# of background, searched TAIL_BATCH windows at a time
TAIL_CLUSTER = 1.0
TAIL_BATCH = 64
# the log glitch excess of a template with none: exp() of it is 0
NO_GLITCHES = -1e4


class TemplateBank(torch.nn.Module):
    """A matched filter's front end, and a learned ranking of its SNRs.

    The first layer correlates each ifo's whitened window with a bank of
    ``templates`` whitened waveforms and their quadratures (unit-norm
    filters, so the outputs of white unit-variance noise have unit
    variance): ``rho_c(k, t)``, the SNR of template k in ifo c at lag t,
    maximised over phase, as a coincident matched filter computes it
    (the MFCNN of Wang et al. 2020 starts the same way).  The other ifos'
    SNRs are max-pooled over ``coincidence`` seconds either side (the
    10 ms light travel time between the LIGO sites, and a margin).  For
    each template, the lag of the largest network SNR gives its ifos'
    SNRs to a small network shared by all templates, plus a bias per
    template (templates differ in how often noise mimics them); the
    window's logit is the largest over templates.

    With ``chisq_bins`` > 0, each ifo's SNR is reweighted by a
    signal-consistency test before the ranking, as a matched filter's is:
    at that ifo's peak, the template is split into ``chisq_bins``
    frequency bands of equal power, and Allen's chi-squared (Allen 2005,
    PRD 71, 062001) measures how far the SNR of each band is from its
    share of the whole.  A chirp that matches the template has a reduced
    chi-squared near 1; a glitch, whose power sits in a few bands, has a
    large one.  The ranking then sees PyCBC's reweighted SNR (``newsnr``)
    instead of the SNR, which equals it for signals and Gaussian noise,
    so a ranking trained on Gaussian noise alone already discounts
    glitches.

    A blip that looks like the merger of a heavy binary keeps most of its
    power inside such a template's band, where the chi-squared test looks.
    With ``sine_gaussian_q`` > 0, a second test looks outside it, as
    PyCBC's sine-Gaussian chi-squared does (Nitz 2018, CQG 35, 035016):
    at each ifo's peak, the whitened data around the merger are projected
    on sine-Gaussians of that quality factor at frequencies from the
    template's 90% power frequency up to ``sine_gaussian_fmax`` of the
    Nyquist frequency, made orthonormal and orthogonal to the template.
    In Gaussian noise, with or without a matching chirp, the sum of their
    squared SNRs is chi-squared with two degrees of freedom per tile; a
    blip that rings above the template's band makes it large.  Where its
    reduced value exceeds ``sine_gaussian_threshold``, the reweighted SNR
    is divided by the square root of their ratio.  The test vetoes in
    evaluation mode only (validation, export, the search): the ranking
    is trained without it, on the glitches it would remove.

    A glitch is in one ifo; a signal is in both LIGO detectors at
    comparable SNRs, since their arms are nearly aligned: over random
    skies and orientations, weighted by the volume each is seen in, one
    site's amplitude exceeds 2.5 times the other's for 1% of signals.
    With ``max_snr_ratio`` > 0, an ifo whose SNR exceeds that many times
    the largest of the other ifos' has its reweighted SNR divided by the
    excess, so that no ranking, however trained, can call a loud event
    in one ifo alone a signal.  The ratio is of the SNRs before the
    tests, the amplitudes the argument is about: a blip of SNR 17
    that the tests reweight to 6 beside noise of 3 in the other ifo is
    still 5.7 times louder there, and reaches the ranking at 2.6, where
    capping the reweighted SNRs at 2.5 times each other would pass it.
    Like the sine-Gaussian test, the ratio vetoes in evaluation mode
    only.

    The bank starts empty and is filled by ``initialise`` from whitened
    training signals before training (``Aframe.on_fit_start``); it is
    saved with the weights and fixed unless ``learn_templates``.

    Args:
        num_ifos: input channels.
        sample_rate: samples per second of the windows.
        templates: waveforms in the bank.
        template_length: each template's span (s), ending
            ``post_merger`` after the merger.
        post_merger: template span after the merger (s).
        coincidence: the largest time between the ifos' peaks (s).
        head: hidden units of the ranking network.
        learn_templates: train the templates with the rest.
        chisq_bins: frequency bands of the chi-squared test; 0: none,
            the ranking sees the SNRs.
        sine_gaussian_q: quality factor of the sine-Gaussian test's
            tiles; 0: no test.
        sine_gaussian_fmax: the tiles' highest frequency, as a fraction
            of the Nyquist frequency.
        sine_gaussian_threshold: the reduced sine-Gaussian chi-squared
            above which the SNR is reweighted.
        max_snr_ratio: the largest ratio of an ifo's SNR to the other
            ifos' largest that a signal has; an ifo beyond it has its
            reweighted SNR divided by the excess.  0: no such veto.
        glitch_tails: the search maps each ifo's reweighted SNR in each
            template to the value Gaussian noise reaches as often, from
            a fit of the training background's single-ifo peaks
            (``fit_tails``).
    """

    def __init__(
        self,
        num_ifos: int,
        sample_rate: float,
        templates: int,
        template_length: float,
        post_merger: float = 0.05,
        coincidence: float = 0.012,
        head: int = 32,
        learn_templates: bool = False,
        chisq_bins: int = 0,
        sine_gaussian_q: float = 0.0,
        sine_gaussian_fmax: float = 0.8,
        sine_gaussian_threshold: float = 2.0,
        max_snr_ratio: float = 0.0,
        glitch_tails: bool = False,
    ) -> None:
        super().__init__()
        # what rebuilds it around its weights (``settings``)
        self._settings = {
            "num_ifos": num_ifos,
            "sample_rate": sample_rate,
            "templates": templates,
            "template_length": template_length,
            "post_merger": post_merger,
            "coincidence": coincidence,
            "head": head,
            "learn_templates": learn_templates,
            "chisq_bins": chisq_bins,
            "sine_gaussian_q": sine_gaussian_q,
            "sine_gaussian_fmax": sine_gaussian_fmax,
            "sine_gaussian_threshold": sine_gaussian_threshold,
            "max_snr_ratio": max_snr_ratio,
            "glitch_tails": glitch_tails,
        }
        if chisq_bins < 0 or chisq_bins == 1:
            raise ValueError(
                "the chi-squared test needs chisq_bins >= 2 (0: no test), "
                f"got {chisq_bins}"
            )
        if (chisq_bins or sine_gaussian_q) and learn_templates:
            raise ValueError(
                "the signal-consistency tests are cut from fixed templates: "
                "set learn_templates, or chisq_bins and sine_gaussian_q, "
                "not both"
            )
        if glitch_tails and learn_templates:
            raise ValueError(
                "the noise of glitch_tails is fitted to fixed templates "
                "before training: set learn_templates or glitch_tails, not "
                "both"
            )
        if sine_gaussian_q < 0 or not 0 < sine_gaussian_fmax <= 1:
            raise ValueError(
                "the sine-Gaussian test needs sine_gaussian_q >= 0 (0: no "
                "test) and 0 < sine_gaussian_fmax <= 1 (of the Nyquist "
                f"frequency), got {sine_gaussian_q} and {sine_gaussian_fmax}"
            )
        if max_snr_ratio and (max_snr_ratio < 1 or num_ifos < 2):
            raise ValueError(
                "max_snr_ratio is the largest ratio of an ifo's SNR to "
                "the other ifos' a signal has: it needs 2 or more ifos and "
                f"a value >= 1 (0: no such veto), got {max_snr_ratio} with "
                f"{num_ifos} ifo(s)"
            )
        self.max_snr_ratio = max_snr_ratio
        if sine_gaussian_threshold <= 0:
            raise ValueError(
                "sine_gaussian_threshold must be > 0, got "
                f"{sine_gaussian_threshold}"
            )
        if templates < 1 or not 0 <= post_merger < template_length:
            raise ValueError(
                "the template bank needs templates >= 1 and "
                f"0 <= post_merger < template_length, got {templates}, "
                f"{post_merger} and {template_length}"
            )
        self.num_ifos = num_ifos
        self.sample_rate = sample_rate
        self.template_size = round(template_length * sample_rate)
        self.post_merger = round(post_merger * sample_rate)
        self.pool = 2 * round(coincidence * sample_rate) + 1
        # filter 2k is template k's whitened waveform, 2k + 1 its
        # quadrature (shifted by a quarter cycle)
        bank = torch.zeros(2 * templates, 1, self.template_size)
        self.bank = torch.nn.Parameter(bank, requires_grad=learn_templates)
        self.register_buffer("initialised", torch.tensor(False))
        # the bands of each template and its quadrature, (K, T, 2 bins),
        # and each band's share of the template's power, (K, bins); set
        # with the bank (``set_bins``), from which they follow.  A bank
        # without the test has neither, as banks had before it.
        self.chisq_bins = chisq_bins
        if chisq_bins:
            size = self.template_size
            bins = torch.zeros(templates, size, 2 * chisq_bins)
            self.register_buffer("bins", bins)
            weights = torch.zeros(templates, chisq_bins)
            self.register_buffer("bin_weights", weights)
        # the sine-Gaussian tiles of each template, (K, W, 2 tiles), the
        # columns beyond a template's own tiles zero, and each template's
        # degrees of freedom (K,); set with the bank (``set_tiles``)
        self.sine_gaussian_q = sine_gaussian_q
        self.sine_gaussian_fmax = sine_gaussian_fmax
        self.sine_gaussian_threshold = sine_gaussian_threshold
        if sine_gaussian_q:
            self.tile_size = round(TILE_SPAN * sample_rate)
            count = len(
                tile_frequencies(
                    LOWEST_TILE, self.highest_tile_frequency, sine_gaussian_q
                )
            )
            tiles = torch.zeros(templates, self.tile_size, 2 * count)
            self.register_buffer("tiles", tiles)
            self.register_buffer("tile_dof", torch.ones(templates))
        # the noise model of each ifo's reweighted SNR in each template
        # (``fit_tails``): the Gaussian tail's slope, the glitches' slope
        # and the SNR they are counted above, and the log of each
        # template's glitch rate over the Gaussian rate (NO_GLITCHES
        # where it has none)
        self.glitch_tails = glitch_tails
        if glitch_tails:
            self.register_buffer("tail_model", torch.ones(3))
            excess = torch.full((num_ifos, templates), NO_GLITCHES)
            self.register_buffer("log_glitch_excess", excess)
            self.register_buffer("tails_fitted", torch.tensor(False))
        self.bias = torch.nn.Parameter(torch.zeros(templates))
        self.rank = torch.nn.Sequential(
            torch.nn.Linear(num_ifos, head),
            torch.nn.ReLU(),
            torch.nn.Linear(head, head),
            torch.nn.ReLU(),
            torch.nn.Linear(head, 1),
        )

    @property
    def templates(self) -> int:
        return self.bias.shape[0]

    @property
    def highest_tile_frequency(self) -> float:
        """The sine-Gaussian tiles' highest frequency (Hz)."""
        return self.sine_gaussian_fmax * self.sample_rate / 2

    def response(self, kernel_size: int) -> list[float]:
        """Where the bank fires on a kernel of ``kernel_size`` samples:
        [first, last] of the kernel's end minus the merger time (s).

        The template at lag l ends at l + template_size, its merger
        post_merger before that; lags run from 0 to kernel_size -
        template_size.
        """
        last = kernel_size - self.template_size + self.post_merger
        return [self.post_merger / self.sample_rate, last / self.sample_rate]

    @property
    def settings(self) -> dict:
        """The arguments it was built with: ``TemplateBank(**settings)``
        and its state dict make it again."""
        return dict(self._settings)

    def snrs(self, X: torch.Tensor) -> torch.Tensor:
        """The squared SNRs (B, C, K, L) of every template at every lag."""
        batch, channels, size = X.shape
        filtered = torch.nn.functional.conv1d(
            X.reshape(batch * channels, 1, size), self.bank
        )
        filtered = filtered.reshape(batch, channels, self.templates, 2, -1)
        return (filtered**2).sum(3)

    def peaks(self, snr2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each template's coincident peak: the squared SNR (B, C, K)
        and the lag (B, C, K) of each ifo there.

        The peak is the lag of the largest network SNR, where the other
        ifos' SNRs are their largest within ``coincidence`` of it (the
        light travel time between the sites, and a margin).
        """
        batch, channels, count, lags = snr2.shape
        half = self.pool // 2
        if self.num_ifos > 1:
            others = snr2[:, 1:].reshape(batch, -1, lags)
            others = torch.nn.functional.max_pool1d(
                others, self.pool, stride=1, padding=half
            )
            pooled = torch.cat(
                [snr2[:, :1], others.reshape(batch, -1, count, lags)], 1
            )
        else:
            pooled = snr2
        loudest = pooled.sum(1).argmax(-1)  # (B, K)
        if self.num_ifos == 1:
            return torch.gather(snr2, -1, loudest[:, None, :, None])[
                ..., 0
            ], loudest[:, None]
        # each ifo's own lag within the coincidence window; the first
        # ifo's is the loudest lag itself
        offsets = torch.arange(-half, half + 1, device=snr2.device)
        near = (loudest[:, None, :, None] + offsets).clamp(0, lags - 1)
        near = near.expand(-1, channels, -1, -1)
        values = torch.gather(snr2, -1, near)
        best = values.argmax(-1, keepdim=True)
        first = torch.full_like(best[:, :1], half)
        best = torch.cat([first, best[:, 1:]], 1)
        peak = torch.gather(values, -1, best)[..., 0]
        return peak, torch.gather(near, -1, best)[..., 0]

    def chisq(self, X: torch.Tensor, lags: torch.Tensor) -> torch.Tensor:
        """Allen's chi-squared (B, C, K) of each template in each ifo's
        window at ``lags`` (B, C, K): sum over bands b of
        |z_b - w_b z|^2 / w_b, with z_b the band's complex SNR, w_b its
        share of the template's power and z their sum.  In Gaussian noise
        it has 2 bins - 2 degrees of freedom, with or without a matching
        signal.
        """
        batch, channels, _ = X.shape
        parts = per_template(X, lags, self.bins, self.template_size)
        # each band's two phases
        parts = parts.reshape(batch, channels, -1, self.chisq_bins, 2)
        total = parts.sum(-2, keepdim=True)
        residual = parts - self.bin_weights.unsqueeze(-1) * total
        return ((residual**2).sum(-1) / self.bin_weights).sum(-1)

    def sine_gaussian_chisq(
        self, X: torch.Tensor, lags: torch.Tensor
    ) -> torch.Tensor:
        """The reduced sine-Gaussian chi-squared (B, C, K) of each
        template in each ifo's window at ``lags`` (B, C, K): the sum of
        the squared SNRs of the template's tiles, centred on its merger,
        over their degrees of freedom."""
        half = self.tile_size // 2
        # the merger of a template at lag l is at l + size - post_merger;
        # the data are padded so that a tile may reach past the kernel
        padded = torch.nn.functional.pad(X, (half, half))
        first = lags + (self.template_size - self.post_merger)
        snrs = per_template(padded, first, self.tiles, self.tile_size)
        return (snrs**2).sum(-1) / self.tile_dof

    def filter_spectra(self) -> torch.Tensor:
        """The filters' conjugate spectra (2K, F) on the grid of
        ``block_length``, with which ``series_snrs`` correlates."""
        return correlation_spectra(self.bank[:, 0].detach())

    def series_snrs(
        self, series: torch.Tensor, spectra: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The squared SNRs (C, K, N - T + 1) of every template at every
        lag of a whitened series (C, N), by FFT: the same numbers as
        ``snrs`` on every window cut from it, at a fraction of the cost.
        ``spectra``: ``filter_spectra``, where kept."""
        if spectra is None:
            spectra = self.filter_spectra()
        filtered = blocked_correlation(series, spectra, self.template_size)
        channels, blocks, _, step = filtered.shape
        filtered = filtered.view(channels, blocks, self.templates, 2, step)
        # the template's two phases
        snr2 = filtered[..., 0, :].square()
        snr2 += filtered[..., 1, :].square()
        lags = series.shape[-1] - self.template_size + 1
        return unblocked(snr2)[..., :lags]

    def windows(
        self,
        whitened: torch.Tensor,
        kernel_size: int,
        stride: int,
        spectra: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The kernels (B, C, kernel_size), one every ``stride`` samples
        of a whitened series (C, N), and their squared SNRs
        (B, C, K, lags), filtered once at FFT cost (``series_snrs``):
        what ``forward`` takes, as the bank backend and ``fit_tails``'s
        triggers run it."""
        lags = kernel_size - self.template_size + 1
        snr2 = self.series_snrs(whitened, spectra)
        snr2 = snr2.unfold(-1, lags, stride).permute(2, 0, 1, 3)
        # copied once, the coincidence's pooling runs 2x faster
        snr2 = snr2.contiguous()
        kernels = whitened.unfold(-1, kernel_size, stride).transpose(0, 1)
        return kernels, snr2

    # the timeslides' form of the network (``lag_terms`` once per ifo
    # window, ``coincident_score`` per pairing of windows): every window's
    # tests at every lag, by FFT, instead of at the peak ``peaks`` picks

    def lag_spectra(self) -> dict[str, torch.Tensor]:
        """The conjugate spectra that ``lag_terms`` correlates with: the
        templates', and the consistency tests' filters (each template's
        chi-squared bands and sine-Gaussian tiles, both phases)."""
        spectra = {"snr": self.filter_spectra()}
        if self.chisq_bins:
            bands = self.bins.transpose(1, 2).flatten(0, 1)
            spectra["chisq"] = correlation_spectra(bands)
        # a template's own tiles, not the zero columns beyond them (a
        # bank whose templates have none has no test to take)
        if self.sine_gaussian_q and self.tile_columns.any():
            tiles = self.tiles.transpose(1, 2)[self.tile_columns]
            spectra["sine_gaussian"] = correlation_spectra(tiles)
        return spectra

    @property
    def tile_columns(self) -> torch.Tensor:
        """Which of each template's tile columns (K, 2 tiles) are its
        own: the others are zero."""
        return self.tiles.abs().sum(1) > 0

    def series_chisq(
        self, series: torch.Tensor, spectra: torch.Tensor
    ) -> torch.Tensor:
        """Allen's chi-squared (C, K, N - T + 1) of every template at
        every lag of a whitened series (C, N), by FFT: ``chisq`` at every
        lag.  ``spectra``: ``lag_spectra()["chisq"]``."""
        bins, size = self.chisq_bins, self.template_size
        lags = series.shape[-1] - size + 1
        weights = self.bin_weights[:, :, None, None]
        chisq = []
        # a few templates at a time: all bands of all templates at once
        # hold 16x the series' SNRs
        group = CHISQ_GROUP * 2 * bins
        for first in range(0, spectra.shape[0], group):
            parts = blocked_correlation(
                series, spectra[first : first + group], size
            )
            channels, blocks, _, step = parts.shape
            parts = parts.reshape(channels, blocks, -1, bins, 2, step)
            total = parts.sum(3, keepdim=True)
            k = first // (2 * bins)
            w = weights[k : k + parts.shape[2]]
            residual = parts - w * total
            chisq.append(((residual**2).sum(4) / w[..., 0, :]).sum(3))
        return unblocked(torch.cat(chisq, 2))[..., :lags]

    def series_sine_gaussian(
        self, series: torch.Tensor, spectra: torch.Tensor
    ) -> torch.Tensor:
        """The reduced sine-Gaussian chi-squared (C, K, N - T + 1) of
        every template at every lag of a whitened series (C, N), by FFT:
        ``sine_gaussian_chisq`` at every lag whose tiles lie inside the
        series, the series' ends padded with zeros for the others.
        ``spectra``: ``lag_spectra()["sine_gaussian"]``."""
        size = self.tile_size
        lags = series.shape[-1] - self.template_size + 1
        # the tiles of the template at lag l start at l + offset
        offset = self.tile_offset
        front = max(-offset, 0)
        back = max(0, lags + offset + size - series.shape[-1])
        padded = torch.nn.functional.pad(series, (front, back))
        tiles = blocked_correlation(padded, spectra, size)
        channels, blocks, _, step = tiles.shape
        # each template's sum over its own tiles
        owner = self.tile_columns.nonzero()[:, 0]
        chisq = tiles.new_zeros(channels, blocks, self.templates, step)
        chisq.index_add_(2, owner, tiles.square())
        chisq /= self.tile_dof[:, None]
        first = offset + front
        return unblocked(chisq)[..., first : first + lags]

    @property
    def tile_offset(self) -> int:
        """Where the sine-Gaussian tiles of the template at lag l start:
        l + tile_offset (centred on its merger)."""
        return self.template_size - self.post_merger - self.tile_size // 2

    @torch.no_grad()
    def lag_terms(
        self,
        whitened: torch.Tensor,
        kernel_size: int,
        stride: int,
        spectra: dict[str, torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The network's per-ifo part of every window of a whitened
        series (C, N), one every ``stride`` samples, as in evaluation:
        for each window, ifo, template and lag (B, C, K, lags), what the
        coincidence compares and the ranked SNR it would pick there.

        For the first ifo, its squared SNR at the lag and its SNR
        reweighted by the tests (and mapped by ``glitch_tails``); for
        each other ifo, its largest squared SNR within ``coincidence``
        of the lag, in the window, as ``peaks`` pools it, and its ranked
        SNR where that is.  Each ifo's terms depend on its own window
        only, so a timeslide pairs them (``coincident_score``) without
        filtering again.  ``spectra``: ``lag_spectra()``.
        """
        size = self.template_size
        lags = kernel_size - size + 1
        snr2 = self.series_snrs(whitened, spectra["snr"])

        def windowed(series: torch.Tensor) -> torch.Tensor:
            # (C, K, N') -> (B, C, K, lags)
            windows = series.unfold(-1, lags, stride).permute(2, 0, 1, 3)
            return windows.contiguous()

        snr2 = windowed(snr2)
        chisq = sine_gaussian = None
        if self.chisq_bins:
            chisq = windowed(self.series_chisq(whitened, spectra["chisq"]))
        if "sine_gaussian" in spectra:
            sine_gaussian = windowed(
                self.series_sine_gaussian(whitened, spectra["sine_gaussian"])
            )
            # a window is padded with zeros where the tiles of its first
            # or last lags reach past it: those lags are taken on it
            kernels = whitened.unfold(-1, kernel_size, stride).transpose(0, 1)
            inside = range(
                max(0, -self.tile_offset),
                min(lags, kernel_size - self.tile_size - self.tile_offset + 1),
            )
            shape = kernels.shape[:2] + (self.templates,)
            for lag in set(range(lags)) - set(inside):
                at = torch.full(shape, lag, device=kernels.device)
                sine_gaussian[..., lag] = self.sine_gaussian_chisq(kernels, at)
        rho = self.reweighted((snr2 + 1e-6).sqrt(), chisq, sine_gaussian)
        if self.glitch_tails:
            rho = self.gaussian_equivalent(rho)
        if self.num_ifos == 1:
            return snr2, rho
        batch, channels, count, _ = snr2.shape
        pooled, where = torch.nn.functional.max_pool1d(
            snr2[:, 1:].reshape(batch, -1, lags),
            self.pool,
            stride=1,
            padding=self.pool // 2,
            return_indices=True,
        )
        pooled = pooled.reshape(batch, channels - 1, count, lags)
        where = where.reshape(batch, channels - 1, count, lags)
        others = torch.gather(rho[:, 1:], -1, where)
        return (
            torch.cat([snr2[:, :1], pooled], 1),
            torch.cat([rho[:, :1], others], 1),
        )

    def coincident_score(
        self,
        peak: torch.Tensor,
        rho: torch.Tensor,
        lags: torch.Tensor,
        kernel_size: int,
    ) -> torch.Tensor:
        """The logits and merger offsets (B, 2) of windows of
        ``kernel_size`` samples from ``lag_terms`` at their coincident
        peak, the lag of the largest sum of the coincident terms: each
        ifo's squared SNR there ``peak`` and ranked SNR ``rho`` (B, C,
        K), and that lag in the first ifo ``lags`` (B, K).  The same as
        ``timed`` on those windows, in evaluation: the SNR-ratio veto,
        then the ranking."""
        snr = (peak + 1e-6).sqrt()
        return self.timed_score(
            self.snr_ratio_vetoed(rho, snr), lags, kernel_size
        )

    def tested_snrs(
        self, X: torch.Tensor, snr: torch.Tensor, lags: torch.Tensor
    ) -> torch.Tensor:
        """The SNRs (B, C, K) of each template in each ifo at ``lags``,
        reweighted by the consistency tests the bank has."""
        chisq = sine_gaussian = None
        if self.chisq_bins:
            chisq = self.chisq(X, lags)
        # vetoes of the search, not features to train on: trained behind
        # the sine-Gaussian test, the ranking saw too few glitches to
        # learn that one loud ifo is not a signal, and did worse on
        # glitchy data
        if self.sine_gaussian_q and not self.training:
            sine_gaussian = self.sine_gaussian_chisq(X, lags)
        return self.reweighted(snr, chisq, sine_gaussian)

    def reweighted(
        self,
        snr: torch.Tensor,
        chisq: torch.Tensor | None,
        sine_gaussian: torch.Tensor | None,
    ) -> torch.Tensor:
        """SNRs reweighted by the values of the tests where they were
        taken: Allen's chi-squared (``chisq``) and the reduced
        sine-Gaussian chi-squared (``sine_gaussian_chisq``); None where
        a test does not apply."""
        rho = snr
        if chisq is not None:
            rho = reweighted_snr(rho, chisq / (2 * self.chisq_bins - 2))
        if sine_gaussian is not None:
            excess = sine_gaussian / self.sine_gaussian_threshold
            rho = rho * torch.clamp(excess, min=1.0).rsqrt()
        return rho

    def ranked_snrs(
        self, X: torch.Tensor, snr2: torch.Tensor | None = None
    ) -> torch.Tensor:
        """What the ranking sees: each template's SNR (B, C, K) in each
        ifo at its coincident peak, reweighted by the consistency tests
        the bank has.  ``snr2``: the windows' squared SNRs (``snrs``),
        where they were computed already."""
        return self.ranked_peaks(X, snr2)[0]

    def ranked_peaks(
        self, X: torch.Tensor, snr2: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``ranked_snrs``, and the lags (B, C, K) of each template's
        coincident peak in each ifo."""
        peak, lags = self.peaks(self.snrs(X) if snr2 is None else snr2)
        snr = (peak + 1e-6).sqrt()
        rho = self.tested_snrs(X, snr, lags)
        if self.glitch_tails and not self.training:
            rho = self.gaussian_equivalent(rho)
        return self.snr_ratio_vetoed(rho, snr), lags

    def snr_ratio_vetoed(
        self, rho: torch.Tensor, snr: torch.Tensor
    ) -> torch.Tensor:
        """Reweighted SNRs (B, C, K) divided by how far each ifo's SNR
        exceeds ``max_snr_ratio`` times the other ifos' largest, in
        evaluation, where the bank has that veto."""
        if self.max_snr_ratio and not self.training:
            excess = snr / (self.max_snr_ratio * loudest_other(snr))
            rho = rho / torch.clamp(excess, min=1.0)
        return rho

    def single_ifo_peaks(
        self, X: torch.Tensor, snr2: torch.Tensor
    ) -> torch.Tensor:
        """Each template's loudest reweighted SNR (B, C, K) in each ifo
        of each window, alone: the single-ifo triggers ``fit_tails``
        fits."""
        peak, lags = snr2.max(-1)
        return self.tested_snrs(X, (peak + 1e-6).sqrt(), lags)

    def gaussian_equivalent(self, rho: torch.Tensor) -> torch.Tensor:
        """Each ifo's reweighted SNR (B, C, K[, lags]) in each template
        mapped to the value at which Gaussian noise alone is as common.

        The fitted noise rate above rho is a Gaussian tail,
        R exp(-alpha (rho - TAIL_START)), shared by all templates, plus
        the template's glitches, G exp(-beta (rho - rho_g)); the value
        where the Gaussian tail alone has that rate is rho less
        ln(1 + G / R exp(alpha (rho - TAIL_START) - beta (rho - rho_g)))
        / alpha.  A template without glitches keeps its SNRs; in one
        where glitches pass the tests, a loud trigger counts for as much
        as Gaussian noise that common, as PyCBC's per-template fits of
        its noise make it (Nitz et al. 2017, ApJ 849, 118).
        """
        alpha, beta, start = (self.tail_model[i] for i in range(3))
        # (C, K), and a lag axis where rho has one (``lag_terms``)
        excess = self.log_glitch_excess.reshape(
            self.log_glitch_excess.shape + (1,) * (rho.dim() - 3)
        )
        exponent = excess + alpha * (rho - TAIL_START) - beta * (rho - start)
        return rho - torch.nn.functional.softplus(exponent) / alpha

    @torch.no_grad()
    def fit_tails(self, peaks: torch.Tensor, duration: float) -> dict:
        """Fit the noise model of ``gaussian_equivalent`` to single-ifo
        triggers of background: ``peaks`` (N, C, K), each template's
        loudest reweighted SNR in each ifo per cluster, over
        ``duration`` seconds.

        Gaussian noise, all templates and ifos together: its slope alpha
        from how many fewer triggers lie TAIL_STEP above TAIL_START than
        above it, and its rate per template R, the median template's
        above TAIL_START.  Glitches: the SNR rho_g that the Gaussian
        tail of all templates and ifos reaches
        GAUSSIAN_COUNT_ABOVE_GLITCHES times in ``duration``; each
        template's rate G of triggers above rho_g; their slope beta,
        all together (with BETA_PRIOR_COUNT triggers of slope
        BETA_PRIOR, since a short background holds few).

        Returns:
            what was fitted, to log.

        Raises:
            ValueError: too few triggers to fit the Gaussian tail.
        """
        peaks = peaks.double()
        above = (peaks > TAIL_START).sum(0).double()  # (C, K)
        further = float((peaks > TAIL_START + TAIL_STEP).sum())
        if further < MIN_TAIL_TRIGGERS:
            raise ValueError(
                f"{further:.0f} single-ifo triggers above a reweighted "
                f"SNR of {TAIL_START + TAIL_STEP} in {duration:.0f} s of "
                f"background, in {above.numel()} templates and ifos; "
                f"fitting the noise needs {MIN_TAIL_TRIGGERS}: give it "
                "more background"
            )
        alpha = math.log(float(above.sum()) / further) / TAIL_STEP
        count = float(above.median())
        start = TAIL_START + (
            math.log(count * above.numel() / GAUSSIAN_COUNT_ABOVE_GLITCHES)
            / alpha
        )
        loud = peaks > start
        glitches = loud.sum(0).double()
        excess = float((peaks - start)[loud].sum())
        beta = (float(loud.sum()) + BETA_PRIOR_COUNT) / (
            excess + BETA_PRIOR_COUNT / BETA_PRIOR
        )
        log_excess = torch.log(glitches / count).clamp(min=NO_GLITCHES)
        self.tail_model.copy_(torch.tensor([alpha, beta, start]))
        self.log_glitch_excess.copy_(log_excess.float())
        self.tails_fitted.fill_(True)
        return {
            "duration": duration,
            "alpha": alpha,
            "beta": beta,
            "glitch_start": start,
            "gaussian_rate": count / duration,
            "glitch_triggers": int(loud.sum()),
            "glitchy_templates": int((glitches > 0).sum()),
        }

    def forward(
        self, X: torch.Tensor, snr2: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.score(self.ranked_snrs(X, snr2))

    def score(self, rho: torch.Tensor) -> torch.Tensor:
        """The windows' logits (B, 1) from their ranked SNRs (B, C, K):
        the ranking of each template, the largest of them."""
        return self.template_scores(rho).amax(-1, keepdim=True)

    def template_scores(self, rho: torch.Tensor) -> torch.Tensor:
        """Each template's logit (B, K) from the ranked SNRs (B, C, K)."""
        return self.rank(rho.transpose(1, 2))[..., 0] + self.bias

    def timed(
        self, X: torch.Tensor, snr2: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The windows' logits and merger offsets (B, 2): ``forward``,
        and the time of the winning template's merger at its peak in
        the first ifo, less the end of the window (s).

        The exported detector's outputs (``aframe_export.export``): the
        lag of the template's peak places the merger to a sample, where
        the output grid alone places it to a stride.
        """
        rho, lags = self.ranked_peaks(X, snr2)
        return self.timed_score(rho, lags[:, 0], X.shape[-1])

    def timed_score(
        self, rho: torch.Tensor, lags: torch.Tensor, kernel_size: int
    ) -> torch.Tensor:
        """(B, 2) logits and merger offsets (``timed``) from the ranked
        SNRs (B, C, K) and the first ifo's peak lags (B, K) of windows
        of ``kernel_size`` samples."""
        best, winner = self.template_scores(rho).max(-1, keepdim=True)
        lag = torch.gather(lags, -1, winner)
        return torch.cat([best, self.merger_offset(lag, kernel_size)], -1)

    def merger_offset(
        self, lags: torch.Tensor, kernel_size: int
    ) -> torch.Tensor:
        """The merger time of a template at ``lags`` less the end of the
        window of ``kernel_size`` samples that holds it (s, <= 0): the
        template ends ``post_merger`` after its merger (``response``)."""
        last = kernel_size - self.template_size + self.post_merger
        return (lags - last).to(torch.float32) / self.sample_rate

    def set_tests(self) -> None:
        """Cut the consistency tests' filters from the bank: called
        whenever the bank changes."""
        self.set_bins()
        self.set_tiles()

    @torch.no_grad()
    def set_bins(self) -> None:
        """Split each template (and its quadrature) into ``chisq_bins``
        frequency bands holding equal shares of its power, as closely as
        the template's frequency grid allows: the chi-squared test's
        filters."""
        if not self.chisq_bins:
            return
        size = self.template_size
        pairs = self.bank.detach().double().reshape(-1, 2, size)
        spectra = torch.fft.rfft(pairs, dim=-1)  # (K, 2, F)
        power = spectra[:, 0].abs() ** 2
        share = power.cumsum(-1) / power.sum(-1, keepdim=True)
        # band b holds the frequencies whose cumulative share lies in
        # [b / bins, (b + 1) / bins)
        band = (share * self.chisq_bins).floor().clamp(max=self.chisq_bins - 1)
        masks = (
            band[:, None]
            == torch.arange(
                self.chisq_bins, device=band.device, dtype=band.dtype
            )[:, None]
        )  # (K, bins, F)
        filters = torch.fft.irfft(
            spectra[:, None] * masks[:, :, None], size, dim=-1
        )  # (K, bins, 2, T)
        self.bins.copy_(filters.flatten(1, 2).transpose(1, 2).float())
        weights = (filters[:, :, 0] ** 2).sum(-1)
        self.bin_weights.copy_(weights.float())

    @torch.no_grad()
    def set_tiles(self) -> None:
        """Each template's sine-Gaussian tiles: from the frequency below
        which it holds 90% of its power up to ``highest_tile_frequency``, two
        phases each, centred on the merger, made orthonormal and
        orthogonal to the template and its quadrature."""
        if not self.sine_gaussian_q:
            return
        rate, size = self.sample_rate, self.template_size
        pairs = self.bank.detach().double().reshape(-1, 2, size)
        power = torch.fft.rfft(pairs[:, 0], dim=-1).abs() ** 2
        share = power.cumsum(-1) / power.sum(-1, keepdim=True)
        frequencies = torch.fft.rfftfreq(size, 1 / rate)
        # the template's part inside the tiles' span, merger centred
        half = self.tile_size // 2
        merger = size - self.post_merger
        padded = torch.nn.functional.pad(pairs, (half, half))
        inside = padded[..., merger : merger + self.tile_size]
        times = (torch.arange(self.tile_size) - half).double() / rate
        self.tiles.zero_()
        for k in range(self.templates):
            lowest = float(frequencies[int((share[k] < 0.9).sum())])
            lowest = max(lowest, LOWEST_TILE)
            chosen = tile_frequencies(
                lowest, self.highest_tile_frequency, self.sine_gaussian_q
            )
            if not chosen:
                continue
            f = torch.tensor(chosen, dtype=torch.float64)
            width = self.sine_gaussian_q / (2**0.5 * torch.pi * f)
            envelope = torch.exp(-((times[:, None] / width) ** 2))
            phase = 2 * torch.pi * f * times[:, None]
            waves = torch.cat(
                [envelope * torch.cos(phase), envelope * torch.sin(phase)],
                1,
            )
            basis, _ = torch.linalg.qr(torch.cat([inside[k].T, waves], 1))
            self.tiles[k, :, : waves.shape[1]] = basis[:, 2:].float()
            self.tile_dof[k] = waves.shape[1]

    @torch.no_grad()
    def initialise(self, signals: torch.Tensor) -> None:
        """Fill the bank from whitened signals.

        Args:
            signals: (M, template size) whitened signals, each merging
                ``post_merger`` before its end; M at least the bank's
                size.  The bank takes the ``templates`` of them least
                alike (each next one is the candidate whose best match
                with the bank so far is lowest, the match maximised over
                phase and lag): a stochastic bank's greedy placement.
        """
        candidates = quadratures(signals.double())
        if len(candidates) < self.templates:
            raise ValueError(
                f"{len(candidates)} signals cannot fill a bank of "
                f"{self.templates} templates"
            )
        size = self.template_size
        spectra = torch.fft.rfft(candidates[:, 0], 2 * size)
        best = torch.zeros(len(candidates), dtype=candidates.dtype)
        chosen = [0]
        for _ in range(1, self.templates):
            latest = torch.fft.rfft(candidates[chosen[-1]], 2 * size)
            # cross-correlation with both phases of the latest template
            overlap = torch.fft.irfft(
                spectra[:, None] * latest.conj(), 2 * size
            )
            match = (overlap**2).sum(1).amax(-1).sqrt()
            best = torch.maximum(best, match)
            best[chosen] = float("inf")
            chosen.append(int(best.argmin()))
        bank = candidates[chosen].reshape(-1, 1, size)
        self.bank.copy_(bank.to(self.bank.dtype))
        self.set_tests()
        self.initialised.fill_(True)


# the sine-Gaussian tiles' span (s): a blip rings for tens of
# milliseconds about its peak
TILE_SPAN = 0.125
# the lowest frequency a tile may have (Hz); a template holds 90% of its
# power above it
LOWEST_TILE = 10.0


def tile_frequencies(lowest: float, highest: float, q: float) -> list[float]:
    """Centre frequencies of sine-Gaussian tiles of quality factor ``q``
    from ``lowest`` to ``highest`` (Hz), spaced so that neighbours barely
    overlap (a tile's bandwidth is about f / q)."""
    frequencies = []
    frequency = lowest
    while frequency < highest:
        frequencies.append(frequency)
        frequency *= 1 + 2.5 / q
    return frequencies


def block_length(size: int) -> int:
    """The FFT length that filters of ``size`` samples correlate a series
    in blocks of (``blocked_correlation``): the power of 2 at or above 4
    filters (blocks of a few thousand samples, filtered together, took
    40% less time than one FFT of a 16 s series)."""
    return 1 << (4 * size - 1).bit_length()


def correlation_spectra(filters: torch.Tensor) -> torch.Tensor:
    """The conjugate spectra (F, length // 2 + 1) of filters (F, size)
    on the grid of ``block_length(size)``."""
    length = block_length(filters.shape[-1])
    return torch.fft.rfft(filters, length).conj()


def blocked_correlation(
    series: torch.Tensor, spectra: torch.Tensor, size: int
) -> torch.Tensor:
    """Every filter of ``size`` samples correlated with a series (C, N)
    at every lag, by overlap-save FFTs: (C, blocks, F, step), lag
    b * step + j at [:, b, :, j] (``unblocked`` orders them); the lags
    from N - size + 1 on see the zeros padding the last block.
    ``spectra``: ``correlation_spectra``.

    Block b holds the ``length`` samples from b * step, step = length -
    size + 1; correlated circularly with a filter, it gives lags b * step
    to (b + 1) * step exactly (no lag there wraps around the block).
    """
    channels, samples = series.shape
    length = 2 * (spectra.shape[-1] - 1)
    lags = samples - size + 1
    step = length - size + 1
    blocks = -(-lags // step)
    padded = torch.nn.functional.pad(
        series, (0, (blocks - 1) * step + length - samples)
    )
    data = torch.fft.rfft(padded.unfold(-1, length, step), length)
    # (C blocks, 1, F) x (filters, F): 2.5x faster than broadcasting over
    # both the channels and the blocks
    product = data.reshape(channels * blocks, 1, -1) * spectra
    filtered = torch.fft.irfft(product, length)
    return filtered.view(channels, blocks, -1, length)[..., :step]


def unblocked(blocked: torch.Tensor) -> torch.Tensor:
    """(C, ..., blocks * step) from (C, blocks, ..., step): the lags of
    ``blocked_correlation`` in order."""
    return blocked.movedim(1, -2).flatten(-2)


def per_template(
    X: torch.Tensor, starts: torch.Tensor, filters: torch.Tensor, size: int
) -> torch.Tensor:
    """Each template's filters applied where it starts in each window:
    (B, C, K, F) from windows X (B, C, N), starts (B, C, K) and the
    templates' filters (K, size, F).

    One matrix product per template over every window and ifo: a
    product broadcast over the batch instead copies the filters once per
    window, and took 10x longer.
    """
    batch, channels, _ = X.shape
    count = filters.shape[0]
    if torch.jit.is_tracing():
        # what the exported ONNX graph runs (it has no strided view)
        index = starts.unsqueeze(-1) + torch.arange(size, device=X.device)
        windows = torch.gather(
            X.unsqueeze(2).expand(-1, -1, count, -1), -1, index
        )
    else:
        # the same windows picked from a strided view: no index of every
        # sample, 8x faster than the gather
        views = X.unfold(-1, size, 1)  # (B, C, lags, size)
        b = torch.arange(batch, device=X.device)[:, None, None]
        c = torch.arange(channels, device=X.device)[None, :, None]
        windows = views[b, c, starts]  # (B, C, K, size)
    windows = windows.reshape(batch * channels, count, size).transpose(0, 1)
    products = torch.bmm(windows, filters)  # (K, B C, F)
    return products.transpose(0, 1).reshape(batch, channels, count, -1)


@torch.no_grad()
def background_triggers(
    bank: TemplateBank,
    whitener: BatchWhitener,
    strain: torch.Tensor,
    cluster: int,
) -> torch.Tensor:
    """The single-ifo triggers (N, C, K) of a (C, T) background, whitened
    and filtered as the search does: each template's loudest reweighted
    SNR in each ifo (``single_ifo_peaks``) per ``cluster`` consecutive
    windows, the windows one ``whitener.stride`` apart."""
    spectra = bank.filter_spectra()
    step = whitener.batch_size * whitener.stride
    peaks = []
    for start in range(0, strain.shape[-1] - whitener.buffer_size + 1, step):
        whitened = whitener.whitened(
            strain[:, start : start + whitener.buffer_size]
        )
        kernels, snr2 = bank.windows(
            whitened, whitener.kernel_size, whitener.stride, spectra
        )
        peaks.append(bank.single_ifo_peaks(kernels, snr2))
    peaks = torch.cat(peaks)
    clusters = peaks.shape[0] // cluster
    peaks = peaks[: clusters * cluster].unflatten(0, (clusters, cluster))
    return peaks.amax(1)


def fit_background_tails(
    bank: TemplateBank, spec: WhiteningSpec, strains: list[torch.Tensor]
) -> dict:
    """Fit ``bank``'s noise model (``fit_tails``) to background: (C, T)
    pieces of scaled strain, whitened with ``spec`` over ``psd_length``
    of the past, as the search whitens, and searched at every lag with
    the search's tests.

    Returns:
        what was fitted, to log.
    """
    # windows that tile the lags: a power of 2 that divides the rate
    lags = spec.kernel_size - bank.template_size + 1
    stride = 1 << (lags.bit_length() - 1)
    whitener = BatchWhitener(spec, spec.sample_rate / stride, TAIL_BATCH, 1)
    cluster = max(1, round(TAIL_CLUSTER * spec.sample_rate / stride))
    long_enough = [x for x in strains if x.shape[-1] >= whitener.buffer_size]
    if not long_enough:
        raise ValueError(
            "no background piece is longer than the search's buffer "
            f"({whitener.buffer_size / spec.sample_rate:.0f} s: the PSD's "
            "past data and a batch of windows) to fit the noise on"
        )
    device = bank.bank.device
    whitener.to(device)
    training = bank.training
    # the search's tests: the sine-Gaussian test runs in evaluation only
    bank.eval()
    peaks = torch.cat(
        [
            background_triggers(bank, whitener, x.to(device), cluster)
            for x in long_enough
        ]
    )
    bank.train(training)
    duration = peaks.shape[0] * cluster * stride / spec.sample_rate
    return bank.fit_tails(peaks, duration)


def loudest_other(rho: torch.Tensor) -> torch.Tensor:
    """For each ifo (dimension 1 of ``rho``), the largest value of the
    other ifos."""
    if rho.shape[1] == 2:
        # the other one: 4x faster than the top two
        return rho.flip(1)
    top = torch.topk(rho, 2, dim=1).values
    first, second = top[:, :1], top[:, 1:2]
    return torch.where(rho >= first, second, first)


def reweighted_snr(
    rho: torch.Tensor, reduced_chisq: torch.Tensor
) -> torch.Tensor:
    """PyCBC's reweighted SNR (``newsnr``, Babak et al. 2013, PRD 87,
    024033): the SNR where the reduced chi-squared is at most 1, and
    rho / ((1 + chisq_r^3) / 2)^(1/6) above it."""
    excess = torch.maximum(reduced_chisq, torch.ones_like(reduced_chisq))
    return rho * torch.pow(0.5 + 0.5 * excess**3, -1 / 6)


def quadratures(signals: torch.Tensor) -> torch.Tensor:
    """Each signal (M, T), unit norm, with its quadrature: (M, 2, T).

    The quadrature is the signal shifted by a quarter cycle at every
    frequency (its Hilbert transform), made orthogonal to the signal.
    """
    size = signals.shape[-1]
    spectrum = torch.fft.rfft(signals)
    quadrature = torch.fft.irfft(-1j * spectrum, size)
    norm = signals.norm(dim=-1, keepdim=True)
    if (norm == 0).any():
        raise ValueError("a template signal is zero")
    cos = signals / norm
    sin = quadrature - (quadrature * cos).sum(-1, keepdim=True) * cos
    sin = sin / sin.norm(dim=-1, keepdim=True)
    return torch.stack([cos, sin], 1)


# the name, inside the TorchScript of a bank network (``torch.jit.save``'s
# extra files), of the settings that rebuild it (``TemplateBank.settings``)
SETTINGS_FILE = "bank.json"


def save_network(network: torch.jit.ScriptModule, path, settings) -> None:
    """Save a traced network; a bank's with its settings beside its
    weights, so that the bank backend can rebuild it (``load_bank``)."""
    extra = {} if settings is None else {SETTINGS_FILE: json.dumps(settings)}
    network.save(str(path), _extra_files=extra)


def load_bank(path) -> "TemplateBank | None":
    """The bank network saved in ``path`` by ``save_network``, in
    evaluation mode; None for another network, or a bank saved before
    its settings were."""
    extra = {SETTINGS_FILE: ""}
    traced = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    if not extra[SETTINGS_FILE]:
        return None
    bank = TemplateBank(**json.loads(extra[SETTINGS_FILE]))
    bank.load_state_dict(traced.state_dict())
    return bank.eval()
