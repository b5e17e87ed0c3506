"""Fuzzing: whatever bytes or mappings come in, the only outcomes are success or the documented exceptions,
and a network is unchanged after any failure."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import scratchnet
from scratchnet import StateDictError
from scratchnet.checkpoint import CheckpointError, file_layers, network_from_state_dict, save_safetensors

from .optional import optional, optional_names

torch = optional("torch")
torchnet = optional("torchnet")
(load_state_dict_file,) = optional_names("compare.checkpoint", "load_state_dict_file")


FILE_SETTINGS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def outcome_of_loading(path):
    try:
        state = load_state_dict_file(path)
    except CheckpointError:
        return "refused"
    assert all(isinstance(k, str) and isinstance(v, np.ndarray) for k, v in state.items())
    return "loaded"


@FILE_SETTINGS
@given(st.binary(max_size=512), st.sampled_from(["", b"PK\x03\x04", b"\x80\x02", b"\x10\x00\x00\x00\x00\x00\x00\x00{"]))
def test_arbitrary_bytes(tmp_path, data, head):
    path = tmp_path / "fuzz.pt"
    path.write_bytes((head.encode() if isinstance(head, str) else head) + data)
    assert outcome_of_loading(path) in ("refused", "loaded")


def _valid_bytes(kind, directory):
    path = directory / f"valid.{kind}"
    if kind == "safetensors":
        save_safetensors(scratchnet.MLP((3, 5, 2), rng=0), path)
    else:
        torch.save(torchnet.MLP((3, 5, 2)).state_dict(), path)
    return path.read_bytes()


@FILE_SETTINGS
@given(
    st.sampled_from(["safetensors", "pt"]),
    st.integers(0, 10_000),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
)
def test_mutated_real_files(tmp_path, kind, cut, flips):
    data = bytearray(_valid_bytes(kind, tmp_path))
    for position, value in flips:
        data[position % len(data)] = value
    path = tmp_path / "mutated.bin"
    path.write_bytes(bytes(data[: max(cut, 1) if cut < len(data) else len(data)]))
    assert outcome_of_loading(path) in ("refused", "loaded")


names = st.one_of(
    st.sampled_from(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]),
    st.text(max_size=12),
    st.integers(),
)
values = st.one_of(
    hnp.arrays(
        st.sampled_from([np.float32, np.float64, np.int64, np.bool_]),
        hnp.array_shapes(min_dims=0, max_dims=3, max_side=5),
    ),
    st.lists(st.floats(allow_nan=True), max_size=5),
    st.text(max_size=5),
    st.none(),
    st.integers(),
)


@given(st.dictionaries(names, values, max_size=8), st.booleans())
def test_load_state_dict_with_arbitrary_mappings(mapping, strict):
    net = scratchnet.Net(rng=0)
    before = net.state_dict()
    try:
        net.load_state_dict(mapping, strict=strict)
    except (StateDictError, TypeError):
        for name, value in net.state_dict().items():
            np.testing.assert_array_equal(value, before[name])  # nothing changed
    else:
        assert all(np.asarray(v).shape == before[k].shape for k, v in net.state_dict().items())


layer_names = st.one_of(
    st.builds(lambda i, kind: f"fc{i}.{kind}", st.integers(0, 4), st.sampled_from(["weight", "bias"])),
    st.builds(
        lambda p, i, kind: f"{p}{i}.{kind}",
        st.sampled_from(["", "model.", "net."]),
        st.integers(0, 6),
        st.sampled_from(["weight", "bias"]),
    ),
    st.text(max_size=8),
)
arrays = hnp.arrays(st.sampled_from([np.float32, np.float64]), hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))


@given(st.dictionaries(layer_names, arrays, max_size=6))
def test_file_layers_with_arbitrary_state_dicts(state):
    try:
        layers = file_layers(state)
    except CheckpointError:
        return
    gaps = layers.modules_between or (1,) * (len(layers.keys) - 1)
    biases = {bias is not None for _, bias in layers.keys}
    activations = ["relu" if gap else None for gap in gaps] + [None]
    if any(gap > 1 for gap in gaps) or (layers.naming == "fc" and len(biases) > 1):
        try:
            network_from_state_dict(state, activations)
        except CheckpointError:
            return  # no Architecture says it: refused, never guessed
        raise AssertionError("an undescribable chain was loaded")
    net = network_from_state_dict(state, activations)  # what file_layers accepts, with its activations said, loads
    sizes = net.architecture.sizes
    assert sizes == (layers.shapes[0][0],) + tuple(out for _, out in layers.shapes)
    with np.errstate(all="ignore"):  # inf weights times 0 inputs: NaN, which NumPy warns about (documented)
        assert net(np.zeros(sizes[0], layers.dtype)).shape == (sizes[-1],)
