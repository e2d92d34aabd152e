"""The networks: shapes, receptive fields, settings errors, and a fit."""

import pytest
import torch
from ml4gw.nn.norm import GroupNorm1D

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
    with pytest.raises(ModelError, match="'vit' is not resnet or convnet"):
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


def test_fit_refuses_bad_convnet_settings(data, tmp_path, capsys):
    args = convnet_args(data, tmp_path, kernel_sizes=[15, 8, 7])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "aframe-train: error: model: convnet kernel_sizes must be odd" in (
        err
    )
