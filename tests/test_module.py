"""Module: registration, names, state dicts (all or nothing), repr, dtype conversion."""

import copy
from collections import OrderedDict

import numpy as np
import pytest

from scratchnet import MLP, Linear, Module, Net, Parameter, StateDictError

from .optional import optional

torch = optional("torch")
torchnet = optional("torchnet")


class Pair(Module):
    def __init__(self):
        super().__init__()
        self.scale = Parameter(np.ones(2, np.float32))
        self.inner = Linear(2, 2, rng=0)

    def forward(self, x):
        return self.inner(x) * self.scale.data


def snapshot(net):
    return {name: p.data.copy() for name, p in net.named_parameters()}


def assert_unchanged(net, before):
    after = snapshot(net)
    assert after.keys() == before.keys()
    for name in before:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)


def test_registration_and_names_in_torch_order():
    assert [name for name, _ in Pair().named_parameters()] == ["scale", "inner.weight", "inner.bias"]
    assert [name for name, _ in Net().named_parameters()] == list(torchnet.Net().state_dict())
    assert [name for name, _ in Net().named_modules()] == ["", "fc1", "fc2", "fc3"]
    assert len(list(Net().parameters())) == 6


def test_parameter_owns_a_copy():
    values = np.zeros(3, np.float32)
    param = Parameter(values)
    param.data += 1
    assert values.tolist() == [0, 0, 0]
    assert param.grad is None and np.asarray(param).shape == (3,)


def test_parameter_refuses_non_float():
    with pytest.raises(TypeError, match="float32 or float64"):
        Parameter(np.arange(3))


def test_assigning_an_array_to_a_parameter_slot_is_refused():
    layer = Linear(2, 2, rng=0)
    with pytest.raises(TypeError, match="Parameter or None expected"):
        layer.weight = np.zeros((2, 2), np.float32)
    assert isinstance(layer.weight, Parameter)


def test_module_needs_init_before_assignment():
    class Broken(Module):
        def __init__(self):
            self.fc = Linear(1, 1)

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Broken()


def test_missing_forward_says_so():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        Module()(np.zeros(1))


def test_state_dict_is_ordered_copies():
    net = Net(rng=0)
    state = net.state_dict()
    assert isinstance(state, OrderedDict)
    state["fc1.weight"][:] = 42
    assert not np.any(net.fc1.weight.data == 42)


def test_load_state_dict_round_trip_and_dtype_conversion():
    source, target = Net(rng=1), Net(rng=2)
    result = target.load_state_dict({k: v.astype(np.float64) for k, v in source.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    for name, value in source.state_dict().items():
        assert target.state_dict()[name].dtype == np.float32
        np.testing.assert_array_equal(target.state_dict()[name], value)


def test_load_state_dict_keeps_the_parameter_arrays():
    net = Net(rng=0)
    weight = net.fc1.weight.data
    net.load_state_dict(Net(rng=1).state_dict())
    assert net.fc1.weight.data is weight  # like torch's copy_: optimizers holding it stay valid


def test_load_accepts_torch_tensors():
    torch_net = torchnet.Net()
    net = Net(rng=0)
    net.load_state_dict(torch_net.state_dict())
    np.testing.assert_array_equal(net.fc2.weight.data, torch_net.fc2.weight.detach().numpy())


def test_failed_load_names_every_problem_and_changes_nothing():
    net = Net(rng=0)
    before = snapshot(net)
    bad = Net(rng=1).state_dict()
    del bad["fc3.bias"]
    bad["fc4.weight"] = np.zeros((1, 1))
    bad["fc1.weight"] = np.zeros((3, 2))
    bad["fc2.bias"] = np.array(["a", "b", "c", "d"])
    with pytest.raises(StateDictError) as caught:
        net.load_state_dict(bad)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.missing_keys == ["fc3.bias"] and error.unexpected_keys == ["fc4.weight"]
    assert error.size_mismatches == [("fc1.weight", (3, 2), (4, 2))]
    message = str(error)
    for text in [
        'Missing key(s) in state_dict: "fc3.bias"',
        'Unexpected key(s) in state_dict: "fc4.weight"',
        "size mismatch for fc1.weight",
        "bad value for fc2.bias",
    ]:
        assert text in message
    assert_unchanged(net, before)  # fc2.weight, fc1.bias... were valid, and still were not loaded


def test_non_strict_load_reports_and_loads_the_rest():
    net, source = Net(rng=0), Net(rng=1)
    partial = source.state_dict()
    del partial["fc3.bias"]
    partial["extra"] = np.zeros(1)
    result = net.load_state_dict(partial, strict=False)
    assert result.missing_keys == ["fc3.bias"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(net.fc1.weight.data, source.fc1.weight.data)


def test_non_strict_still_refuses_wrong_shapes():
    net = Net(rng=0)
    before = snapshot(net)
    with pytest.raises(StateDictError, match="size mismatch for fc3.weight"):
        net.load_state_dict({"fc1.bias": np.zeros(4), "fc3.weight": np.zeros((4, 1))}, strict=False)
    assert_unchanged(net, before)


def test_torch_itself_leaves_a_partial_load_behind():
    """Why ours validates everything first: torch copies what it can before raising."""
    net = torchnet.Net()
    bad = {k: v + 1 for k, v in net.state_dict().items()}
    bad["fc3.weight"] = torch.zeros(2, 4)
    before = net.fc1.weight.detach().clone()
    with pytest.raises(RuntimeError):
        net.load_state_dict(bad)
    assert not torch.equal(net.fc1.weight, before)


@pytest.mark.parametrize("value", [None, [1, 2], "fc1.weight"])
def test_load_state_dict_needs_a_mapping(value):
    with pytest.raises(TypeError, match="mapping"):
        Net().load_state_dict(value)


def test_to_converts_in_place():
    net = Net(rng=0)
    assert net.to(np.float64) is net
    assert {p.dtype for p in net.parameters()} == {np.dtype(np.float64)}
    assert net(np.zeros(2)).dtype == np.float64
    with pytest.raises(TypeError):
        net.to(np.int64)


def test_repr_matches_torch_for_nested_modules():
    class Outer(Module):
        def __init__(self):
            super().__init__()
            self.body = MLP((2, 3, 1))
            self.head = Linear(1, 1)

    class TorchOuter(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torchnet.MLP((2, 3, 1))
            self.head = torch.nn.Linear(1, 1)

    TorchOuter.__name__ = Outer.__name__
    assert repr(Outer()) == repr(TorchOuter())


def test_deepcopy_gives_an_independent_module():
    net = Net(rng=0)
    clone = copy.deepcopy(net)
    clone.fc1.weight.data += 1
    assert not np.array_equal(clone.fc1.weight.data, net.fc1.weight.data)


def test_wrong_rank_weight_is_a_size_mismatch_and_changes_nothing():
    net = Net(rng=0)
    before = snapshot(net)
    state = net.state_dict()
    state["fc2.weight"] = np.zeros((4, 4, 1), np.float32)
    with pytest.raises(StateDictError, match=r"size mismatch for fc2.weight: .* shape \(4, 4, 1\)"):
        net.load_state_dict(state)
    assert_unchanged(net, before)


def test_assigning_data_of_another_dtype_or_shape_is_refused_saying_how_to_convert():
    net = Net(rng=0)
    before = net.fc1.weight.data.copy()
    with pytest.raises(TypeError, match=r"holds float32, got int64: .*np.asarray\(values, dtype=np.float32\)$"):
        net.fc1.weight.data = np.array([[1, 2], [3, 4], [5, 6], [7, 8]])
    with pytest.raises(TypeError, match=r"got float64: .* or the whole network with net.to\(np.float64\)"):
        net.fc1.weight.data = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"shape \(4, 2\), got \(2, 4\) \(a Linear weight is \(out_features"):
        net.fc1.weight.data = np.zeros((2, 4), np.float32)
    np.testing.assert_array_equal(net.fc1.weight.data, before)  # nothing changed
    mine = np.ones((4, 2), np.float32)
    net.fc1.weight.data = mine
    net.fc1.weight.data += 1  # training writes into the parameter's own copy, never into the caller's array
    assert mine.sum() == 8 and net.fc1.weight.data.sum() == 16
    assert net.to(np.float64).fc1.weight.dtype == np.float64  # converting the whole network stays possible
