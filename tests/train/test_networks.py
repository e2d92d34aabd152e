"""The networks: shapes, receptive fields, settings errors, and a fit."""

import numpy as np
import pytest
import scipy.stats
import torch
from ml4gw.nn.norm import GroupNorm1D

from aframe_contracts.model import ModelSettings
from aframe_signal.bank import TemplateBank, quadratures, reweighted_snr
from aframe_train.cli import main
from aframe_train.model import ModelError, network
from aframe_train.networks import ConvNet, receptive_field
from tests.train.tiny import RATE, fit_args

CONVNET = {
    "channels": [8, 8, 16],
    "kernel_sizes": [15, 7, 7],
    "pools": [4, 1, 2],
}


def test_convnet_gives_one_logit_per_window():
    net = ConvNet(2, **CONVNET, norm_groups=4)
    assert net(torch.randn(5, 2, 256)).shape == (5, 1)


def test_receptive_field_is_the_inputs_a_feature_depends_on():
    """The span computed from the layers is the span autograd sees."""
    torch.manual_seed(0)
    net = ConvNet(1, **CONVNET)
    # GroupNorm normalises over the whole window: the span is the
    # convolutions' and poolings', so measure it without the norms
    features = torch.nn.Sequential(
        *[
            layer
            for layer in list(net)[:-5]
            if not isinstance(layer, GroupNorm1D)
        ]
    )
    x = torch.randn(1, 1, 512, requires_grad=True)
    out = features(x)
    out[0, :, out.shape[-1] // 2].sum().backward()
    touched = torch.nonzero(x.grad[0, 0])[:, 0]
    span = int(touched[-1] - touched[0]) + 1
    # max-pooling passes the gradient through one input of each window,
    # so the measured span can fall short of the bound by less than the
    # last stride
    expected = receptive_field(CONVNET["kernel_sizes"], CONVNET["pools"])
    assert expected - 8 < span <= expected
    assert expected == 1 + 14 + 3 + 6 * 4 + 6 * 4 + 1 * 4


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"kernel_sizes": [15, 8, 7]}, "must be odd"),
        ({"pools": [4, 1]}, "one entry per layer"),
        ({"channels": [8, 0, 16]}, "must be positive"),
    ],
)
def test_convnet_settings_errors(settings, message):
    with pytest.raises(ModelError, match=message):
        network(2, "convnet", 16, None, **{**CONVNET, **settings})


def test_missing_settings_are_named():
    with pytest.raises(ModelError, match="model.layers is needed"):
        network(2, "resnet", 16, None, None, None, None)
    with pytest.raises(ModelError, match="model.kernel_sizes, model.pools"):
        network(2, "convnet", 16, None, [8], None, None)
    with pytest.raises(ModelError, match="'vit' is not resnet, convnet or"):
        network(2, "vit", 16, [1], None, None, None)


def convnet_args(data, run_dir, **settings) -> list[str]:
    args = fit_args(data, run_dir) + ["--model.architecture=convnet"]
    for name, value in {**CONVNET, **settings}.items():
        args.append(f"--model.{name}={value}")
    return args


def test_fit_a_convnet(data, tmp_path):
    assert main(convnet_args(data, tmp_path)) == 0
    network = torch.jit.load(tmp_path / "model.pt")
    assert network(torch.randn(3, 2, RATE)).shape == (3, 1)
    # it fires wherever the merger is in its kernel
    settings = ModelSettings.read(tmp_path / "model.json")
    assert settings.response is None
    assert settings.response_span == (0.0, 1.0)


def test_fit_refuses_bad_convnet_settings(data, tmp_path, capsys):
    args = convnet_args(data, tmp_path, kernel_sizes=[15, 8, 7])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "aframe-train: error: model: convnet kernel_sizes must be odd" in (
        err
    )


def chirps(count: int, size: int, rate: float) -> torch.Tensor:
    """Whitened-like chirps of different rates, each ending in a merger."""
    t = torch.arange(size, dtype=torch.float64) / rate
    tau = t[-1] + 0.01 - t
    chirp = [
        torch.sin(2 * torch.pi * f0 * tau ** (5 / 8) * 2) * tau ** (-1 / 4)
        for f0 in torch.linspace(20, 80, count)
    ]
    return torch.stack(chirp)


def test_quadratures_are_orthonormal_quarter_cycle_shifts():
    t = torch.arange(512, dtype=torch.float64) / 512
    pair = quadratures(torch.cos(2 * torch.pi * 32 * t)[None])[0]
    assert torch.allclose(pair.norm(dim=-1), torch.ones(2, dtype=t.dtype))
    assert abs(float(pair[0] @ pair[1])) < 1e-12
    # the Hilbert transform of a cosine is the sine
    sine = torch.sin(2 * torch.pi * 32 * t)
    assert torch.allclose(pair[1], sine / sine.norm(), atol=1e-12)


def bank_of(signals: torch.Tensor, rate: float, **settings) -> TemplateBank:
    size = signals.shape[-1]
    bank = TemplateBank(2, rate, len(signals), size / rate, **settings)
    bank.initialise(signals)
    return bank


def test_bank_measures_the_snr_of_a_template_at_any_phase():
    """Noiseless data holding a template at SNR 9 and phase 1 rad: the
    filter's SNR at the template's lag is 9 in both ifos."""
    rate, size = 256.0, 128
    signals = chirps(3, size, rate)[1:2]
    bank = bank_of(signals, rate).double()
    cos, sin = quadratures(signals)[0]
    window = torch.zeros(1, 2, 3 * size, dtype=torch.float64)
    window[..., 100 : 100 + size] = 9 * (np.cos(1) * cos + np.sin(1) * sin)
    snr2 = bank.snrs(window)[0, :, 0]
    assert torch.allclose(snr2[:, 100], torch.full((2,), 81.0).double())
    assert snr2.argmax(-1).tolist() == [100, 100]


def test_bank_snrs_of_white_noise_are_chi_square_of_two_dof():
    """Unit-norm quadrature filters: the SNR^2 of white unit-variance
    noise follows chi^2 with 2 degrees of freedom (scipy's)."""
    torch.manual_seed(0)
    rate, size = 256.0, 64
    bank = bank_of(chirps(2, size, rate), rate)
    noise = torch.randn(50, 2, 1024)
    # lags of one template a filter length apart are independent
    snr2 = bank.snrs(noise)[:, 0, 0, ::size].flatten().double().numpy()
    result = scipy.stats.kstest(snr2, scipy.stats.chi2(2).cdf)
    assert result.pvalue > 0.01


def test_bank_coincidence_window_is_the_light_travel_time():
    """A template's peak in L1 up to coincidence seconds from H1's still
    counts as one coincident event; further away it does not."""
    rate, size = 1024.0, 256
    signals = chirps(1, size, rate)
    bank = bank_of(signals, rate, coincidence=0.01)
    with torch.no_grad():
        # the ranking network reads the network SNR
        bank.rank = torch.nn.Sequential(torch.nn.Identity())
        bank.rank.forward = lambda rho: (rho**2).sum(-1, keepdim=True)
    cos = quadratures(signals)[0, 0].float()

    def score(delay: int) -> float:
        window = torch.zeros(1, 2, 1024)
        window[0, 0, 300 : 300 + size] = 8 * cos
        window[0, 1, 300 + delay : 300 + delay + size] = 8 * cos
        return float(bank(window).detach())

    assert score(0) == pytest.approx(128, rel=1e-4)
    assert score(10) == pytest.approx(128, rel=1e-4)
    assert score(-10) == pytest.approx(128, rel=1e-4)
    assert score(30) < 80


def test_bank_takes_the_least_alike_signals():
    """Of copies of three chirps, the bank takes each chirp once."""
    rate, size = 256.0, 128
    distinct = chirps(3, size, rate)
    copies = torch.cat([distinct, distinct * 2, distinct.roll(5, -1)])
    bank = TemplateBank(2, rate, 3, size / rate)
    bank.initialise(copies)
    expected = quadratures(distinct)[:, 0]
    chosen = bank.bank[0::2, 0].double()
    matches = (chosen @ expected.T).abs().amax(0)
    assert torch.all(matches > 0.9)
    with pytest.raises(ValueError, match="cannot fill a bank of 12"):
        TemplateBank(2, rate, 12, size / rate).initialise(copies)


def chisq_bank(rate: float = 512.0, size: int = 256) -> TemplateBank:
    return bank_of(chirps(4, size, rate), rate, chisq_bins=8).double()


def test_chisq_of_noise_and_of_a_matching_signal_has_2p_minus_2_dof():
    """Allen's chi-squared at fixed lags: chi^2 with 2 bins - 2 degrees
    of freedom (scipy's) in white noise, and the same with a template at
    SNR 30 added at that lag, at any phase: a chirp that matches is
    consistent in every band."""
    torch.manual_seed(0)
    bank = chisq_bank()
    size = bank.template_size
    noise = torch.randn(400, 2, 3 * size, dtype=torch.float64)
    lags = torch.full((400, 2, 4), size)
    dof = scipy.stats.chi2(2 * 8 - 2)
    quiet = bank.chisq(noise, lags).flatten().numpy()
    assert scipy.stats.kstest(quiet, dof.cdf).pvalue > 0.01
    phase = 2 * torch.pi * torch.rand(400, 1, dtype=torch.float64)
    cos, sin = bank.bank[4, 0], bank.bank[5, 0]
    signal = 30 * (torch.cos(phase) * cos + torch.sin(phase) * sin)
    noise[:, :, size : 2 * size] += signal[:, None]
    loud = bank.chisq(noise, lags)[:, :, 2].flatten().numpy()
    assert scipy.stats.kstest(loud, dof.cdf).pvalue > 0.01


def test_chisq_bins_hold_equal_shares_of_the_template():
    bank = chisq_bank()
    assert torch.allclose(
        bank.bin_weights.sum(-1), torch.ones(4, dtype=torch.float64)
    )
    assert bank.bin_weights.min() > 0.5 / 8 and bank.bin_weights.max() < 2 / 8
    # the bands add up to the template and its quadrature
    bands = bank.bins.unflatten(-1, (8, 2)).sum(-2).transpose(1, 2)
    assert torch.allclose(bands, bank.bank[:, 0].reshape(4, 2, -1))


def test_chisq_downweights_a_glitch_not_a_chirp():
    """A loud sine-Gaussian (a blip's few cycles at one frequency) in one
    ifo: its SNR in the templates is large, but its chi-squared larger,
    and the reweighted SNR the ranking sees far smaller; a chirp keeps
    its SNR."""
    torch.manual_seed(1)
    rate = 512.0
    bank = chisq_bank(rate)
    size = bank.template_size
    t = torch.arange(size, dtype=torch.float64) / rate
    blip = torch.exp(-(((t - 0.4) / 0.01) ** 2)) * torch.sin(
        2 * torch.pi * 60 * t
    )
    blip = blip / blip.norm()
    seen = {}
    for name, shape in [("blip", 60 * blip), ("chirp", 20 * bank.bank[2, 0])]:
        window = torch.randn(1, 2, 2 * size, dtype=torch.float64)
        window[0, 0, 100 : 100 + size] += shape
        peak, lags = bank.peaks(bank.snrs(window))
        reduced = bank.chisq(window, lags) / (2 * 8 - 2)
        rho = peak.sqrt()
        seen[name] = (rho, reweighted_snr(rho, reduced))
    rho, reweighted = seen["blip"]
    assert rho[0, 0].max() > 12
    assert reweighted[0, 0].max() < 0.4 * rho[0, 0].max()
    rho, reweighted = seen["chirp"]
    assert float(rho[0, 0, 1]) == pytest.approx(20, abs=3)
    assert float(reweighted[0, 0, 1]) == pytest.approx(float(rho[0, 0, 1]))


def test_chisq_settings_errors():
    with pytest.raises(ValueError, match="chisq_bins >= 2"):
        TemplateBank(2, 512, 4, 0.5, chisq_bins=1)
    with pytest.raises(ValueError, match="not both"):
        TemplateBank(2, 512, 4, 0.5, chisq_bins=4, learn_templates=True)


def mergers(count: int, size: int, rate: float) -> torch.Tensor:
    """Heavy-binary-like templates: a few cycles sweeping up to 60-120
    Hz, peaking at the merger 0.05 s before the end, so that the band
    above them is free for the sine-Gaussian tiles."""
    t = torch.arange(size, dtype=torch.float64) / rate - (size / rate - 0.05)
    shapes = [
        torch.exp(-((t / 0.04) ** 2))
        * torch.sin(2 * torch.pi * (top / 2 * t + top / 0.2 * t**2))
        for top in torch.linspace(60, 120, count)
    ]
    return torch.stack(shapes)


def sine_gaussian_bank(rate: float = 1024.0, size: int = 512, **settings):
    templates = mergers(3, size, rate)
    bank = bank_of(
        templates, rate, chisq_bins=4, sine_gaussian_q=12, **settings
    )
    # the test vetoes in evaluation mode only
    return bank.eval()


def test_sine_gaussian_chisq_of_noise_with_or_without_a_chirp():
    """The tiles are orthonormal and orthogonal to the template: in
    white noise their reduced chi-squared has one degree of freedom per
    phase and tile (scipy's), and a matching template at SNR 30, at any
    phase, leaves it so."""
    torch.manual_seed(3)
    bank = sine_gaussian_bank().double()
    size = bank.template_size
    dof = bank.tile_dof[1].item()
    assert dof >= 6
    tiles = bank.tiles[1, :, : int(dof)]
    assert torch.allclose(
        tiles.T @ tiles, torch.eye(int(dof), dtype=tiles.dtype), atol=1e-5
    )
    noise = torch.randn(400, 2, 3 * size, dtype=torch.float64)
    lags = torch.full((400, 2, 3), size)
    expected = scipy.stats.chi2(dof)
    quiet = bank.sine_gaussian_chisq(noise, lags)[:, :, 1].flatten() * dof
    assert scipy.stats.kstest(quiet.numpy(), expected.cdf).pvalue > 0.01
    phase = 2 * torch.pi * torch.rand(400, 1, dtype=torch.float64)
    cos, sin = bank.bank[2, 0], bank.bank[3, 0]
    signal = 30 * (torch.cos(phase) * cos + torch.sin(phase) * sin)
    noise[:, :, size : 2 * size] += signal[:, None]
    loud = bank.sine_gaussian_chisq(noise, lags)[:, :, 1].flatten() * dof
    assert scipy.stats.kstest(loud.numpy(), expected.cdf).pvalue > 0.01


def test_sine_gaussian_test_downweights_a_blip_above_the_band():
    """A loud blip, a 3 ms burst at 100 Hz whose power reaches well
    above the templates' band, at a template's merger: the templates
    pick it up, and the sine-Gaussian test divides its reweighted SNR by
    more than two beyond what the chi-squared alone does; a matching
    chirp keeps its SNR."""
    torch.manual_seed(4)
    rate = 1024.0
    bank = sine_gaussian_bank(rate).double()
    plain = bank_of(bank.bank[0::2, 0].clone(), rate, chisq_bins=4).double()
    size = bank.template_size
    t = (torch.arange(size, dtype=torch.float64) - (size - 51)) / rate
    blip = torch.exp(-((t / 0.003) ** 2)) * torch.cos(2 * torch.pi * 100 * t)
    blip = 40 * blip / blip.norm()
    seen = {}
    for name, shape in [("chirp", 20 * bank.bank[2, 0]), ("blip", blip)]:
        window = torch.randn(1, 2, 2 * size, dtype=torch.float64)
        window[0, 0, 200 : 200 + size] += shape
        peak, _ = plain.peaks(plain.snrs(window))
        seen[name] = (
            peak.sqrt(),
            bank.ranked_snrs(window),
            plain.ranked_snrs(window),
        )
    rho, with_test, without = seen["blip"]
    assert rho[0, 0].max() > 10
    assert torch.all(with_test[0, 0] < 0.5 * without[0, 0])
    # training sees what the chi-squared alone leaves of it
    assert torch.allclose(bank.train().ranked_snrs(window), without)
    rho, with_test, without = seen["chirp"]
    assert float(with_test[0, 0, 1]) == pytest.approx(20, abs=3)
    assert float(with_test[0, 0, 1]) == pytest.approx(float(without[0, 0, 1]))


def test_the_ranking_sees_no_ifo_louder_than_the_ratio_allows():
    """A chirp at SNR 12 in H1 and 3 in L1 (a ratio of 4, which a signal
    seen by both LIGO sites rarely has) reaches the ranking as 12 / 1.6 =
    7.5 and 3 with max_snr_ratio 2.5; at 9 and 6 it passes as it is."""
    torch.manual_seed(6)
    rate = 1024.0
    capped = sine_gaussian_bank(rate, max_snr_ratio=2.5).double()
    free = sine_gaussian_bank(rate).double()
    size = capped.template_size
    chirp = capped.bank[2, 0]
    for amplitudes, ratio_capped in [((12.0, 3.0), True), ((9.0, 6.0), False)]:
        window = torch.zeros(1, 2, 2 * size, dtype=torch.float64)
        for ifo, amplitude in enumerate(amplitudes):
            window[0, ifo, 200 : 200 + size] = amplitude * chirp
        seen, plain = capped.ranked_snrs(window), free.ranked_snrs(window)
        assert float(plain[0, 0, 1]) == pytest.approx(amplitudes[0], 1e-3)
        assert float(seen[0, 1, 1]) == pytest.approx(amplitudes[1], 1e-3)
        expected = 2.5 * amplitudes[1] if ratio_capped else amplitudes[0]
        assert float(seen[0, 0, 1]) == pytest.approx(expected, 1e-3)


def test_the_ratio_is_of_the_snrs_before_the_tests():
    """A blip of SNR 17 in H1, which the tests reweight to a few, beside
    a chirp of SNR 3 in L1: the reweighted SNRs are within 2.5 of each
    other, but the SNRs are 5.7 apart, and the ranking sees H1's
    reweighted SNR divided by that excess, 5.7 / 2.5."""
    torch.manual_seed(7)
    rate = 1024.0
    capped = sine_gaussian_bank(rate, max_snr_ratio=2.5).double()
    free = sine_gaussian_bank(rate).double()
    size = capped.template_size
    t = (torch.arange(size, dtype=torch.float64) - (size - 51)) / rate
    blip = torch.exp(-((t / 0.004) ** 2)) * torch.cos(2 * torch.pi * 90 * t)
    window = torch.zeros(1, 2, 2 * size, dtype=torch.float64)
    window[0, 0, 200 : 200 + size] = blip
    window[0, 1, 200 : 200 + size] = 3 * capped.bank[2, 0]
    peak, _ = free.peaks(free.snrs(window))
    # scaled so that the template of the chirp sees the blip at SNR 17
    window[0, 0] *= 17 / float(peak[0, 0, 1].sqrt())
    peak, _ = free.peaks(free.snrs(window))
    snr = peak[0, :, 1].sqrt()
    assert float(snr[0]) == pytest.approx(17, 1e-3)
    reweighted = free.ranked_snrs(window)[0, :, 1]
    assert float(reweighted[0]) < 2.5 * float(reweighted[1])
    seen = capped.ranked_snrs(window)[0, :, 1]
    excess = float(snr[0] / (2.5 * snr[1]))
    assert excess == pytest.approx(17 / 7.5, 1e-2)
    assert float(seen[0]) == pytest.approx(float(reweighted[0]) / excess)
    assert float(seen[1]) == pytest.approx(float(reweighted[1]))


def glitch_tails_bank() -> TemplateBank:
    from tests.train.test_glitch_tails import with_fitted_tails

    bank = sine_gaussian_bank(max_snr_ratio=2.5, glitch_tails=True)
    return with_fitted_tails(bank)


@pytest.mark.parametrize(
    "make_bank",
    [
        chisq_bank,
        lambda: sine_gaussian_bank(max_snr_ratio=2.5),
        glitch_tails_bank,
    ],
    ids=["chisq", "sine-gaussian-and-ratio-cap", "glitch-tails"],
)
def test_a_bank_with_its_tests_exports_to_onnx(make_bank, tmp_path):
    """The reweightings and vetoes run in onnxruntime as in torch,
    exported as the pipeline exports them: from the TorchScript trace
    training saves."""
    import onnxruntime

    torch.manual_seed(2)
    bank = make_bank().float().eval()
    # loud enough for a glitchy template's map to matter
    window = 2 * torch.randn(3, 2, 700)
    torch.jit.trace(bank, window).save(tmp_path / "bank.pt")
    path = tmp_path / "bank.onnx"
    torch.onnx.export(
        torch.jit.load(tmp_path / "bank.pt"),
        (window,),
        str(path),
        input_names=["whitened"],
        opset_version=17,
        dynamo=False,
    )
    session = onnxruntime.InferenceSession(str(path))
    (out,) = session.run(None, {"whitened": window.numpy()})
    assert np.allclose(out, bank(window).detach().numpy(), atol=1e-4)


def test_sine_gaussian_settings_errors():
    with pytest.raises(ValueError, match="sine_gaussian_q >= 0"):
        TemplateBank(2, 512, 4, 0.5, sine_gaussian_q=-1)
    with pytest.raises(ValueError, match="sine_gaussian_fmax <= 1"):
        TemplateBank(2, 512, 4, 0.5, sine_gaussian_q=9, sine_gaussian_fmax=2)
    with pytest.raises(ValueError, match="sine_gaussian_threshold"):
        TemplateBank(
            2, 512, 4, 0.5, sine_gaussian_q=9, sine_gaussian_threshold=0
        )
    with pytest.raises(ValueError, match="not both"):
        TemplateBank(2, 512, 4, 0.5, sine_gaussian_q=9, learn_templates=True)
    with pytest.raises(ValueError, match="needs 2 or more ifos"):
        TemplateBank(1, 512, 4, 0.5, max_snr_ratio=2.5)
    with pytest.raises(ValueError, match="a value >= 1"):
        TemplateBank(2, 512, 4, 0.5, max_snr_ratio=0.5)


# a bank of four 256-sample templates, its mergers where they fit
SMALL_BANK = [
    "--model.architecture=bank",
    "--model.templates=4",
    "--model.template_length=0.5",
    "--data.kernel_left_pad=0.5",
]


def test_fit_a_template_bank(data, tmp_path):
    args = fit_args(data, tmp_path) + SMALL_BANK
    assert main(args) == 0
    network = torch.jit.load(tmp_path / "model.pt")
    assert network(torch.randn(3, 2, RATE)).shape == (3, 1)
    # filled from the training signals: unit-norm templates
    bank = network.bank.detach()[:, 0]
    assert torch.allclose(bank.norm(dim=-1), torch.ones(8), atol=1e-5)
    assert bool(network.initialised)
    # it fires at the lags its 256-sample templates fit in the 512-sample
    # kernel: mergers 26 to 282 samples before the kernel's end
    settings = ModelSettings.read(tmp_path / "model.json")
    assert settings.response == pytest.approx([26 / RATE, 282 / RATE])
    assert settings.response_span == pytest.approx((26 / RATE, 282 / RATE))


def test_fit_a_bank_with_its_consistency_tests(data, tmp_path):
    """The chi-squared, the sine-Gaussian test and the ratio's cap
    through a whole fit: the saved network holds each template's tiles
    and vetoes with them."""
    args = (
        fit_args(data, tmp_path)
        + SMALL_BANK
        + [
            "--model.chisq_bins=4",
            "--model.sine_gaussian_q=12",
            "--model.max_snr_ratio=2.5",
        ]
    )
    assert main(args) == 0
    network = torch.jit.load(tmp_path / "model.pt")
    assert network(torch.randn(3, 2, RATE)).shape == (3, 1)
    assert torch.all(network.tile_dof >= 2)
    assert network.tiles.abs().sum() > 0


def test_bank_settings_errors():
    with pytest.raises(ModelError, match="0 <= post_merger < template"):
        network(
            2,
            "bank",
            16,
            None,
            None,
            None,
            None,
            bank={
                "sample_rate": 512,
                "templates": 4,
                "template_length": 0.01,
                "post_merger": 0.05,
            },
        )


@pytest.mark.parametrize("lag", [0, 37, 128])
def test_the_merger_offset_places_the_merger_to_a_sample(lag):
    """A signal at ``lag`` in a window, its merger ``post_merger`` before
    its end: ``timed`` gives ``forward``'s logit and the merger's time
    less the window's end, exactly."""
    torch.manual_seed(0)
    rate, kernel = 256, 512
    bank = TemplateBank(2, rate, 1, 1.0, post_merger=0.125).eval()
    size, after = bank.template_size, bank.post_merger
    chirp = chirps(1, size - after, rate)
    signal = torch.nn.functional.pad(chirp, (0, after)).float()
    bank.initialise(signal)
    window = 0.3 * torch.randn(1, 2, kernel)
    signal = 20 * signal[0] / signal.norm()
    window[0, 0, lag : lag + size] += signal
    # L1 sees it 2 samples later, inside the coincidence window
    window[0, 1, lag + 2 : lag + 2 + size] += signal[: kernel - lag - 2]
    with torch.no_grad():
        timed = bank.timed(window)
        assert timed[0, 0] == bank(window)[0, 0]
    merger = lag + size - after
    assert float(timed[0, 1]) == (merger - kernel) / rate
