"""PyTorch's own test databases (OpInfo, ModuleInfo, OptimizerInfo, shipped in the torch wheel under
``torch.testing._internal``), run against scratchnet on the CPU.

Every sample torch's developers wrote for the operations, layers and optimizers scratchnet also has is
run through both; where scratchnet supports the sample, values and gradients must agree within bounds
derived from the arithmetic; where it does not (an option scratchnet lacks), scratchnet must refuse it
with a TypeError or ValueError that names the option, never compute something else.
"""

import math

import numpy as np
import pytest

import scratchnet
import scratchnet.functional as F
from scratchnet import optim

from .optional import optional

pytest.importorskip("expecttest")  # torch.testing._internal needs it
from torch.testing._internal.common_methods_invocations import op_db  # noqa: E402
from torch.testing._internal.common_modules import module_db  # noqa: E402
from torch.testing._internal.common_optimizers import optim_db  # noqa: E402

torch = optional("torch")


DTYPES = (torch.float32, torch.float64)
UNIT = {torch.float32: 2.0**-24, torch.float64: 2.0**-53}


def numpy(value):
    return value.detach().cpu().numpy().copy() if torch.is_tensor(value) else value


def tiny(dtype):
    return float(np.finfo(np.float32 if dtype == torch.float32 else np.float64).tiny)


# -- OpInfo: the functions -----------------------------------------------------------------------

#: op name -> (scratchnet function, its backward given (grad, input, output, args, kwargs), roundings per element)
UNARY = {
    "nn.functional.relu": (F.relu, lambda g, x, y, a, k: F.relu_backward(g, y), 0),
    "sigmoid": (F.sigmoid, lambda g, x, y, a, k: F.sigmoid_backward(g, y), 5),
    "tanh": (F.tanh, lambda g, x, y, a, k: F.tanh_backward(g, y), 4),
}
OPS = {op.name: op for op in op_db if op.name in (*UNARY, "heaviside", "nn.functional.linear", "nn.functional.mse_loss",
                                                    "nn.functional.binary_cross_entropy_with_logits")}  # fmt: skip


def samples(name, dtype):
    op = OPS[name]
    return list(op.reference_inputs("cpu", dtype, requires_grad=op.supports_autograd))


def assert_close(mine, theirs, bound, what):
    mine, theirs = np.asarray(mine, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert mine.shape == theirs.shape, (what, mine.shape, theirs.shape)
    same = (mine == theirs) | (np.isnan(mine) & np.isnan(theirs))
    with np.errstate(invalid="ignore"):  # inf - inf where both are the same infinity: counted as same above
        difference = np.abs(mine - theirs)
    assert np.all(same | (difference <= bound)), (what, np.max(difference[~same]))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_activations_on_every_opinfo_sample(name, dtype):
    function, backward, roundings = UNARY[name]
    u = UNIT[dtype]
    cases = samples(name, dtype)
    assert cases
    for sample in cases:
        x = sample.input
        y_t = OPS[name](x, *sample.args, **sample.kwargs)
        y = function(numpy(x), *sample.args, **sample.kwargs)
        assert y.dtype == numpy(y_t).dtype
        with np.errstate(invalid="ignore"):  # 0 roundings times an infinite value: NaN, and equal values pass
            bound = 2 * roundings * u * np.abs(numpy(y_t)) + tiny(dtype)
        assert_close(y, numpy(y_t), bound, (name, x.shape))
        if x.requires_grad and x.numel():
            g = torch.randn_like(y_t)
            (grad_t,) = torch.autograd.grad(y_t, x, g, allow_unused=True)
            if grad_t is None:  # a sample torch does not differentiate through (no graph to compare)
                continue
            grad = backward(numpy(g), numpy(x), y, sample.args, sample.kwargs)
            bound = (2 * roundings + 3) * u * np.abs(numpy(g)) + tiny(dtype)
            assert_close(grad, numpy(grad_t), bound, (name, "grad", x.shape))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_heaviside_on_every_opinfo_sample(dtype):
    for sample in samples("heaviside", dtype):
        (values,) = sample.args
        expected = numpy(torch.heaviside(sample.input, values))
        assert np.array_equal(F.heaviside(numpy(sample.input), numpy(values)), expected, equal_nan=True)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_linear_on_every_opinfo_sample(dtype):
    u = UNIT[dtype]
    for sample in samples("nn.functional.linear", dtype):
        x, (w, *rest) = sample.input, sample.args
        b = rest[0] if rest else None
        y_t = torch.nn.functional.linear(x, w, b)
        y = F.linear(numpy(x), numpy(w), numpy(b))
        n = w.shape[1] + (b is not None)
        magnitude = np.abs(numpy(x)) @ np.abs(numpy(w)).T + (0 if b is None else np.abs(numpy(b)))
        assert_close(y, numpy(y_t), 2 * n * u * magnitude, ("linear", x.shape))
        if x.numel():
            g = torch.randn_like(y_t)
            grads_t = torch.autograd.grad(y_t, [t for t in (x, w, b) if t is not None], g)
            dx, dw, db = F.linear_backward(numpy(g), numpy(x), numpy(w))
            g_rows, x_rows = numpy(g).reshape(-1, w.shape[0]), numpy(x).reshape(-1, w.shape[1])
            rows = g_rows.shape[0]
            bounds = (
                2 * w.shape[0] * u * np.abs(numpy(g)) @ np.abs(numpy(w)),
                2 * rows * u * np.abs(g_rows).T @ np.abs(x_rows),
                2 * rows * u * np.abs(g_rows).sum(axis=0),
            )
            for mine, theirs, bound in zip((dx, dw, db), grads_t, bounds):
                assert_close(mine, numpy(theirs), bound + tiny(dtype), ("linear grad", x.shape))


LOSSES = {
    "nn.functional.mse_loss": (F.mse_loss, lambda g, x, t, r: F.mse_loss_backward(g, x - t, r)),
    "nn.functional.binary_cross_entropy_with_logits": (
        F.binary_cross_entropy_with_logits,
        lambda g, x, t, r: F.binary_cross_entropy_with_logits_backward(g, x, t, r),
    ),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_on_every_opinfo_sample_and_refuse_what_they_lack(name, dtype):
    function, backward = LOSSES[name]
    u = UNIT[dtype]
    refused = 0
    for sample in samples(name, dtype):
        x, (t,), kwargs = sample.input, sample.args, dict(sample.kwargs)
        extra = sorted(set(kwargs) - {"reduction"})
        if extra:  # weight, pos_weight: options scratchnet does not have
            with pytest.raises(TypeError, match="|".join(extra)):
                function(numpy(x), numpy(t), **{k: numpy(v) for k, v in kwargs.items()})
            refused += 1
            continue
        reduction = kwargs.get("reduction", "mean")
        loss_t = OPS[name](x, t, **kwargs)
        loss = function(numpy(x), numpy(t), reduction)
        n = max(x.numel(), 1)
        terms = np.abs(numpy(x)) * (1 + np.abs(numpy(t))) + np.abs(numpy(t)) + 1
        scale = (n + 8) / (n if reduction == "mean" else 1)
        bound = 2 * scale * u * (terms.sum() if reduction != "none" else terms) ** (2 if "mse" in name else 1)
        assert_close(loss, numpy(loss_t), bound, (name, reduction, x.shape))
        if x.requires_grad:
            g = torch.randn_like(loss_t)
            (grad_t,) = torch.autograd.grad(loss_t, x, g)
            grad = backward(numpy(g), numpy(x), numpy(t), reduction)
            bound = 2 * 8 * u * np.abs(numpy(g)) * (np.abs(numpy(x)) + np.abs(numpy(t)) + 1) * 2
            assert_close(grad, numpy(grad_t), bound + tiny(dtype), (name, "grad", reduction))
    assert (refused > 0) == ("binary" in name)  # BCE's weight and pos_weight samples, refused by name


# -- ModuleInfo: the layers ------------------------------------------------------------------------

MODULES = {
    "Linear": scratchnet.Linear,
    "ReLU": scratchnet.ReLU,
    "Sigmoid": scratchnet.Sigmoid,
    "Tanh": scratchnet.Tanh,
    "MSELoss": scratchnet.MSELoss,
    "BCEWithLogitsLoss": scratchnet.BCEWithLogitsLoss,
}
MODULE_INFOS = [info for info in module_db if info.module_cls.__name__ in MODULES]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("info", MODULE_INFOS, ids=lambda info: info.module_cls.__name__)
def test_layers_on_every_moduleinfo_sample(info, dtype):
    from compare import copy_weights

    name = info.module_cls.__name__
    np_dtype = np.float32 if dtype == torch.float32 else np.float64
    checked = refused = 0
    for case in info.module_inputs_func(info, device="cpu", dtype=dtype, requires_grad=False, training=False):
        args, kwargs = case.constructor_input.args, case.constructor_input.kwargs
        theirs = info.module_cls(*args, **kwargs).to(dtype)
        extra = sorted(set(kwargs) - {"bias", "reduction"})
        if extra:  # e.g. BCEWithLogitsLoss(weight=...): refused by name
            with pytest.raises(TypeError, match="|".join(extra)):
                MODULES[name](*args, **{k: numpy(v) for k, v in kwargs.items()})
            refused += 1
            continue
        options = {"dtype": np_dtype} if name == "Linear" else {}
        mine = MODULES[name](*args, **kwargs, **options)
        if name == "Linear":
            copy_weights(theirs, mine)
        inputs = [numpy(a) for a in case.forward_input.args]
        named = {k: numpy(v) for k, v in case.forward_input.kwargs.items()}  # Linear takes its input by name
        expected = numpy(theirs(*case.forward_input.args, **case.forward_input.kwargs))
        got = mine(*inputs, **named)
        scale = np.abs(expected) + (1 if name in ("MSELoss", "BCEWithLogitsLoss", "Linear") else 0)
        size = max(sum(np.size(a) for a in inputs + list(named.values())), 1)
        assert_close(got, expected, 4 * (size + 8) * UNIT[dtype] * scale * (size if "Loss" in name else 1), name)
        checked += 1
    assert checked and (refused == (2 if name == "BCEWithLogitsLoss" else 0))


# -- OptimizerInfo: the optimizers --------------------------------------------------------------------

OPTIMIZERS = {"SGD": optim.SGD, "Adam": optim.Adam}
OPTIM_INFOS = [info for info in optim_db if info.optim_cls.__name__ in OPTIMIZERS]
#: What scratchnet's optimizers lack, and must refuse: torch's faster variants, and tensor hyperparameters.
UNSUPPORTED = {"foreach", "fused", "capturable", "differentiable"}


@pytest.mark.parametrize("info", OPTIM_INFOS, ids=lambda info: info.optim_cls.__name__)
def test_optimizers_on_every_optimizerinfo_input(info):
    name = info.optim_cls.__name__
    checked = refused = 0
    for case in info.optim_inputs_func(device="cpu"):
        kwargs = dict(case.kwargs)
        rng = np.random.default_rng(0)
        values = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
        params = [scratchnet.Parameter(v) for v in values]
        tensor_options = sorted(k for k, v in kwargs.items() if torch.is_tensor(v))
        unsupported = sorted(set(kwargs) & UNSUPPORTED) + tensor_options
        if unsupported:
            with pytest.raises((TypeError, ValueError), match=unsupported[0] if not tensor_options else "tensor"):
                OPTIMIZERS[name](params, **kwargs)
            refused += 1
            continue
        theirs = [torch.nn.Parameter(torch.tensor(v)) for v in values]
        mine, reference = OPTIMIZERS[name](params, **kwargs), info.optim_cls(theirs, **kwargs)
        steps = 5
        for _ in range(steps):
            grads = [rng.standard_normal(v.shape) for v in values]
            for p, t, g in zip(params, theirs, grads):
                p.grad, t.grad = g.copy(), torch.tensor(g)
            mine.step()
            reference.step()
        for p, t in zip(params, theirs):
            expected = numpy(t)
            bound = steps * 16 * UNIT[torch.float64] * (np.abs(expected) + kwargs.get("lr", 1e-3) * 10)
            assert_close(p.data, expected, bound, (name, case.desc))
        checked += 1
    assert checked >= 5 and refused == (1 if name == "SGD" else 0)


def test_an_optimizer_given_a_parameter_twice_refuses_it():
    p = scratchnet.Parameter(np.ones(3))
    for cls in OPTIMIZERS.values():
        with pytest.raises(ValueError, match="same parameter twice"):
            cls([p, p])
    assert math.isfinite(p.data.sum())


# -- OpInfo: the activations modern MLPs use --------------------------------------------------------

#: op name (default variant) -> (scratchnet function, the Activation name)
MODERN = {
    "nn.functional.leaky_relu": (F.leaky_relu, "leaky_relu"),
    "nn.functional.elu": (F.elu, "elu"),
    "nn.functional.gelu": (F.gelu, "gelu"),
    "nn.functional.silu": (F.silu, "silu"),
    "nn.functional.softplus": (F.softplus, "softplus"),
    "softmax": (F.softmax, "softmax"),
    "log_softmax": (F.log_softmax, "log_softmax"),
}
MODERN_OPS = {op.name: op for op in op_db if op.name in MODERN and not op.variant_test_name}


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", sorted(MODERN))
def test_modern_activations_on_every_opinfo_sample(name, dtype):
    """Values and gradients within the bounds ``compare.tolerance`` derives (``activation_bound`` and
    ``activation_gradient_bound``), for torch's output and for ours; options we lack (a softmax over another
    dimension) are refused naming them."""
    import inspect

    from compare.tolerance import activation_bound, activation_gradient_bound, reference_activation

    function, activation_name = MODERN[name]
    op, u = MODERN_OPS[name], UNIT[dtype]
    computed = refused = 0
    for sample in op.reference_inputs("cpu", dtype, requires_grad=True):
        x = numpy(sample.input)
        try:
            mine = function(x, *sample.args, **sample.kwargs)
        except (TypeError, ValueError) as error:
            options = [*sample.kwargs, *(["dim"] if sample.args else [])]
            assert any(option in str(error) for option in options), (name, str(error))
            refused += 1
            continue
        bound_arguments = inspect.signature(function).bind(x, *sample.args, **sample.kwargs).arguments
        settings = {k: v for k, v in bound_arguments.items() if k not in ("input", "dim")}
        activation = scratchnet.Activation(activation_name, **settings)
        theirs_t = op(sample.input, *sample.args, **sample.kwargs)
        z = x.astype(np.float64)
        reference = reference_activation(activation, z if z.ndim else z.reshape(1)).reshape(z.shape)
        bound = activation_bound(
            activation,
            z if z.ndim else z.reshape(1),
            reference.reshape(-1) if not z.ndim else reference,
            np.zeros_like(z if z.ndim else z.reshape(1)),
            u,
        ).reshape(z.shape)
        for side, out in (("scratchnet", mine), ("torch", numpy(theirs_t))):
            assert out.dtype == x.dtype
            assert_close(out, reference, bound + tiny(dtype), (name, side, x.shape, sample.kwargs))
        if sample.input.numel() and x.ndim:
            g = torch.randn_like(theirs_t)
            (grad_t,) = torch.autograd.grad(theirs_t, sample.input, g, allow_unused=True)
            if grad_t is None:  # a sample torch does not differentiate through (no graph to compare)
                continue
            module = scratchnet.activation.make_activation(activation)
            module(x)
            grad = module.backward(numpy(g))
            exact, grad_bound = activation_gradient_bound(activation, z, numpy(g), u)
            theirs_grad = numpy(grad_t)
            if activation_name == "elu":  # torch's ELU gradient at NaN is 1 or NaN by position in its vector loop
                theirs_grad[np.isnan(x)] = np.nan
            for side, value in (("scratchnet", grad), ("torch", theirs_grad)):
                assert_close(value, exact, grad_bound + tiny(dtype), (name, side, "grad", x.shape))
        computed += 1
    assert computed > 0
    if name in ("softmax", "log_softmax"):
        assert refused > 0  # the samples over dim 0 of 2-D inputs
