"""Linear: torch's layout, initialisation, shapes and input rules."""

import math

import numpy as np
import pytest

from scratchnet import Linear

from .optional import optional

torch = optional("torch")


def test_layout_and_formula():
    layer = Linear(3, 2, rng=0)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    expected = x.astype(np.float64) @ layer.weight.data.T.astype(np.float64) + layer.bias.data
    np.testing.assert_allclose(layer(x), expected, rtol=1e-6)


def test_matches_torch_linear_given_the_same_weights():
    layer = Linear(5, 3, rng=1)
    torch_layer = torch.nn.Linear(5, 3)
    with torch.no_grad():
        torch_layer.weight.copy_(torch.from_numpy(layer.weight.data))
        torch_layer.bias.copy_(torch.from_numpy(layer.bias.data))
    x = np.random.default_rng(2).standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_allclose(layer(x), torch_layer(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("in_features", [1, 4, 100])
def test_initialisation_is_torch_uniform_bound(in_features):
    layer = Linear(in_features, 400, rng=3)
    bound = 1 / math.sqrt(in_features)
    for values in (layer.weight.data, layer.bias.data):
        assert np.all(np.abs(values) <= bound)
        # uniform on [-bound, bound]: spread close to the ends, mean near 0
        assert values.max() > 0.95 * bound and values.min() < -0.95 * bound
        assert abs(values.mean()) < 0.1 * bound


def test_same_seed_same_weights_and_generator_is_used():
    a, b = Linear(4, 3, rng=7), Linear(4, 3, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    rng = np.random.default_rng(7)
    first, second = Linear(4, 3, rng=rng), Linear(4, 3, rng=rng)
    assert not np.array_equal(first.weight.data, second.weight.data)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype):
    layer = Linear(2, 3, dtype=dtype, rng=0)
    assert layer.weight.dtype == dtype and layer.bias.dtype == dtype and layer.dtype == dtype
    assert layer(np.ones(2, dtype)).dtype == dtype


@pytest.mark.parametrize(
    "shape, expected",
    [((3,), (2,)), ((5, 3), (5, 2)), ((4, 5, 3), (4, 5, 2)), ((0, 3), (0, 2)), ((2, 0, 3), (2, 0, 2))],
)
def test_shapes_like_torch(shape, expected):
    layer = Linear(3, 2, rng=0)
    torch_out = torch.nn.Linear(3, 2)(torch.zeros(shape))
    assert tuple(torch_out.shape) == expected
    assert layer(np.zeros(shape, np.float32)).shape == expected


def test_no_bias():
    layer = Linear(3, 2, bias=False, rng=0)
    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    np.testing.assert_array_equal(layer(np.zeros(3, np.float32)), np.zeros(2))
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=False)"


def test_zero_in_features_gives_the_bias():
    layer = Linear(0, 3, rng=0)
    np.testing.assert_array_equal(layer(np.zeros((2, 0), np.float32)), np.broadcast_to(layer.bias.data, (2, 3)))


@pytest.mark.parametrize("x", [[1, 2], [1.5, 2.5], np.array([1, 2]), np.array([True, False]), [[1, 2], [3, 4]]])
def test_lists_and_integer_arrays_are_converted(x):
    layer = Linear(2, 1, rng=0)
    out = layer(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, layer(np.asarray(x, dtype=np.float32)))


def test_other_float_dtype_is_refused():
    layer = Linear(2, 1, rng=0)
    with pytest.raises(TypeError, match=r"float32.*got float64"):
        layer(np.zeros(2, np.float64))
    with pytest.raises(TypeError, match=r"float64.*got float32"):
        Linear(2, 1, dtype=np.float64)(np.zeros(2, np.float32))


def test_wrong_feature_count_names_both_sizes():
    layer = Linear(3, 2, rng=0)
    with pytest.raises(ValueError, match=r"\(\*, 3\).*\(4, 5\).*5, not 3"):
        layer(np.zeros((4, 5), np.float32))


@pytest.mark.parametrize(
    "x, error, message",
    [
        (np.float32(1.0), ValueError, "0-D"),
        (np.array(["a", "b"]), TypeError, "real numbers"),
        (np.array([1 + 2j, 0j]), TypeError, "real numbers"),
        ([[1, 2], [3]], TypeError, "expects an array"),
        (None, TypeError, "real numbers"),
    ],
)
def test_bad_inputs(x, error, message):
    with pytest.raises(error, match=message):
        Linear(2, 1, rng=0)(x)


def test_forward_does_not_modify_its_input():
    layer = Linear(3, 3, rng=0)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    before = x.copy()
    layer(x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize(
    "args, error",
    [((2.5, 3), TypeError), ((-1, 3), ValueError), ((True, 3), TypeError), ((2, "3"), TypeError)],
)
def test_bad_constructor_arguments(args, error):
    with pytest.raises(error):
        Linear(*args)


@pytest.mark.parametrize("dtype", [np.int32, np.float16, "float128", object])
def test_only_float32_and_float64_weights(dtype):
    with pytest.raises(TypeError, match="float32 or float64"):
        Linear(2, 2, dtype=dtype)
