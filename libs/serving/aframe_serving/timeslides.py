"""Time-slid background of a template bank at the cost of its ranking.

A timeslide changes which window of each ifo meets which, and nothing
inside a window: each ifo is whitened from its own past and filtered
alone, and only the coincidence and the ranking combine the ifos.  So a
chunk's strain is whitened and filtered once, per ifo, and every window
keeps what the coincidence needs at each of its lags
(``TemplateBank.lag_terms``: the squared SNR, pooled over the light
travel time for the ifos after the first, and the SNR reweighted by the
consistency tests there).  A timeslide then pairs each window of the
first ifo with the other ifos' windows at its offsets, finds the lag of
the largest network SNR, and ranks the SNRs there: a sum, an argmax and
the ranking network, a small fraction of the filtering.

An ifo's window is whitened with the PSD of the update it falls in, on
the ifo's own update grid.  For shifts of whole updates the outputs are
the streaming path's on the shifted strain (tests/serving/test_timeslides.py);
for others, each output is the network's on the windows paired, whose
PSDs come from up to an update earlier or later than the shifted
stream's would.
"""

import logging
import math
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from aframe_serving.bank import BankEngine
from aframe_serving.errors import StreamError
from aframe_serving.stream import Geometry

logger = logging.getLogger("aframe_serving")

# windows of the first ifo paired with every timeslide at a time: their
# partners' terms, and those of the next timeslides, stay in the cache
# (16 took half the time of 128 for the coincidence)
SLIDE_BLOCK = 16
# pairs ranked at a time: the ranking's hidden units for 1024 pairs of
# 32 templates (4 MB) stay in the cache; the timeslides ran 1.5x faster
# than with a block's pairs of every timeslide at once
RANK_PAIRS = 1024
# a progress line every this many updates filtered
PROGRESS_EVERY = 64


@dataclass
class LagTerms:
    """Every window's ``TemplateBank.lag_terms`` of one chunk, per ifo.

    Attributes:
        coincident: (C, W, K, lags) what the coincidence compares.
        ranked: (C, W, K, lags) the ranked SNR it picks there.
    """

    coincident: np.ndarray
    ranked: np.ndarray

    @property
    def windows(self) -> int:
        return self.coincident.shape[1]

    @property
    def nbytes(self) -> int:
        return self.coincident.nbytes + self.ranked.nbytes


class SlidBank:
    """A template bank's repository, analysed over many timeslides.

    Args:
        engine: the bank backend of the repository.
    """

    def __init__(self, engine: BankEngine) -> None:
        self.engine = engine
        self.geometry = Geometry.from_manifest(engine.manifest)
        with torch.no_grad():
            self.spectra = engine.bank.lag_spectra()

    def terms(self, strain: np.ndarray) -> LagTerms:
        """The lag terms of every output window of (C, N) strain,
        streamed as the streaming path streams it (the same updates,
        warm-up and valid outputs)."""
        geometry, engine, bank = self.geometry, self.engine, self.engine.bank
        updates = geometry.updates(strain)
        count = geometry.valid_outputs(strain.shape[-1])
        channels = strain.shape[0]
        lags = engine.kernel_size - bank.template_size + 1
        shape = (channels, count, bank.templates, lags)
        coincident = np.empty(shape, np.float32)
        ranked = np.empty(shape, np.float32)
        size = geometry.buffer_size - geometry.update_size
        state = np.zeros((channels, size), np.float32)
        filled = 0
        needed = geometry.warmup + math.ceil(count / geometry.batch_size)
        for index, update in enumerate(updates[:needed]):
            buffer = np.concatenate([state, update], -1)
            state = buffer[:, geometry.update_size :]
            if index < geometry.warmup:
                continue
            with torch.no_grad():
                whitened = engine.whitener.whitened(torch.from_numpy(buffer))
                terms = bank.lag_terms(
                    whitened,
                    engine.kernel_size,
                    engine.whitener.stride,
                    self.spectra,
                )
            take = min(geometry.batch_size, count - filled)
            for array, values in zip((coincident, ranked), terms, strict=True):
                array[:, filled : filled + take] = (
                    values[:take].transpose(0, 1).numpy()
                )
            filled += take
            if (index + 1) % PROGRESS_EVERY == 0:
                logger.info(
                    "filtered %d of %d updates of each ifo",
                    index + 1,
                    needed,
                )
        return LagTerms(coincident, ranked)

    def offsets(self, shifts: Iterable[float]) -> list[int]:
        """Each ifo's window offset for ``shifts`` (s), as ``shifted``
        advances each ifo: output i pairs ifo c's window i + offset[c].

        Raises:
            StreamError: fewer than two ifos, a negative shift or one
                that is not a whole number of output steps, or zero lag.
        """
        geometry = self.geometry
        rate = geometry.sample_rate
        shifts = list(shifts)
        if len(shifts) < 2:
            raise StreamError(
                f"shifts {shifts} s: a timeslide pairs two or more ifos"
            )
        offsets = []
        for shift in shifts:
            steps = shift * rate / geometry.stride
            if shift < 0 or abs(steps - round(steps)) > 1e-6:
                raise StreamError(
                    f"shift {shift} s is not a whole number (>= 0) of "
                    f"output steps ({geometry.stride / rate} s): timeslides "
                    "at ranking cost pair whole windows"
                )
            offsets.append(round(steps))
        if len(set(offsets)) == 1:
            raise StreamError(
                f"shifts {shifts} s keep the ifos at zero lag: not a "
                "timeslide (the search stays blind to it)"
            )
        return offsets

    def slides(
        self, terms: LagTerms, shifts: Iterable[list[float]]
    ) -> list[np.ndarray]:
        """The outputs (N, 2) of each timeslide (each ifo's shifts, s):
        each window's logit and merger offset, as the exported detector
        gives them."""
        return self.paired(terms, [self.offsets(shift) for shift in shifts])

    def paired(
        self, terms: LagTerms, offsets: list[list[int]]
    ) -> list[np.ndarray]:
        """The outputs of each timeslide in ``offsets``, its ifos' window
        offsets (``SlidBank.offsets``): window i of each ifo c paired at
        i + offset[c], while every ifo has one (W - max offset; none
        where the shifts are longer than the chunk's outputs).

        A block of SLIDE_BLOCK windows of the first ifo meets every
        timeslide in turn (``pair_block``).  Blocks are independent, so
        each of torch's threads pairs every so many of them: numpy's
        sums, argmaxes and takes and torch's ranking release the GIL.
        """
        counts = [max(0, terms.windows - max(o)) for o in offsets]
        results = [np.empty((count, 2), np.float32) for count in counts]
        starts = range(0, max(counts, default=0), SLIDE_BLOCK)
        workers = max(1, min(torch.get_num_threads(), len(starts)))

        def pair_blocks(first: int) -> None:
            total = np.empty(
                (SLIDE_BLOCK,) + terms.coincident.shape[2:], np.float32
            )
            for start in starts[first::workers]:
                self.pair_block(terms, offsets, counts, start, total, results)

        with ThreadPoolExecutor(workers) as pool:
            # list: a thread's error is raised here
            list(pool.map(pair_blocks, range(workers)))
        return results

    def pair_block(
        self,
        terms: LagTerms,
        offsets: list[list[int]],
        counts: list[int],
        start: int,
        total: np.ndarray,
        results: list[np.ndarray],
    ) -> None:
        """The outputs of first-ifo windows ``start`` to ``start`` +
        SLIDE_BLOCK of every timeslide, into ``results``: the other
        ifos' windows of consecutive timeslides overlap, so their terms
        are read from the cache; each timeslide's peak lags are found in
        turn, then the terms there are taken and ranked at once for the
        block's pairs of every timeslide.  ``total``: a (SLIDE_BLOCK, K,
        lags) buffer."""
        templates, lags = total.shape[1:]
        window = templates * lags
        peaks, starts, spans = [], [], []
        for index, (offset, count) in enumerate(
            zip(offsets, counts, strict=True)
        ):
            stop = min(count, start + SLIDE_BLOCK)
            if stop <= start:
                continue
            # the lag of the largest network SNR, the first where tied,
            # as ``peaks`` picks it: reading every lag of every ifo's
            # terms, the most of a timeslide's time
            network = total[: stop - start]
            coincident = terms.coincident
            np.add(
                coincident[0, start + offset[0] : stop + offset[0]],
                coincident[1, start + offset[1] : stop + offset[1]],
                out=network,
            )
            for ifo, o in enumerate(offset[2:], 2):
                network += coincident[ifo, start + o : stop + o]
            peaks.append(network.argmax(-1))
            starts.append([(start + o) * window for o in offset])
            spans.append((index, stop - start))
        if not spans:
            return
        # every pair's peak lags (N, K), and where they are in each ifo's
        # flattened (W, K, lags) terms: the timeslide's first window of
        # the ifo, the pair's window after it, the template, the lag
        lag = np.concatenate(peaks)
        sizes = [size for _, size in spans]
        within = np.concatenate([np.arange(size) for size in sizes])
        flat = lag + (within[:, None] * window + np.arange(templates) * lags)
        firsts = np.repeat(np.asarray(starts), sizes, axis=0)
        coincident, ranked = (
            np.stack(
                [
                    ifo.reshape(-1).take(flat + firsts[:, c, None])
                    for c, ifo in enumerate(arrays)
                ],
                1,
            )
            for arrays in (terms.coincident, terms.ranked)
        )
        scores = np.empty((len(lag), 2), np.float32)
        with torch.no_grad():
            # in parts whose hidden units stay in the cache
            for part in range(0, len(lag), RANK_PAIRS):
                pairs = slice(part, part + RANK_PAIRS)
                scores[pairs] = self.engine.bank.coincident_score(
                    torch.from_numpy(coincident[pairs]),
                    torch.from_numpy(ranked[pairs]),
                    torch.from_numpy(lag[pairs]),
                    self.engine.kernel_size,
                ).numpy()
        first = 0
        for index, size in spans:
            results[index][start : start + size] = scores[first : first + size]
            first += size
