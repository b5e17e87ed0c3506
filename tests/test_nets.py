"""MLP in both frameworks: the same names, shapes and repr; argument errors."""

import numpy as np
import pytest

import scratchnet
from scratchnet import ACTIVATION_NAMES
from scratchnet.architecture import OUTPUT_ONLY

from .optional import optional

torch = optional("torch")
torchnet = optional("torchnet")


@pytest.mark.parametrize("activation", [name for name in ACTIVATION_NAMES if name not in OUTPUT_ONLY])
@pytest.mark.parametrize("sizes", [(3, 1), (2, 4, 4, 1), (5, 7, 6, 5, 4, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_same_repr_names_and_shapes(sizes, activation, bias):
    mine, theirs = scratchnet.MLP(sizes, activation, bias=bias), torchnet.MLP(sizes, activation, bias=bias)
    assert repr(mine) == repr(theirs)
    assert {k: v.shape for k, v in mine.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()
    }
    assert [f"fc{i}" for i in range(1, len(sizes))] == [name for name, _ in mine.named_children()][:-1]


def test_article_sizes_repr():
    assert repr(scratchnet.MLP((2, 4, 4, 1))) == (
        "MLP(\n"
        "  (fc1): Linear(in_features=2, out_features=4, bias=True)\n"
        "  (fc2): Linear(in_features=4, out_features=4, bias=True)\n"
        "  (fc3): Linear(in_features=4, out_features=1, bias=True)\n"
        "  (activation): ReLU()\n"
        ")"
    )


def test_activation_after_every_layer_but_the_last():
    net = scratchnet.MLP((1, 1, 1), "relu", rng=0)
    net.load_state_dict({"fc1.weight": [[1.0]], "fc1.bias": [0.0], "fc2.weight": [[-1.0]], "fc2.bias": [0.0]})
    # hidden relu clips -3 to 0; the output layer is not clipped: -(3) = -3 for x = 3
    np.testing.assert_array_equal(net([[-3.0], [3.0]]), [[0.0], [-3.0]])


def test_mlp_with_identity_is_one_affine_map():
    net = scratchnet.MLP((3, 5, 2), "identity", rng=0)
    w = net.fc2.weight.data.astype(np.float64) @ net.fc1.weight.data
    b = net.fc2.weight.data.astype(np.float64) @ net.fc1.bias.data + net.fc2.bias.data
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(net(x), x @ w.T + b, rtol=1e-5, atol=1e-6)


def test_mlp_layers_follow_every_change_and_copies_keep_their_own():
    """The layer list is kept between calls (1.5 us a forward pass): it must follow every change."""
    import copy
    import pickle

    net = scratchnet.MLP((2, 4, 4, 1), rng=0)
    x = np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32)
    assert net(x).shape == (5, 1)
    net.layers.clear()  # a list of the caller's own: the kept one is not touched
    assert [layer.out_features for layer in net.layers] == [4, 4, 1]
    net.fc3 = scratchnet.Linear(4, 3, rng=1)
    assert net.layers[2] is net.fc3 and net(x).shape == (5, 3)
    net.fc2.fc9 = scratchnet.Linear(1, 1)  # an assignment deep inside changes nothing here
    assert [layer.out_features for layer in net.layers] == [4, 4, 3]
    replacement = scratchnet.Linear(4, 2, rng=2)
    net._modules["fc3"] = replacement  # written into the registry directly (found by a review): seen too
    assert net.layers[2] is replacement
    net.fc3 = replacement
    del net.fc3
    assert len(net.layers) == 2 and net(x).shape == (5, 4)
    net.fc3 = scratchnet.Linear(4, 1, rng=1)
    for twin in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert "_layers_kept" not in twin.__dict__
        assert [id(layer) for layer in twin.layers] == [id(twin.fc1), id(twin.fc2), id(twin.fc3)]
        np.testing.assert_array_equal(twin(x), net(x))


def test_net_and_mlp_of_the_article_agree():
    net, mlp = scratchnet.Net(rng=0), scratchnet.MLP((2, 4, 4, 1))
    mlp.load_state_dict(net.state_dict())
    x = np.random.default_rng(0).standard_normal((6, 2)).astype(np.float32)
    np.testing.assert_array_equal(net(x), mlp(x))


@pytest.mark.parametrize(
    "sizes, activation, error, message",
    [
        ((2,), "relu", ValueError, "at least 2"),
        ((2, 0, 1), "relu", ValueError, r"sizes\[1\] must be >= 1"),
        ((2, 2.5), "relu", TypeError, "integer"),
        ("2,4", "relu", TypeError, "sequence of integers"),
        (5, "relu", TypeError, "sequence of integers"),
        ((2, 1), "swish", ValueError, "activation must be one of"),
    ],
)
@pytest.mark.parametrize("framework", [scratchnet, torchnet])
def test_bad_arguments(framework, sizes, activation, error, message):
    with pytest.raises(error, match=message):
        framework.MLP(sizes, activation)


def test_torch_mlp_dtype_and_device_arguments():
    net = torchnet.MLP((2, 3, 1), dtype=torch.float64, device="cpu")
    assert {p.dtype for p in net.parameters()} == {torch.float64}


def test_heaviside_value_shown_in_both():
    assert repr(scratchnet.Heaviside(1.0)) == repr(torchnet.Heaviside(1.0)) == "Heaviside(value=1.0)"
