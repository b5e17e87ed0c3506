"""Checkpoints: real files in (safetensors, torch.save), nothing unsafe through, every bad file refused clearly."""

import pickle
from pathlib import Path

import numpy as np
import pytest

import scratchnet
from scratchnet.checkpoint import (
    CheckpointError,
    CheckpointWarning,
    file_layers,
    network_from_state_dict,
    recorded_architecture,
    save_safetensors,
)

from .optional import optional, optional_names

torch = optional("torch")
(torch_load_safetensors,) = optional_names("safetensors.torch", "load_file")
(nn,) = optional_names("torch", "nn")
torchnet = optional("torchnet")
compare_forward, to_torch = optional_names("compare", "compare_forward", "to_torch")
load_network, load_state_dict_file = optional_names("compare.checkpoint", "load_network", "load_state_dict_file")
(compare_main,) = optional_names("compare.cli", "main")


def trained_sequential(seed=0, dtype=torch.float32):
    """A user's model: an nn.Sequential of Linear and ReLU, trained a little on y = x1 + x2 + x3."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 1)).to(dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    x = torch.randn(64, 3, dtype=dtype)
    for _ in range(30):
        optimizer.zero_grad()
        loss = ((model(x) - x.sum(1, keepdim=True)) ** 2).mean()
        loss.backward()
        optimizer.step()
    return model


def assert_same_function(scratch_net, model, dtype=np.float32):
    x = np.random.default_rng(0).standard_normal((20, scratch_net.architecture.sizes[0])).astype(dtype)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    report = compare_forward(scratch_net, to_torch(scratch_net), x)
    assert report.passed, str(report)
    np.testing.assert_allclose(report.values["scratchnet"], expected, rtol=1e-5, atol=1e-6)


# -- files that load ------------------------------------------------------------------------


def test_a_users_torch_save_loads_and_computes_the_same(tmp_path):
    model = trained_sequential()
    torch.save(model.state_dict(), tmp_path / "model.pt")
    net = load_network(tmp_path / "model.pt", "relu")
    assert isinstance(net, scratchnet.Sequential) and net.architecture.sizes == (3, 16, 8, 1)
    assert next(net.parameters()).dtype == np.float32
    assert_same_function(net, model)


@pytest.mark.parametrize("wrap", ["prefix", "dict", "module", "legacy"])
def test_common_ways_of_saving(tmp_path, wrap):
    model = trained_sequential()
    path = tmp_path / "model.pth"
    if wrap == "prefix":  # a module holding the Sequential as self.model
        torch.save({f"model.{k}": v for k, v in model.state_dict().items()}, path)
    elif wrap == "dict":  # a training checkpoint
        torch.save({"epoch": 7, "state_dict": model.state_dict(), "optimizer": {"lr": 0.01}}, path)
    elif wrap == "module":  # nn.DataParallel's prefix
        torch.save({f"module.{k}": v for k, v in model.state_dict().items()}, path)
    else:  # torch's pre-1.6 pickle format
        torch.save(model.state_dict(), path, _use_new_zipfile_serialization=False)
    assert_same_function(load_network(path, "relu"), model)


def test_torchnet_names_and_float64(tmp_path):
    torch.manual_seed(1)
    theirs = torchnet.MLP((4, 8, 2), "tanh").double()
    torch.save(theirs.state_dict(), tmp_path / "net.pt")
    mine = load_network(tmp_path / "net.pt", "tanh")
    assert isinstance(mine, scratchnet.MLP) and mine.layers[0].weight.dtype == np.float64
    assert_same_function(mine, theirs, np.float64)


def test_half_precision_weights_become_float32(tmp_path):
    torch.save(nn.Linear(3, 2).half().state_dict(), tmp_path / "half.pt")
    with pytest.warns(CheckpointWarning, match=r"widened to float32, exactly: weight \(float16\), bias \(float16\)"):
        state = load_state_dict_file(tmp_path / "half.pt")
    assert {v.dtype for v in state.values()} == {np.dtype(np.float32)}


def test_values_float32_does_not_hold_are_said_when_a_mixed_file_becomes_float32(tmp_path):
    """Found by two hostile reviews: a file mixing float64 and float32 (or integer) tensors became a float32
    network silently, a float64 weight of 1e300 stored as inf, an integer 2**40 + 1 one lower."""
    import warnings

    from safetensors.numpy import save_file

    from scratchnet.checkpoint import CheckpointWarning as Warned
    from scratchnet.checkpoint import load_network as load_numpy_network

    path = tmp_path / "mixed.safetensors"
    tensors = {"fc1.weight": np.array([[1e300, 0.1], [0.5, 2.0]]), "fc1.bias": np.array([0.5, 1.0], np.float32)}
    tensors.update({"fc2.weight": np.array([[2**40 + 1, 1]], np.int64), "fc2.bias": np.array([0.25])})
    save_file(tensors, str(path))
    expected = (r"the network is float32 \(not every tensor is float64\), and float32 does not hold these values "
                r"exactly: fc1.weight \(float64: 2 of 4 values rounded, 1 beyond float32's range: inf\), "
                r"fc2.weight \(int64: 1 of 2 values rounded\)$")  # fmt: skip
    with pytest.warns(Warned, match=expected):
        net = load_numpy_network(path, activation="relu")
    assert net.fc1.weight.dtype == np.float32
    exact = tmp_path / "exact.safetensors"
    save_file({"fc1.weight": np.array([[0.5, 2.0]]), "fc1.bias": np.array([1.0], np.float32)}, str(exact))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # values float32 holds exactly: nothing to say
        load_numpy_network(exact, activation="relu")
    from scratchnet.checkpoint import network_dtype

    with pytest.warns(Warned, match=r"w \(int64: 1 of 2 values rounded\)"):  # float64 cannot hold 2**53 + 1 either
        network_dtype({"w": np.array([2**53 + 1, 3], np.int64), "b": np.zeros(1, np.float32)})


@pytest.mark.parametrize("net", [scratchnet.Net(rng=0), scratchnet.MLP((5, 7, 3), "sigmoid", dtype=np.float64, rng=1)])
def test_safetensors_round_trip_bit_for_bit(tmp_path, net):
    path = tmp_path / "net.safetensors"
    save_safetensors(net, path)
    back = scratchnet.checkpoint.load_state_dict_file(path)  # NumPy and safetensors alone
    assert sorted(back) == sorted(net.state_dict())
    for name, value in net.state_dict().items():
        assert back[name].dtype == value.dtype
        assert back[name].tobytes() == value.tobytes()


def test_safetensors_file_loads_in_torch_without_conversion(tmp_path):
    net = scratchnet.MLP((3, 6, 2), rng=0)
    save_safetensors(net, tmp_path / "net.safetensors")
    tensors = torch_load_safetensors(str(tmp_path / "net.safetensors"))
    theirs = torchnet.MLP((3, 6, 2))
    theirs.load_state_dict(tensors)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    assert compare_forward(net, theirs, x).passed


def test_safetensors_saved_by_torch_load_without_torch_code(tmp_path):
    from safetensors.torch import save_file

    model = trained_sequential()
    save_file(model.state_dict(), str(tmp_path / "model.safetensors"))
    assert recorded_architecture(tmp_path / "model.safetensors") is None
    assert_same_function(load_network(tmp_path / "model.safetensors", "relu"), model)


# -- nothing unsafe through -------------------------------------------------------------------


class WritesAFile:
    """A pickle payload: unpickling it calls Path.write_text, i.e. runs code."""

    target = None

    def __reduce__(self):
        return (Path.write_text, (Path(self.target), "this should never be written"))


@pytest.mark.parametrize("how", ["torch.save", "plain pickle"])
def test_a_pickle_with_code_is_refused_and_runs_nothing(tmp_path, how):
    WritesAFile.target = str(tmp_path / "pwned.txt")
    path = tmp_path / "evil.pt"
    payload = {"fc1.weight": WritesAFile()}
    if how == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    with pytest.raises(CheckpointError, match="refused: this file needs code to load"):
        load_state_dict_file(path)
    assert not (tmp_path / "pwned.txt").exists()


def test_a_whole_pickled_module_is_refused(tmp_path):
    torch.save(nn.Linear(2, 1), tmp_path / "module.pt")
    with pytest.raises(CheckpointError, match="refused"):
        load_state_dict_file(tmp_path / "module.pt")


# -- bad files ---------------------------------------------------------------------------------


def write_valid(tmp_path, kind):
    path = tmp_path / f"valid.{kind}"
    if kind == "safetensors":
        save_safetensors(scratchnet.Net(rng=0), path)
    else:
        torch.save(torchnet.Net().state_dict(), path)
    return path


@pytest.mark.parametrize("kind", ["safetensors", "pt"])
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_truncated_files(tmp_path, kind, keep):
    path = write_valid(tmp_path, kind)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CheckpointError):
        load_state_dict_file(path)


@pytest.mark.parametrize("kind", ["safetensors", "pt"])
def test_corrupted_header(tmp_path, kind):
    path = write_valid(tmp_path, kind)
    data = bytearray(path.read_bytes())
    data[9:40] = b"\xff" * 31
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        load_state_dict_file(path)


@pytest.mark.parametrize("content", [b"", b"hello, world\n", b"\x00" * 100, b'{"fc1.weight": [1, 2]}'])
def test_not_a_checkpoint(tmp_path, content):
    path = tmp_path / "weights.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        load_state_dict_file(path)


def test_a_torch_file_without_tensors(tmp_path):
    torch.save({"epoch": 3, "lr": 0.1}, tmp_path / "meta.pt")
    with pytest.raises(CheckpointError, match="holds a dict with keys"):
        load_state_dict_file(tmp_path / "meta.pt")


def test_paths_that_cannot_be_read(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_state_dict_file(tmp_path / "missing.pt")
    with pytest.raises(IsADirectoryError):
        load_state_dict_file(tmp_path)


# -- state dicts that are not a chain of Linear layers ------------------------------------------


def chain(*shapes, names=None):
    names = names or [f"fc{i}" for i in range(1, len(shapes) + 1)]
    state = {}
    for name, (n_out, n_in) in zip(names, shapes):
        state[f"{name}.weight"] = np.zeros((n_out, n_in), np.float32)
        state[f"{name}.bias"] = np.zeros(n_out, np.float32)
    return state


@pytest.mark.parametrize(
    "state, message",
    [
        (chain((4, 2), (1, 4), names=["fc1", "fc3"]), r"without gaps or leading zeros; found fc1, fc3"),
        (chain((4, 2), (1, 4), names=["fc1", "fc02"]), r"without gaps or leading zeros; found fc1, fc02"),
        (chain((4, 2), (1, 4), names=["0", "02"]), "leading zeros"),
        (chain((4, 2), (1, 4), names=["1", "3"]), "the first Linear layer is module 1"),
        (chain((4, 2), (1, 5)), "fc2.weight takes 5 inputs but the layer before gives 4"),
        ({"fc1.weight": np.zeros((4, 2, 1), np.float32)}, r"fc1.weight has shape \(4, 2, 1\): a Linear weight is 2-D"),
        ({**chain((4, 2)), "bn.running_mean": np.zeros(4)}, "unexpected tensors bn.running_mean"),
        ({**chain((4, 2)), "fc1.bias": np.zeros(3, np.float32)}, r"fc1.bias has shape \(3,\), expected \(4,\)"),
        ({**chain((4, 2), names=["0"]), **chain((1, 4), names=["fc2"])}, "mix fcN and Sequential indices"),
        ({**chain((4, 2), names=["a.0"]), **chain((1, 4), names=["b.1"])}, "different prefixes"),
        ({"fc1.bias": np.zeros(4)}, "fc1.bias has no weight beside it"),
        ({"fc1.weight": np.array([["a", "b"]])}, "not numbers"),
        ({}, "non-empty mapping"),
    ],
)
def test_not_a_chain_is_refused_naming_the_keys(state, message):
    with pytest.raises(CheckpointError, match=message):
        file_layers(state)


def test_fc_names_with_biases_on_some_layers_only_are_no_mlp():
    state = {"fc1.weight": np.zeros((4, 2)), **chain((1, 4), names=["fc2"])}
    with pytest.raises(CheckpointError, match="biases on all or none"):
        network_from_state_dict(state, "relu")


def test_sequential_indices_and_no_bias():
    state = {"0.weight": np.ones((4, 2)), "2.weight": np.ones((4, 4)), "4.weight": np.ones((1, 4))}
    layers = file_layers(state)
    assert layers.naming == "sequential" and layers.modules_between == (1, 1) and layers.dtype == np.float64
    net = network_from_state_dict(state, "tanh")
    assert [str(a) for a in net.architecture.activations] == ["tanh", "tanh", "None"]
    assert net[4].weight.shape == (1, 4) and net[0].bias is None


def test_the_activation_is_checked():
    with pytest.raises(ValueError, match="activation must be one of"):
        network_from_state_dict(chain((1, 2)), "swish")


# -- the command line --------------------------------------------------------------------------


def test_compare_checkpoint_reports_a_pass(tmp_path, capsys):
    torch.save(trained_sequential().state_dict(), tmp_path / "model.pt")
    assert compare_main(["--checkpoint", str(tmp_path / "model.pt"), "--activation", "relu", "--batch", "16"]) == 0
    out = capsys.readouterr().out
    assert "Sequential 3 -> 16 -> 8 -> 1: 0 relu, 2 relu, 4, float32" in out and "0.weight, 0.bias, 2.weight" in out
    assert "activations as --activation says (the file does not record them)" in out
    assert "verdict: PASS" in out


def test_compare_checkpoint_with_nan_weights_reports_not_crashes(tmp_path, capsys):
    state = trained_sequential().state_dict()
    state["2.weight"][0, 0] = float("nan")
    torch.save(state, tmp_path / "nan.pt")
    assert compare_main(["--checkpoint", str(tmp_path / "nan.pt"), "--activation", "relu"]) == 0
    out = capsys.readouterr().out
    assert "2.weight holds 1 non-finite value" in out and "verdict: PASS" in out


@pytest.mark.parametrize(
    "make, argv_extra",
    [
        (lambda p: p.write_bytes(b"not a checkpoint"), []),
        (lambda p: torch.save({"epoch": 1}, p), []),
        (lambda p: torch.save(chain((4, 2), (1, 5)), p), []),
        (lambda p: None, []),  # missing file
        (lambda p: torch.save(trained_sequential().state_dict(), p), ["--sizes", "3,1"]),
        (lambda p: torch.save(trained_sequential().state_dict(), p), ["--activation", "swish"]),
        (lambda p: torch.save(trained_sequential().state_dict(), p), []),  # the file cannot say the activations
        (lambda p: torch.save(trained_sequential().state_dict(), p), ["--activation", "relu,none,none"]),
        (
            lambda p: torch.save({k: torch.from_numpy(v).to_sparse() for k, v in chain((4, 2)).items()}, p),
            ["--activation", "relu"],
        ),
    ],
)
def test_compare_checkpoint_bad_files_exit_2_with_one_line(tmp_path, capsys, make, argv_extra):
    path = tmp_path / "bad.pt"
    make(path)
    with pytest.raises(SystemExit) as caught:
        compare_main(["--checkpoint", str(path), *argv_extra])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
