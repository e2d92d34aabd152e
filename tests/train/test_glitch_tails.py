"""The bank's model of each template's noise in each ifo (glitch_tails):
fitted to single-ifo triggers, it maps a glitchy template's reweighted
SNRs to the values Gaussian noise reaches as often, and leaves the
others alone."""

import math

import numpy as np
import pytest
import torch

from aframe_contracts.model import WhiteningSpec
from aframe_data import strain
from aframe_signal.bank import (
    TAIL_START,
    TemplateBank,
    background_triggers,
    fit_background_tails,
)
from aframe_signal.whitening import STRAIN_SCALE, BatchWhitener
from aframe_train.cli import main
from tests.train.test_networks import chirps
from tests.train.tiny import fit_args

CLUSTERS, ALPHA = 20000, 4.0


def tails_bank(ifos: int = 2, templates: int = 8) -> TemplateBank:
    return TemplateBank(ifos, 512, templates, 0.5, glitch_tails=True)


def triggers(
    glitches: int, templates: int = 8, glitchy: int = 3, seed: int = 0
) -> torch.Tensor:
    """Single-ifo triggers (N, 2, templates) of Gaussian-like noise, a
    tail of slope ALPHA above 3.5 in every template and ifo, with
    ``glitches`` more in L1's template ``glitchy`` at 6 + an exponential
    of slope 1."""
    generator = torch.Generator().manual_seed(seed)
    peaks = torch.empty(CLUSTERS, 2, templates, dtype=torch.float64)
    peaks = 3.5 + peaks.exponential_(ALPHA, generator=generator)
    rows = torch.randperm(CLUSTERS, generator=generator)[:glitches]
    louder = torch.empty(glitches, dtype=torch.float64)
    peaks[rows, 1, glitchy] = 6 + louder.exponential_(1.0, generator=generator)
    return peaks


def with_fitted_tails(bank: TemplateBank) -> TemplateBank:
    """``bank`` with its noise fitted to triggers in which L1's last
    template is glitchy."""
    bank.fit_tails(triggers(30, bank.templates, bank.templates - 1), CLUSTERS)
    return bank


def test_the_fit_finds_the_glitchy_template_and_the_slopes():
    bank = tails_bank()
    fitted = bank.fit_tails(triggers(30), CLUSTERS)
    assert fitted["alpha"] == pytest.approx(ALPHA, rel=0.06)
    assert fitted["glitchy_templates"] == 1
    assert 0.5 < fitted["beta"] < 2
    # Gaussian noise reaches the glitch threshold 0.1 times in all
    expected = (
        TAIL_START + math.log(16 * CLUSTERS * math.exp(-ALPHA) / 0.1) / ALPHA
    )
    assert fitted["glitch_start"] == pytest.approx(expected, abs=0.2)
    glitchy = bank.log_glitch_excess > -100
    assert glitchy.nonzero().tolist() == [[1, 3]]
    assert bool(bank.tails_fitted)


def test_a_glitchy_template_is_mapped_to_gaussian_rates():
    """The other templates keep their SNRs exactly; L1's template 3,
    whose 30 glitches put 30 triggers above 6 where Gaussian noise puts
    one, has as few above 6 after the map as the Gaussian tail, and as
    many above 5 (Poisson errors)."""
    peaks = triggers(30)
    bank = tails_bank().double()
    bank.fit_tails(peaks, CLUSTERS)
    mapped = bank.gaussian_equivalent(peaks)
    others = torch.ones(2, 8, dtype=torch.bool)
    others[1, 3] = False
    assert torch.equal(mapped[:, others], peaks[:, others])
    raw, seen = peaks[:, 1, 3], mapped[:, 1, 3]
    assert int((raw > 6).sum()) >= 25
    gaussian = CLUSTERS * math.exp(-ALPHA * 2.5)  # 0.9 above 6
    assert int((seen > 6).sum()) <= gaussian + 3 * math.sqrt(gaussian) + 1
    gaussian = CLUSTERS * math.exp(-ALPHA * 1.5)  # 50 above 5
    assert int((seen > 5).sum()) == pytest.approx(gaussian, abs=25)
    # lower, and in the same order
    assert torch.all(seen <= raw)
    order = raw.argsort()
    assert torch.all(seen[order].diff() >= 0)


def test_the_map_adds_the_glitch_rate_to_the_gaussian_rate():
    """Where the Gaussian tail alone is as common as the fitted noise of
    the template: R e^(-a (m - s)) = R e^(-a (r - s)) + G e^(-b (r - g))."""
    bank = tails_bank().double()
    bank.fit_tails(triggers(30), CLUSTERS)
    alpha, beta, start = bank.tail_model.tolist()
    excess = math.exp(float(bank.log_glitch_excess[1, 3]))
    rho = torch.linspace(4, 20, 33, dtype=torch.float64)
    peaks = torch.zeros(33, 2, 8, dtype=torch.float64)
    peaks[:, 1, 3] = rho
    mapped = bank.gaussian_equivalent(peaks)[:, 1, 3]
    gaussian = torch.exp(-alpha * (mapped - TAIL_START))
    total = torch.exp(-alpha * (rho - TAIL_START)) + excess * torch.exp(
        -beta * (rho - start)
    )
    assert torch.allclose(gaussian, total, rtol=1e-9)


def test_the_fit_needs_triggers_above_the_tail_start():
    bank = tails_bank()
    with pytest.raises(ValueError, match="give it more background"):
        bank.fit_tails(torch.full((100, 2, 8), 4.0), 100.0)
    spec = WhiteningSpec(512, 1.0, 1.0, 16.0, 2.0, 32, None)
    with pytest.raises(ValueError, match="no background piece is longer"):
        fit_background_tails(bank, spec, [torch.zeros(2, 512 * 10)])
    with pytest.raises(ValueError, match="learn_templates or glitch_tails"):
        TemplateBank(2, 512, 8, 0.5, glitch_tails=True, learn_templates=True)


def test_blips_in_one_ifo_make_its_templates_glitchy():
    """Coloured Gaussian noise, whitened and searched as the search does:
    no template of a bank without tests is glitchy in it.  With a
    sine-Gaussian blip of SNR ~30 every 8 s in L1, L1's templates are,
    and H1's are not."""
    rate, seconds = 512, 1800
    spec = WhiteningSpec(rate, 1.0, 1.0, 16.0, 2.0, 32, None)
    psd = "aLIGO_O4_high"
    noise = strain.simulated(["H1", "L1"], 0, seconds, rate, psd, 5)
    x = np.stack([noise["H1"], noise["L1"]]) * STRAIN_SCALE
    torch.manual_seed(4)
    bank = TemplateBank(2, rate, 6, 0.5, glitch_tails=True)
    bank.initialise(chirps(8, rate // 2, rate).float())
    clean = fit_background_tails(bank, spec, [torch.as_tensor(x).float()])
    assert clean["glitchy_templates"] == 0
    assert 3 < clean["alpha"] < 6
    assert bool(bank.tails_fitted)
    t = np.arange(-rate // 8, rate // 8) / rate
    blip = np.exp(-((t / 0.01) ** 2)) * np.cos(2 * np.pi * 120 * t)
    whitener = BatchWhitener(spec, 4, 8, 1)
    # the blip's amplitude for a whitened SNR near 30 at this PSD
    level = x[1, : whitener.buffer_size].std()
    for start in range(20 * rate, (seconds - 20) * rate, 8 * rate):
        x[1, start : start + t.size] += 3 * level * blip
    blips = fit_background_tails(bank, spec, [torch.as_tensor(x).float()])
    glitchy = bank.log_glitch_excess > -100
    assert blips["glitchy_templates"] >= 1
    assert not glitchy[0].any() and glitchy[1].any()
    # the triggers themselves: one per template, ifo and second
    peaks = background_triggers(
        bank.eval(), whitener, torch.as_tensor(x[:, : 60 * rate]).float(), 4
    )
    assert peaks.shape[1:] == (2, 6)


def test_a_fit_saves_the_noise_fitted_to_its_training_background(
    data, tmp_path, caplog
):
    """aframe-train fit with glitch_tails: the noise is fitted before
    training, logged, and saved with the network."""
    args = fit_args(data, tmp_path) + [
        "--model.architecture=bank",
        "--model.templates=4",
        "--model.template_length=0.5",
        "--data.kernel_left_pad=0.5",
        "--model.glitch_tails=true",
    ]
    with caplog.at_level("INFO", logger="aframe_train"):
        assert main(args) == 0
    assert "the bank's noise, fitted to 1" in caplog.text
    network = torch.jit.load(tmp_path / "model.pt")
    assert bool(network.tails_fitted)
    assert float(network.tail_model[0]) > 0
