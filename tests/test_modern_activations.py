"""The activations modern MLPs use (LeakyReLU, ELU, GELU, SiLU, Softplus, Softmax, LogSoftmax): torch's values and
slopes at the edges, and every one within the bound ``compare.tolerance`` derives for it, on dense grids."""

import warnings

import numpy as np
import pytest

import scratchnet
from scratchnet import Activation
from scratchnet import functional as F
from scratchnet.activation import make_activation

from .optional import optional, optional_names
from .strategies import SETTINGS_SAMPLES

torch = optional("torch")
torchnet = optional("torchnet")
reference_activation, activation_bound, unit_roundoff = optional_names(
    "compare.tolerance", "reference_activation", "activation_bound", "unit_roundoff"
)

EDGES = [0.0, -0.0, np.inf, -np.inf, np.nan, 1000.0, -1000.0, 1e-45, -1e-45, 88.8, -88.8, 1e-3, -1e-3, 20.0, -20.0]
DTYPES = [np.float32, np.float64]
ELEMENTWISE = SETTINGS_SAMPLES
ROWS = [Activation("softmax"), Activation("log_softmax")]


def through_torch(activation, x, upstream):
    """torch's module for ``activation``: its output and the gradient of ``sum(upstream * output)``."""
    t = torch.tensor(x, requires_grad=True)
    out = torchnet.make_activation(activation)(t)
    (grad,) = torch.autograd.grad(out, t, torch.from_numpy(upstream))
    return out.detach().numpy(), grad.numpy()


def through_scratch(activation, x, upstream):
    """scratchnet's module, forward then backward (no NumPy warning allowed: edges are quiet)."""
    module = make_activation(activation)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = module(x)
        grad = module.backward(upstream)
    return out, grad


def assert_same_values(mine, theirs, rtol, what):
    assert mine.dtype == theirs.dtype and mine.shape == theirs.shape, what
    np.testing.assert_array_equal(np.isnan(mine), np.isnan(theirs), err_msg=f"{what}: NaN positions differ")
    np.testing.assert_array_equal(np.isinf(mine), np.isinf(theirs), err_msg=f"{what}: infinities differ")
    finite = np.isfinite(theirs)
    tiny = np.finfo(mine.dtype).tiny
    np.testing.assert_allclose(mine[finite], theirs[finite], rtol=rtol, atol=1000 * tiny, err_msg=what)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ELEMENTWISE, ids=str)
def test_edge_values_and_slopes_match_torch(activation, dtype):
    x = np.array(EDGES, dtype=dtype)
    upstream = np.linspace(0.5, 2.0, x.size).astype(dtype)  # not all ones: a slope must multiply the right element
    before = x.copy()
    mine, my_grad = through_scratch(activation, x, upstream)
    theirs, their_grad = through_torch(activation, x, upstream)
    np.testing.assert_array_equal(x, before)  # the input is left alone
    if activation == Activation("gelu") and dtype == np.float32:
        # The one place we differ, on purpose: torch's float32 CPU kernel gives NaN at +inf (its erf
        # approximation computes inf * 0), where the exact value, and torch's own float64, is inf.
        assert np.isnan(theirs[2]) and mine[2] == np.inf
        theirs[2] = np.inf
    if activation.name == "elu":
        # torch's ELU gradient at NaN is 1 or NaN depending on where the element falls in its vector loop
        # (1 for a lone element, NaN in a vector of 64); ours is NaN, as the value there is.
        assert np.isnan(my_grad[4])
        their_grad[4] = np.nan
    rtol = 64 * np.finfo(dtype).eps  # the values themselves are bounded below; here: the same rules at the edges
    assert_same_values(mine, theirs, rtol, f"{activation} forward")
    assert_same_values(my_grad, their_grad, rtol, f"{activation} backward")
    zero = x == 0
    np.testing.assert_array_equal(np.signbit(mine[zero]), np.signbit(theirs[zero]), err_msg="sign of zero")


@pytest.mark.parametrize(
    "activation, slope_at_zero",
    [
        (Activation("leaky_relu"), 0.01),  # from the left, as torch (x > 0 is false at 0)
        (Activation("elu", alpha=3.0), 3.0),  # alpha * exp(0): torch's x <= 0 branch
        (Activation("gelu"), 0.5),
        (Activation("gelu", approximate="tanh"), 0.5),
        (Activation("silu"), 0.5),
        (Activation("softplus", beta=2.0), 0.5),
    ],
    ids=str,
)
def test_derivatives_at_zero_are_stated(activation, slope_at_zero):
    for dtype in DTYPES:
        module = make_activation(activation)
        module(np.zeros(1, dtype))
        assert module.backward(np.ones(1, dtype))[0] == pytest.approx(slope_at_zero, rel=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ROWS, ids=str)
def test_softmax_rows_match_torch_at_the_edges(activation, dtype):
    x = np.array(
        [[0.0, 1000.0, -1000.0], [np.inf, 0, 0], [-np.inf, 0.0, 0.0], [np.nan, 0, 0], [-np.inf] * 3, [1, 2, 3]],
        dtype=dtype,
    )
    upstream = np.arange(18, dtype=dtype).reshape(6, 3) / 7
    mine, my_grad = through_scratch(activation, x, upstream)
    theirs, their_grad = through_torch(activation, x, upstream)
    rtol = 64 * np.finfo(dtype).eps
    assert_same_values(mine, theirs, rtol, f"{activation} forward")
    assert_same_values(my_grad, their_grad, rtol, f"{activation} backward")


def test_softmax_is_over_the_last_dimension_only():
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    np.testing.assert_allclose(F.softmax(x).sum(axis=-1), 1.0)
    np.testing.assert_allclose(np.exp(F.log_softmax(x)), F.softmax(x), rtol=1e-12)
    with pytest.raises(ValueError, match="last dimension: dim=-1; got dim=1"):
        scratchnet.Softmax(dim=1)
    with pytest.raises(ValueError, match="may only follow the last layer, not layer 1 of 2"):
        scratchnet.MLP((2, 3, 1), "softmax")


def dense_grid(dtype):
    """Every region where an activation changes character: +-30 finely, standard normals, tiny to huge magnitudes."""
    rng = np.random.default_rng(0)
    grid = [np.linspace(-30, 30, 120_001), rng.standard_normal(50_000) * 5, np.geomspace(1e-30, 1e4, 2000)]
    grid.append(-grid[-1])
    grid.append(np.linspace(-120, -80, 4001))  # where float32's exp(-z) overflows and results underflow
    return np.concatenate(grid).astype(dtype)


def bound_for_exact_input(activation, z, out, u):
    """The bound of ``compare.tolerance`` for one evaluation of ``activation`` at exactly known ``z``."""
    return activation_bound(activation, z, out, np.zeros_like(z), u)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ELEMENTWISE + ROWS, ids=str)
def test_torch_and_scratchnet_stay_within_the_derived_evaluation_bound(activation, dtype):
    """The constants of ``activation_error`` (where each comes from is in its docstring) hold for torch's kernels
    and for ours, measured over about 180 000 points per activation; and they are not loose by orders of magnitude."""
    z = dense_grid(dtype)
    if activation.name in ("softmax", "log_softmax"):
        z = z[: z.size // 7 * 7].reshape(-1, 7)
    wide = z.astype(np.float64)
    reference = reference_activation(activation, wide)
    bound = bound_for_exact_input(activation, wide, reference, unit_roundoff(dtype))
    bound += bound_for_exact_input(activation, wide, reference, unit_roundoff(np.float64))
    with torch.no_grad():
        theirs = torchnet.make_activation(activation)(torch.from_numpy(z)).numpy()
    with np.errstate(all="ignore"):
        mine = make_activation(activation)(z)
    finite = np.isfinite(reference)
    worst = {}
    for side, out in (("torch", theirs), ("scratchnet", mine)):
        np.testing.assert_array_equal(np.isnan(out), np.isnan(reference), err_msg=f"{side}: NaN positions")
        ratio = np.abs(out.astype(np.float64) - reference)[finite] / bound[finite]
        worst[side] = ratio.max()
        assert worst[side] <= 1, f"{side} {activation} {dtype.__name__}: |diff| / bound = {worst[side]:.3g}"
    if dtype == np.float32 and activation.name != "leaky_relu":
        # float32 rounding is visible: the bound is within 100x of what torch's kernel actually does.
        assert worst["torch"] > 0.01, f"{activation}: the bound is over 100x what torch's float32 kernel needs"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ELEMENTWISE + ROWS, ids=str)
def test_a_wrong_setting_is_far_outside_the_bound(activation, dtype):
    """The bound is sharp enough to tell the activation from its neighbours (a wrong slope, the other GELU)."""
    others = {
        "leaky_relu": Activation("leaky_relu", negative_slope=activation.kwargs.get("negative_slope", 0) * 1.01),
        "elu": Activation("elu", alpha=activation.kwargs.get("alpha", 0) * 1.01),
        "gelu": Activation("gelu", approximate="tanh" if activation.kwargs.get("approximate") == "none" else "none"),
        "silu": Activation("gelu"),
        "softplus": Activation("softplus", beta=activation.kwargs.get("beta", 1) * 1.01),
        "softmax": Activation("log_softmax"),
        "log_softmax": Activation("softmax"),
    }
    z = np.linspace(-4, 4, 7001).astype(dtype)
    z = z[: z.size // 7 * 7].reshape(-1, 7) if activation.name in ("softmax", "log_softmax") else z
    wide = z.astype(np.float64)
    reference = reference_activation(activation, wide)
    bound = bound_for_exact_input(activation, wide, reference, unit_roundoff(dtype))
    with np.errstate(all="ignore"):
        wrong = make_activation(others[activation.name])(z).astype(np.float64)
    assert np.max(np.abs(wrong - reference) / bound) > 10


def test_settings_are_checked_and_read_back_from_modules():
    assert (
        scratchnet.LeakyReLU(0.2).negative_slope == 0.2 and repr(scratchnet.GELU("tanh")) == "GELU(approximate='tanh')"
    )
    assert repr(scratchnet.Softplus(2, 5)) == "Softplus(beta=2.0, threshold=5.0)"
    with pytest.raises(ValueError, match="approximate must be one of 'none', 'tanh', got 'fast'"):
        scratchnet.GELU("fast")
    with pytest.raises(ValueError, match="beta must not be 0"):
        Activation("softplus", beta=0)
    with pytest.raises(ValueError, match="must be a finite number"):
        scratchnet.ELU(float("nan"))
    for activation in ELEMENTWISE + ROWS:
        assert scratchnet.activation.activation_of(make_activation(activation)) == activation
        assert torchnet.activation_of(torchnet.make_activation(activation)) == activation
    with pytest.raises(TypeError, match=r"Softmax\(dim=1\) is not described"):
        torchnet.activation_of(torch.nn.Softmax(dim=1))


@pytest.mark.parametrize("activation", ELEMENTWISE + ROWS, ids=str)
def test_infer_computes_what_forward_computes(activation):
    """``infer``'s chunked, feature-major path gives forward's values (softmax over the features, not the batch)."""
    arch = scratchnet.Architecture(
        (scratchnet.Layer(3, 6, activation=None if activation.name in ("softmax", "log_softmax") else activation),
         scratchnet.Layer(6, 4, activation=activation)),
        "sequential",
    )  # fmt: skip
    net = scratchnet.build(arch, dtype=np.float64, rng=0)
    for shape in [(3,), (5, 3), (2, 4, 3), (3000, 3)]:
        x = np.random.default_rng(1).standard_normal(shape)
        with scratchnet.no_grad():
            expected = net(x)
        np.testing.assert_allclose(scratchnet.infer(net, x), expected, rtol=1e-13, atol=1e-300)
