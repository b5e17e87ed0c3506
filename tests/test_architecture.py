"""One description of a network: every package reads it, and nothing answers confidently when it cannot know."""

import ast
import threading

import numpy as np
import pytest
from hypothesis import given

import scratchnet
import scratchnet.functional as F
from scratchnet import Activation, Architecture, Layer, infer
from scratchnet.checkpoint import CheckpointError, recorded_architecture, save_safetensors

from .optional import optional, optional_names, source_folder
from .strategies import described_architectures

torch = optional("torch")
torchnet = optional("torchnet")
compare_forward, twin = optional_names("compare", "compare_forward", "twin")
(load_network,) = optional_names("compare.checkpoint", "load_network")
(compare_main,) = optional_names("compare.cli", "main")


class TanhNet(scratchnet.Net):
    """A learner's subclass: the article's Net with tanh in its own forward, and no architecture of its own."""

    def forward(self, x):
        y = F.tanh(self.fc1(x))
        y = F.tanh(self.fc2(y))
        return self.fc3(y)


# -- what was wrong: each one a test ----------------------------------------------------------


def test_infer_refuses_a_subclass_whose_forward_is_its_own():
    net = TanhNet(rng=0)
    x = np.random.default_rng(0).standard_normal((8, 2)).astype(np.float32)
    with pytest.raises(TypeError, match="TanhNet: its forward is written in TanhNet"):
        infer(net, x)
    assert net(x).shape == (8, 1)  # calling it still runs its own forward


def test_a_subclass_that_states_its_architecture_is_accepted():
    class DescribedTanhNet(TanhNet):
        forward = TanhNet.forward

        @property
        def architecture(self):
            return Architecture.mlp((2, 4, 4, 1), "tanh")

    net = DescribedTanhNet(rng=0)
    x = np.random.default_rng(0).standard_normal((8, 2)).astype(np.float32)
    np.testing.assert_allclose(infer(net, x), net(x), rtol=1e-5, atol=1e-6)


def test_a_tanh_file_loads_as_tanh(tmp_path):
    net = scratchnet.MLP((3, 6, 2), "tanh", rng=0)
    save_safetensors(net, tmp_path / "tanh.safetensors")
    assert recorded_architecture(tmp_path / "tanh.safetensors") == net.architecture
    back = scratchnet.checkpoint.load_network(tmp_path / "tanh.safetensors")
    assert back.architecture == net.architecture
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    assert np.array_equal(back(x), net(x))
    with pytest.raises(CheckpointError, match="records 3 -> 6 -> 2: fc1 tanh, fc2, but activation=.relu. says"):
        scratchnet.checkpoint.load_network(tmp_path / "tanh.safetensors", "relu")
    assert scratchnet.checkpoint.load_network(tmp_path / "tanh.safetensors", "tanh").architecture == net.architecture


@pytest.mark.parametrize(
    "net",
    [
        scratchnet.Sequential(
            scratchnet.Linear(2, 3), scratchnet.Linear(3, 4), scratchnet.Sigmoid(), scratchnet.Linear(4, 1)
        ),
        scratchnet.MLP((2, 5, 1), "heaviside", output_activation="sigmoid", bias=False, rng=3),
        scratchnet.Linear(4, 2, rng=0),
    ],
    ids=["sequential", "mlp-output-activation", "linear"],
)
def test_every_network_comes_back_from_its_file_as_it_was(tmp_path, net):
    save_safetensors(net, tmp_path / "net.safetensors")
    back = load_network(tmp_path / "net.safetensors")
    assert type(back) is type(net) and back.architecture == net.architecture and repr(back) == repr(net)


def test_adjacent_sequential_indices_mean_no_activation_there(tmp_path, capsys):
    """0.*, 1.*, 3.*: nothing between the first two Linear layers, one module between the last two."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.Linear(4, 5), torch.nn.ReLU(), torch.nn.Linear(5, 1)
    ).double()
    torch.save(model.state_dict(), tmp_path / "model.pt")
    net = load_network(tmp_path / "model.pt", "relu")
    assert str(net.architecture) == "3 -> 4 -> 5 -> 1: 0, 1 relu, 3"
    x = np.random.default_rng(0).standard_normal((50, 3))
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net(x), expected, rtol=1e-12, atol=1e-14)  # judged against the user's own model
    assert compare_main(["--checkpoint", str(tmp_path / "model.pt"), "--activation", "relu"]) == 0
    assert "Sequential 3 -> 4 -> 5 -> 1: 0, 1 relu, 3" in capsys.readouterr().out
    with pytest.raises(CheckpointError, match="adjacent in the Sequential"):
        load_network(tmp_path / "model.pt", ["relu", "relu", None])
    with pytest.raises(CheckpointError, match="does not record its activations"):
        load_network(tmp_path / "model.pt")


def test_a_planted_bug_in_scratchnet_is_blamed_on_scratchnet(monkeypatch):
    net = scratchnet.MLP((3, 8, 8, 2), "sigmoid", rng=0)
    theirs = twin(net)
    x = np.random.default_rng(0).standard_normal((32, 3)).astype(np.float32)
    assert compare_forward(net, theirs, x).passed
    real = F.sigmoid
    monkeypatch.setattr(F, "sigmoid", lambda z: real(z) * np.asarray(1.001, dtype=np.asarray(z).dtype))
    for dtype in (np.float32, np.float64):
        mine = scratchnet.MLP((3, 8, 8, 2), "sigmoid", dtype=dtype, rng=0)
        report = compare_forward(mine, twin(mine), x.astype(dtype))
        rows = {c.name: c.passed for c in report.comparisons}
        assert rows == {
            "weights: scratchnet vs torch": True,
            "scratchnet vs float64 reference": False,
            "torch vs float64 reference": True,
            "scratchnet vs torch": False,
        }
        assert report.blamed == ["scratchnet"] and "blame: scratchnet" in str(report)


def test_the_judge_does_not_import_what_it_judges():
    source = (source_folder("compare") / "tolerance.py").read_text()
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert not any(name and name.split(".")[0] == "scratchnet" for name in imported), imported


# -- the dependency rule, read from the source ---------------------------------------------------


def _imports(path):
    """Every module a file imports, at any depth (inside functions too), and any dynamic import it calls."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            found += [base] if node.level == 0 else [f".{base}"]
            found += [f"{base}.{alias.name}" for alias in node.names] if node.level == 0 else []
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in ("__import__", "import_module"):
                found.append(f"<dynamic import: {ast.unparse(node)}>")
    return found


def test_the_hand_written_core_never_imports_torch_torchnet_or_compare():
    bad = []
    for path in sorted(source_folder("scratchnet").glob("*.py")):
        for name in _imports(path):
            if name.startswith("<dynamic") or name.split(".")[0] in ("torch", "torchnet", "compare", "benchmarks"):
                bad.append(f"{path.name}: {name}")
    assert bad == []


def test_other_packages_use_only_scratchnets_public_modules():
    bad = []
    for package in ("torchnet", "compare", "benchmarks"):
        for path in sorted(source_folder(package).glob("*.py")):
            for name in _imports(path):
                parts = name.split(".")
                if parts[0] == "scratchnet" and any(part.startswith("_") and part != "__main__" for part in parts):
                    bad.append(f"{package}/{path.name}: {name}")
    assert bad == []


# -- the recording state is per thread -----------------------------------------------------------


def test_threads_training_their_own_networks_get_their_own_gradients():
    nets = [scratchnet.MLP((3, 16, 16, 2), "tanh", dtype=np.float64, rng=seed) for seed in range(4)]
    data = [np.random.default_rng(10 + seed).standard_normal((64, 3)) for seed in range(4)]
    upstream = [np.random.default_rng(20 + seed).standard_normal((64, 2)) for seed in range(4)]

    def gradients(net, x, g, rounds=30):
        results = []
        for _ in range(rounds):
            net.zero_grad()
            net(x)
            grad_x = net.backward(g)
            results.append((grad_x, {name: p.grad.copy() for name, p in net.named_parameters()}))
        return results

    alone = [gradients(net, x, g, rounds=1)[0] for net, x, g in zip(nets, data, upstream)]
    barrier = threading.Barrier(4)
    outcomes, errors = [None] * 4, []

    def worker(index):
        try:
            barrier.wait()
            outcomes[index] = gradients(nets[index], data[index], upstream[index])
        except Exception as error:  # reported below: a thread's exception would otherwise vanish
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for index in range(4):
        expected_x, expected = alone[index]
        for grad_x, grads in outcomes[index]:
            assert np.array_equal(grad_x, expected_x)
            assert all(np.array_equal(grads[name], expected[name]) for name in expected)


def test_no_grad_in_one_thread_leaves_another_recording():
    inside, go_on, seen = threading.Event(), threading.Event(), {}

    def quiet():
        with scratchnet.no_grad():
            inside.set()
            go_on.wait(10)

    thread = threading.Thread(target=quiet)
    thread.start()
    inside.wait(10)
    seen["enabled"] = scratchnet.is_grad_enabled()
    net = scratchnet.Net(rng=0)
    net(np.ones((2, 2), np.float32))
    seen["grad"] = net.backward(np.ones((2, 1), np.float32)).shape
    go_on.set()
    thread.join()
    assert seen == {"enabled": True, "grad": (2, 2)}


# -- the description itself ------------------------------------------------------------------------


def test_what_the_article_net_is():
    architecture = scratchnet.Net().architecture
    assert architecture == Architecture.mlp((2, 4, 4, 1), "relu") == torchnet.Net().architecture
    assert architecture == scratchnet.MLP((2, 4, 4, 1)).architecture
    assert architecture.layer_names == ("fc1", "fc2", "fc3")
    assert architecture.parameter_names() == list(scratchnet.Net().state_dict())
    assert str(architecture) == "2 -> 4 -> 4 -> 1: fc1 relu, fc2 relu, fc3"


def test_sequential_names_follow_torch():
    architecture = Architecture((Layer(2, 3), Layer(3, 4, activation="relu"), Layer(4, 1, False)), "sequential")
    assert architecture.layer_names == ("0", "1", "3")
    assert architecture.parameter_names() == ["0.weight", "0.bias", "1.weight", "1.bias", "3.weight"]
    mine, theirs = scratchnet.build(architecture), torchnet.build(architecture)
    assert list(mine.state_dict()) == list(theirs.state_dict()) == architecture.parameter_names()
    assert repr(mine) == repr(theirs)


def test_the_description_follows_the_modules_and_infer_sees_every_change():
    net = scratchnet.MLP((2, 6, 1), "relu", rng=0)
    x = np.random.default_rng(0).standard_normal((3000, 2)).astype(np.float32)
    infer(net, x)  # compiles a plan
    net.activation = scratchnet.Tanh()
    assert net.architecture.activations[0] == Activation("tanh")
    np.testing.assert_allclose(infer(net, x), net(x), rtol=1e-5, atol=1e-6)
    net.activation = scratchnet.Heaviside(0.0)
    assert infer(net, np.zeros((1, 2), np.float32)).shape == (1, 1)
    net.activation.value = 1.0
    np.testing.assert_array_equal(infer(net, x), net(x))
    net.forward = lambda x: x
    with pytest.raises(TypeError, match="replaced on the instance"):
        infer(net, x)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Architecture(()), "at least one layer"),
        (lambda: Architecture((Layer(2, 3), Layer(4, 1))), "layer 2 takes 4 inputs but the layer before gives 3"),
        (lambda: Architecture((Layer(2, 3),), "resnet"), "naming must be one of"),
        (lambda: Architecture((Layer(2, 3, activation="relu"),), "linear"), "one Linear alone"),
        (lambda: Layer(2, 3, activation="swish"), "activation must be one of"),
        (lambda: Layer(2, 3, bias=1), "bias must be True or False"),
        (lambda: Layer(True, 3), "in_features must be an integer"),
        (lambda: Activation("relu", value=1.0), "has no setting value"),
        (lambda: Activation("heaviside", value=float("nan")), "finite number"),
        (lambda: Architecture.from_dict({"naming": "fc"}), "an architecture is"),
        (lambda: Architecture.from_dict({"naming": "fc", "layers": [{"in_features": 2}]}), "exactly the keys"),
        (
            lambda: scratchnet.build(Architecture((Layer(2, 3, True, "relu"), Layer(3, 1, False)))),
            "biases on all or none",
        ),
        (lambda: scratchnet.Sequential(scratchnet.ReLU(), scratchnet.Linear(2, 1)).architecture, "comes first"),
        (
            lambda: scratchnet.Sequential(scratchnet.Linear(2, 1), scratchnet.MSELoss()).architecture,
            "not an activation",
        ),
    ],
)
def test_what_cannot_be_described_is_refused_clearly(make, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make()


@given(described_architectures())
def test_descriptions_round_trip_and_build_the_same_network_in_both_frameworks(architecture):
    assert Architecture.from_dict(architecture.to_dict()) == architecture
    mine = scratchnet.build(architecture, rng=0)
    assert mine.architecture == architecture
    theirs = twin(mine)
    assert torchnet.architecture_of(theirs) == architecture
    x = np.random.default_rng(1).standard_normal((7, architecture.sizes[0])).astype(np.float32)
    report = compare_forward(mine, theirs, x)
    assert report.passed, str(report)
    np.testing.assert_allclose(infer(mine, x), report.values["scratchnet"], rtol=1e-5, atol=1e-5)


def test_compare_refuses_networks_that_are_not_twins():
    mine = scratchnet.MLP((2, 4, 1), "tanh", rng=0)
    theirs = torchnet.MLP((2, 4, 1), "relu")
    with pytest.raises(ValueError, match="not twins: scratchnet computes 2 -> 4 -> 1: fc1 tanh"):
        compare_forward(mine, theirs, np.zeros((1, 2), np.float32))
    with torch.no_grad():
        twin_net = twin(mine)
        twin_net.fc1.weight[0, 0] += 1
    report = compare_forward(mine, twin_net, np.ones((3, 2), np.float32))
    assert not report.comparisons[0].passed and report.comparisons[0].name == "weights: scratchnet vs torch"


# -- found by a hostile review ------------------------------------------------------------------


def test_a_different_heaviside_value_at_an_exact_zero_is_caught(monkeypatch):
    """z computed exactly (bound 0): both sides step the same way, so a different value at 0 is a difference."""
    net = scratchnet.Sequential(scratchnet.Linear(3, 2, rng=0), scratchnet.Heaviside(0.25))
    net[0].bias.data[:] = 0
    x = np.zeros((4, 3), np.float32)
    assert compare_forward(net, twin(net), x).passed
    real = F.heaviside
    monkeypatch.setattr(F, "heaviside", lambda z, value: real(z, 0.75))
    report = compare_forward(net, twin(net), x)
    assert not report.passed and report.blamed == ["scratchnet"]


def test_a_relu_slope_of_one_at_an_exact_zero_is_caught(monkeypatch):
    from compare import compare_gradients

    net = scratchnet.MLP((3, 4, 1), rng=0)
    net.fc1.bias.data[:] = 0
    x = np.zeros((5, 3), np.float32)
    assert compare_gradients(net, twin(net), x, rng=0).passed
    monkeypatch.setattr(F, "relu_backward", lambda grad, out: np.where(out < 0, 0, grad))
    report = compare_gradients(net, twin(net), x, rng=0)
    assert not report.passed


def test_a_pickled_network_brings_no_stale_plan(tmp_path):
    import pickle
    import subprocess
    import sys

    net = scratchnet.MLP((2, 4, 1), "tanh", rng=0)
    x = np.random.default_rng(0).standard_normal((3, 2)).astype(np.float32)
    infer(net, x)
    net.activation = scratchnet.ReLU()
    (tmp_path / "net.pkl").write_bytes(pickle.dumps(net))
    (tmp_path / "x.npy").write_bytes(b"")
    np.save(tmp_path / "x.npy", x)
    program = (
        "import pickle, sys, numpy as np, scratchnet\n"
        "scratchnet.MLP((2, 4, 1), 'tanh', rng=0)\n"  # moves this process's counter to where the plan was made
        f"net = pickle.loads(open({str(tmp_path / 'net.pkl')!r}, 'rb').read())\n"
        f"x = np.load({str(tmp_path / 'x.npy')!r})\n"
        "print(float(np.abs(scratchnet.infer(net, x) - net(x)).max()))\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) < 1e-6


def test_a_sequential_item_replaced_is_seen_by_infer():
    """Found by a hostile review: without Sequential.__setitem__ (torch has it), users wrote into _modules,
    which no cache sees; seq[1] = Tanh() goes through setattr."""
    seq = scratchnet.Sequential(scratchnet.Linear(3, 5, rng=0), scratchnet.ReLU(), scratchnet.Linear(5, 2, rng=0))
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    infer(seq, x)
    seq[1] = scratchnet.Tanh()
    seq[-1] = scratchnet.Linear(5, 3, rng=1)
    assert isinstance(seq[1], scratchnet.Tanh) and infer(seq, x).shape == (4, 3)
    np.testing.assert_allclose(infer(seq, x), seq(x), rtol=1e-6, atol=1e-7)
    with pytest.raises(IndexError, match="index 3 is out of range for a Sequential of 3 modules"):
        seq[3] = scratchnet.ReLU()
    with pytest.raises(TypeError, match="Sequential takes scratchnet modules; got int"):
        seq[0] = 3


def test_infer_refuses_forwards_replaced_anywhere():
    net = scratchnet.Net(rng=0)
    net.fc1.forward = lambda input: F.tanh(input)
    with pytest.raises(TypeError, match="its module 'fc1' had forward replaced"):
        infer(net, np.ones((2, 2), np.float32))

    class Skipping(scratchnet.MLP):
        @property
        def layers(self):
            return [self.fc1, self.fc3]

    with pytest.raises(TypeError, match="refuses Skipping"):
        infer(Skipping((2, 4, 4, 1), rng=0), np.ones((2, 2), np.float32))

    class Calling(scratchnet.Net):
        def __call__(self, *args):
            return super().__call__(*args) * 2

    with pytest.raises(TypeError, match="refuses Calling"):
        infer(Calling(rng=0), np.ones((2, 2), np.float32))


def test_one_network_shared_by_threads_back_propagates_each_threads_own_forward():
    net = scratchnet.MLP((3, 8, 1), "tanh", dtype=np.float64, rng=0)
    xa, xb = np.ones((4, 3)), np.full((4, 3), -2.0)
    g = np.ones((4, 1))
    net.zero_grad()
    net(xa)
    net.backward(g)
    expected = net.fc1.weight.grad.copy()
    net.zero_grad()
    net(xa)  # this thread's forward
    thread = threading.Thread(target=lambda: net(xb))  # another thread's forward in between
    thread.start()
    thread.join()
    net.backward(g)
    assert np.array_equal(net.fc1.weight.grad, expected)


def test_a_file_whose_metadata_lies_about_sizes_is_refused_before_building(tmp_path):
    import json

    from safetensors.numpy import save_file

    net = scratchnet.MLP((3, 4, 1), rng=0)
    lie = Architecture.mlp((3, 100_000, 1)).to_dict()
    save_file(net.state_dict(), str(tmp_path / "lie.safetensors"), {"scratchnet.architecture": json.dumps(lie)})
    with pytest.raises(CheckpointError, match="do not fit the architecture it records"):
        load_network(tmp_path / "lie.safetensors")
    with pytest.raises(SystemExit) as caught:
        compare_main(["--checkpoint", str(tmp_path / "lie.safetensors")])
    assert caught.value.code == 2


def test_what_cannot_be_read_back_is_not_written(tmp_path):
    class Mixed(scratchnet.MLP):
        forward = scratchnet.MLP.forward  # (it claims its own; what matters here is that no MLP rebuilds it)

        @property
        def architecture(self):
            return Architecture((Layer(2, 4, activation="tanh"), Layer(4, 4, activation="relu"), Layer(4, 1)))

    with pytest.raises(ValueError, match="describe it with naming='sequential'"):
        save_safetensors(Mixed((2, 4, 4, 1), rng=0), tmp_path / "mixed.safetensors")
    assert not (tmp_path / "mixed.safetensors").exists()
    seq = scratchnet.Sequential(scratchnet.Linear(3, 1))
    seq.head = scratchnet.Linear(1, 2)
    with pytest.raises(TypeError, match="named \\['0', 'head'\\]"):
        save_safetensors(seq, tmp_path / "seq.safetensors")


def test_compare_says_none_and_means_none(capsys):
    assert compare_main(["--sizes", "2,8,1", "--activation", "none"]) == 0
    assert "Sequential 2 -> 8 -> 1: 0, 1," in capsys.readouterr().out
    assert compare_main(["--activation", "none"]) == 0
    assert "Sequential 2 -> 4 -> 4 -> 1: 0, 1, 2," in capsys.readouterr().out


def test_a_widened_article_net_twins_as_what_it_is():
    net = scratchnet.Net(rng=0)
    net.fc2, net.fc3 = scratchnet.Linear(4, 8, rng=1), scratchnet.Linear(8, 1, rng=2)
    theirs = twin(net)
    assert torchnet.architecture_of(theirs) == net.architecture
    assert compare_forward(net, theirs, np.ones((3, 2), np.float32)).passed
    assert scratchnet.Heaviside(np.float32(0.25)).value == 0.25
