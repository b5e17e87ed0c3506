"""copy_weights and twins: every direction, dtype conversion, every difference listed, nothing changed on error."""

import numpy as np
import pytest

import scratchnet
from scratchnet.architecture import OUTPUT_ONLY

from .optional import optional, optional_names

torch = optional("torch")
torchnet = optional("torchnet")
compare_forward, copy_weights, numpy_state, to_scratch, to_torch, twin = optional_names(
    "compare", "compare_forward", "copy_weights", "numpy_state", "to_scratch", "to_torch", "twin"
)


def assert_same_state(a, b):
    sa, sb = numpy_state(a), numpy_state(b)
    assert list(sa) == list(sb)
    for name in sa:
        np.testing.assert_array_equal(sa[name], sb[name], err_msg=name)


@pytest.mark.parametrize(
    "make_src, make_dst",
    [
        (lambda: torchnet.Net(), lambda: scratchnet.Net(rng=0)),
        (lambda: scratchnet.Net(rng=0), lambda: torchnet.Net()),
        (lambda: scratchnet.Net(rng=0), lambda: scratchnet.Net(rng=1)),
        (lambda: torchnet.Net(), lambda: torchnet.Net()),
        (lambda: torchnet.MLP((3, 5, 2), "tanh"), lambda: scratchnet.MLP((3, 5, 2), "sigmoid")),
    ],
    ids=["torch->scratch", "scratch->torch", "scratch->scratch", "torch->torch", "mlp"],
)
def test_copy_in_every_direction(make_src, make_dst):
    src, dst = make_src(), make_dst()
    assert copy_weights(src, dst) is dst
    assert_same_state(src, dst)


def test_values_take_the_destination_dtype():
    src = scratchnet.Net(dtype=np.float64, rng=0)
    dst = torchnet.Net()
    copy_weights(src, dst)
    assert {p.dtype for p in dst.parameters()} == {torch.float32}
    np.testing.assert_array_equal(dst.fc1.weight.detach().numpy(), src.fc1.weight.data.astype(np.float32))
    back = scratchnet.Net(dtype=np.float64, rng=1)
    copy_weights(dst, back)
    assert back.fc1.weight.dtype == np.float64


def test_copy_does_not_alias():
    src, dst = scratchnet.Net(rng=0), torchnet.Net()
    copy_weights(src, dst)
    src.fc1.weight.data += 1
    assert not np.array_equal(dst.fc1.weight.detach().numpy(), src.fc1.weight.data)


@pytest.mark.parametrize("direction", ["to_torch", "to_scratch"])
def test_every_difference_is_listed_and_dst_is_unchanged(direction):
    scratch = scratchnet.MLP((2, 4, 4, 1), rng=0)
    torch_net = torchnet.MLP((2, 3, 1, 1, 1), bias=False)
    src, dst = (scratch, torch_net) if direction == "to_torch" else (torch_net, scratch)
    before = numpy_state(dst)
    with pytest.raises(ValueError) as caught:
        copy_weights(src, dst)
    message = str(caught.value)
    assert "nothing was copied" in message
    # shapes of fc1.weight, fc2.weight, fc3.weight differ; biases are on one side only; fc4 on the other
    for name in ["fc1.weight", "fc2.weight", "fc1.bias", "fc2.bias", "fc3.bias", "fc4.weight"]:
        assert name in message
    assert message.count("\n  - ") == 7
    after = numpy_state(dst)
    for name in before:
        np.testing.assert_array_equal(after[name], before[name])


def test_copy_needs_networks():
    with pytest.raises(TypeError, match="src must be"):
        copy_weights({"fc1.weight": np.zeros((4, 2))}, scratchnet.Net())
    with pytest.raises(TypeError, match="dst must be"):
        copy_weights(scratchnet.Net(), object())


@pytest.mark.parametrize("activation", scratchnet.ACTIVATION_NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_twins_both_ways(activation, dtype):
    between = "relu" if activation in OUTPUT_ONLY else activation  # softmax follows the last layer only
    mine = scratchnet.MLP((3, 6, 2), between, output_activation=activation, dtype=dtype, rng=0)
    theirs = twin(mine)
    assert isinstance(theirs, torchnet.MLP) and repr(theirs) == repr(mine)
    assert_same_state(mine, theirs)
    back = twin(theirs)
    assert isinstance(back, scratchnet.MLP) and back.state_dict()["fc1.weight"].dtype == dtype
    assert_same_state(back, mine)


def test_twin_of_net_and_linear():
    assert isinstance(to_torch(scratchnet.Net()), torchnet.Net)
    assert isinstance(to_scratch(torchnet.Net()), scratchnet.Net)
    layer = twin(torch.nn.Linear(3, 2, bias=False))
    assert isinstance(layer, scratchnet.Linear) and layer.bias is None
    assert isinstance(twin(scratchnet.Linear(3, 2)), torch.nn.Linear)


def test_twin_keeps_heaviside_value():
    net = scratchnet.MLP((2, 2, 1), "heaviside")
    net.activation.value = 1.0
    assert twin(net).activation.value == 1.0


def test_twin_does_not_touch_torchs_random_state():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    to_torch(scratchnet.MLP((4, 8, 8, 2)))
    assert torch.equal(torch.rand(3), expected)


def test_twin_of_an_unknown_network_is_refused():
    with pytest.raises(TypeError, match="states its architecture"):
        twin(scratchnet.ReLU())
    with pytest.raises(TypeError, match=r"node '_1' \(call_module 1\) is not .* Conv1d is not an activation"):
        twin(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Conv1d(1, 1, 1)))
    with pytest.raises(TypeError, match="applies tanh right after relu"):
        twin(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Tanh()))


def test_sequential_twins_module_by_module_both_ways():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 5),
        torch.nn.Linear(5, 4, bias=False),
        torch.nn.Tanh(),
        torch.nn.Linear(4, 2),
        torch.nn.Sigmoid(),
    )
    mine = twin(theirs)
    assert isinstance(mine, scratchnet.Sequential) and repr(mine) == repr(theirs)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    assert str(mine.architecture) == "3 -> 5 -> 4 -> 2: 0, 1 (no bias) tanh, 3 sigmoid"
    back = twin(mine)
    assert type(back) is torch.nn.Sequential and repr(back) == repr(theirs)
    x = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    assert compare_forward(mine, theirs, x).passed and compare_forward(mine, back, x).passed
