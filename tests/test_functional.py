"""Activations: the same values as torch, at ordinary and at edge values, quietly, without touching the input."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from scratchnet import functional as F

from .optional import optional

torch = optional("torch")


EDGES = [0.0, -0.0, np.inf, -np.inf, np.nan, 1000.0, -1000.0, 1e-45, -1e-45, 88.8, -88.8, 1e-3, -1e-3, 20.0, -20.0]
DTYPES = [np.float32, np.float64]
TORCH_DTYPES = {np.float32: torch.float32, np.float64: torch.float64}


def torch_reference(name, x, value=0.5):
    t = torch.from_numpy(x)
    if name == "heaviside":
        return torch.heaviside(t, torch.tensor(value, dtype=t.dtype)).numpy()
    return getattr(torch, name)(t).numpy()


def ours(name, x, value=0.5):
    return F.heaviside(x, value) if name == "heaviside" else getattr(F, name)(x)


def assert_same_as_torch(name, x, mine, theirs):
    """Exact for relu and heaviside; within the evaluation error bound for sigmoid and tanh."""
    assert mine.dtype == x.dtype, f"{name}: dtype {mine.dtype}, expected {x.dtype}"
    assert mine.shape == x.shape
    np.testing.assert_array_equal(np.isnan(mine), np.isnan(theirs), err_msg=f"{name}: NaN positions differ")
    if name in ("relu", "heaviside"):
        np.testing.assert_array_equal(mine, theirs, err_msg=name)
        np.testing.assert_array_equal(np.signbit(mine), np.signbit(theirs), err_msg=f"{name}: sign of zero")
    else:
        # ours and torch's each within 5u relative of the exact value (see compare.tolerance),
        # plus the smallest normal for results that underflow (torch flushes float32 sigmoid to 0).
        eps = np.finfo(x.dtype).eps
        np.testing.assert_allclose(mine, theirs, rtol=5 * eps, atol=np.finfo(x.dtype).tiny, err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "heaviside"])
def test_edge_values_match_torch(name, dtype):
    x = np.array(EDGES, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sigmoid(+-1000) and NaN must be quiet
        mine = ours(name, x)
    assert_same_as_torch(name, x, mine, torch_reference(name, x))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("value", [0.0, 0.5, 1.0, np.nan])
def test_heaviside_values_at_zero_and_nan(value, dtype):
    x = np.array([-np.inf, -1.0, -0.0, 0.0, 1.0, np.inf, np.nan], dtype=dtype)
    mine = F.heaviside(x, value)
    np.testing.assert_array_equal(mine, torch_reference("heaviside", x, value))
    assert mine[-1] == 0, "torch.heaviside(NaN) is 0, not NaN as np.heaviside gives"


def test_heaviside_broadcasts_values_like_torch():
    x = np.array([[0.0, -2.0], [0.0, 3.0]])
    values = np.array([0.25, 0.75])
    expected = torch.heaviside(torch.from_numpy(x), torch.from_numpy(values)).numpy()
    np.testing.assert_array_equal(F.heaviside(x, values), expected)


def test_sigmoid_saturates_exactly_and_quietly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for dtype in DTYPES:
            out = F.sigmoid(np.array([-1000.0, 1000.0], dtype=dtype))
            assert out.tolist() == [0.0, 1.0]


def test_identity_returns_its_input():
    x = np.arange(3.0)
    assert F.identity(x) is x


@given(
    hnp.arrays(
        st.sampled_from(DTYPES),
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5),
        elements=st.floats(allow_nan=True, allow_infinity=True, width=32),
    ),
    st.sampled_from(["relu", "sigmoid", "tanh", "heaviside"]),
)
def test_any_array_matches_torch_and_is_left_untouched(x, name):
    before = x.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mine = ours(name, x)
    np.testing.assert_array_equal(x, before)
    assert_same_as_torch(name, x, np.asarray(mine), torch_reference(name, np.ascontiguousarray(x)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_keeps_minus_zero_and_nan_at_every_size_and_stride(dtype):
    """``relu`` is one ``np.maximum(0, x)``: the zero first, so that -0.0 stays -0.0 (NumPy's maximum gives its
    second operand when the two are equal). Checked where NumPy's loops differ: SIMD bodies and scalar tails
    (sizes 1 to 299), strided and transposed views, denormals."""
    tiny = np.finfo(dtype).smallest_subnormal
    pattern = np.array([-0.0, 0.0, -2.0, 3.0, np.nan, -np.inf, np.inf, -tiny, tiny], dtype)
    for size in range(1, 300):
        values = np.resize(pattern, 2 * size)
        for x in (values[:size], values[::2], values.reshape(-1, 2), values.reshape(2, -1).T):
            y = F.relu(x)
            expected = np.where(x > 0, x, np.where(x == 0, x, 0))  # x itself at +-0, positive x, 0 below; NaN: NaN
            expected[np.isnan(x)] = np.nan
            np.testing.assert_array_equal(y, expected)
            np.testing.assert_array_equal(np.signbit(y), np.signbit(expected), err_msg=f"size {size}")


def test_relu_of_other_dtypes_keeps_minus_zero_too():
    """float16 and integers take NumPy's plain loop (which turns -0.0 into +0.0): the zeros are put back."""
    half = F.relu(np.array([-0.0, 0.0, -1.0, 2.0, np.nan], np.float16))
    np.testing.assert_array_equal(np.signbit(half), [True, False, False, False, False])
    np.testing.assert_array_equal(half[:4], [0, 0, 0, 2])
    assert np.isnan(half[4]) and half.dtype == np.float16
    np.testing.assert_array_equal(F.relu(np.array([-3, 0, 4])), [0, 0, 4])
