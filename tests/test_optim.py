"""SGD and Adam against torch.optim, step for step, for every option combination torch accepts."""

import itertools

import numpy as np
import pytest

import scratchnet
from scratchnet import optim

from .optional import optional

torch = optional("torch")


SGD_OPTIONS = [
    dict(lr=lr, momentum=m, dampening=d, weight_decay=wd, nesterov=n, maximize=mx)
    for lr, m, d, wd, n, mx in itertools.product([0.1], [0, 0.9], [0, 0.3], [0, 0.05], [False, True], [False, True])
]
ADAM_OPTIONS = [
    dict(lr=0.05, betas=b, eps=e, weight_decay=wd, amsgrad=a, maximize=mx, decoupled_weight_decay=dw)
    for b, e, wd, a, mx, dw in itertools.product(
        [(0.9, 0.999), (0.5, 0.9)], [1e-8, 1e-3], [0, 0.05], [False, True], [False, True], [False, True]
    )
]


def accepted_by_torch(cls, options):
    try:
        cls([torch.nn.Parameter(torch.zeros(1))], **options)
    except ValueError:
        return False
    return True


def run_both(ours, theirs, options, steps=6):
    """Same start, same gradients (new random ones each step); return both parameter histories."""
    rng = np.random.default_rng(0)
    start = rng.standard_normal((3, 4))
    mine = scratchnet.Parameter(start)
    their = torch.nn.Parameter(torch.tensor(start))
    opt_mine, opt_their = ours([mine], **options), theirs([their], **options)
    for _ in range(steps):
        grad = rng.standard_normal((3, 4))
        mine.grad, their.grad = grad.copy(), torch.tensor(grad)
        opt_mine.step()
        opt_their.step()
        yield mine.data.copy(), their.detach().numpy().copy()


@pytest.mark.parametrize("options", SGD_OPTIONS, ids=str)
def test_sgd_matches_torch(options):
    if not accepted_by_torch(torch.optim.SGD, options):
        with pytest.raises(ValueError, match="Nesterov"):
            optim.SGD([scratchnet.Parameter(np.zeros(1))], **options)
        return
    for mine, theirs in run_both(optim.SGD, torch.optim.SGD, options):
        np.testing.assert_allclose(mine, theirs, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("options", ADAM_OPTIONS, ids=str)
def test_adam_matches_torch(options):
    assert accepted_by_torch(torch.optim.Adam, options)
    for mine, theirs in run_both(optim.Adam, torch.optim.Adam, options):
        np.testing.assert_allclose(mine, theirs, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(
    "cls, options, message",
    [
        (optim.SGD, dict(lr=-1), "Invalid learning rate"),
        (optim.SGD, dict(momentum=-0.1), "Invalid momentum"),
        (optim.SGD, dict(weight_decay=-1), "Invalid weight_decay"),
        (optim.SGD, dict(nesterov=True), "Nesterov"),
        (optim.Adam, dict(betas=(1.0, 0.9)), "beta parameter at index 0"),
        (optim.Adam, dict(betas=(0.9, -0.1)), "beta parameter at index 1"),
        (optim.Adam, dict(eps=-1), "Invalid epsilon"),
    ],
)
def test_invalid_options_like_torch(cls, options, message):
    torch_cls = torch.optim.SGD if cls is optim.SGD else torch.optim.Adam
    with pytest.raises(ValueError, match=message):
        torch_cls([torch.nn.Parameter(torch.zeros(1))], **options)
    with pytest.raises(ValueError, match=message):
        cls([scratchnet.Parameter(np.zeros(1))], **options)


def test_parameters_without_gradient_are_skipped_and_zero_grad():
    a, b = scratchnet.Parameter(np.ones(2)), scratchnet.Parameter(np.ones(2))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = np.ones(2)
    opt.step()
    assert np.all(a.data < 1) and np.all(b.data == 1) and opt.state[1] == {}
    opt.zero_grad()
    assert a.grad is None


def test_step_does_not_touch_the_gradient():
    p = scratchnet.Parameter(np.ones(3))
    p.grad = np.array([1.0, 2.0, 3.0])
    before = p.grad.copy()
    optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1).step()
    np.testing.assert_array_equal(p.grad, before)


def test_optimizer_needs_parameters():
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="scratchnet Parameters"):
        optim.SGD([np.zeros(3)], lr=0.1)


def test_adam_on_one_flat_vector_is_the_per_parameter_rule_bit_for_bit():
    """The flat path (every gradient present) and the per-parameter path (one gradient missing) run the same
    arithmetic: after the same steps, the same bits; the parameters stay the network's own, tied weights and
    a parameter given new values are handled."""
    rng = np.random.default_rng(0)
    grads = [[rng.standard_normal(p.shape).astype(np.float32) for p in scratchnet.Net(rng=0).parameters()]
             for _ in range(4)]  # fmt: skip
    flat_net, alone_net = scratchnet.Net(rng=0), scratchnet.Net(rng=0)
    flat, alone = (
        optim.Adam(flat_net.parameters(), lr=0.1, amsgrad=True),
        optim.Adam(alone_net.parameters(), lr=0.1, amsgrad=True),
    )
    for step_grads in grads:
        for param, grad in zip(flat_net.parameters(), step_grads):
            param.grad = grad.copy()
        flat.step()
        for param, grad in zip(alone_net.parameters(), step_grads):  # one parameter at a time: the other path
            for other in alone_net.parameters():
                other.grad = None
            param.grad = grad.copy()
            alone.step()
    assert flat._flat_arrays is not None and getattr(alone, "_flat_arrays", None) is None
    for a, b in zip(flat_net.parameters(), alone_net.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    with scratchnet.no_grad():  # still the network's own parameters
        assert np.array_equal(flat_net(np.ones((1, 2), np.float32)), alone_net(np.ones((1, 2), np.float32)))
    flat_net.fc1.weight.data = np.zeros((4, 2), np.float32)  # new values: the flat vector is made again
    for param in flat_net.parameters():
        param.grad = np.ones(param.shape, np.float32)
    flat.step()
    assert flat_net.fc1.weight.data[0, 0] != 0 and np.shares_memory(
        flat_net.fc1.weight.data, flat._flat_arrays["values"]
    )


@pytest.mark.parametrize("settings", [{}, {"amsgrad": True, "weight_decay": 0.1}, {"maximize": True}])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_block_by_block_gives_the_bits_of_one_pass(monkeypatch, settings, dtype):
    """Large parameters are updated in cache-sized blocks (``BLOCK_BYTES``); with blocks of 3 values, on the flat
    path and on the per-parameter path, the same bits as one pass over each array."""
    rng = np.random.default_rng(1)
    grads = [[rng.standard_normal(p.shape).astype(dtype) for p in scratchnet.Net(dtype=dtype).parameters()]
             for _ in range(3)]  # fmt: skip
    results, rule = [], optim.Adam._rule
    for block_bytes in (3 * np.dtype(dtype).itemsize, 2**30):
        monkeypatch.setattr(optim, "BLOCK_BYTES", block_bytes)
        calls: list[int] = []

        def counted(self, p, *rest, calls=calls):
            calls.append(p.size)
            return rule(self, p, *rest)

        monkeypatch.setattr(optim.Adam, "_rule", counted)
        for missing in (None, 0):  # every gradient (the flat path), or the first one missing (per parameter)
            net = scratchnet.Net(dtype=dtype, rng=0)
            adam = optim.Adam(net.parameters(), lr=0.1, **settings)
            for step_grads in grads:
                for number, (param, grad) in enumerate(zip(net.parameters(), step_grads)):
                    param.grad = None if number == missing else grad.copy()
                adam.step()
            results.append([p.data.copy() for p in net.parameters()])
        assert max(calls) <= 3 if block_bytes < 100 else max(calls) > 3
    blocked_flat, blocked_alone, whole_flat, whole_alone = results
    for a, b in zip(blocked_flat, whole_flat):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(blocked_alone, whole_alone):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", [lambda p: optim.SGD(p, lr=0.1, momentum=0.9), lambda p: optim.Adam(p, lr=0.1)])
@pytest.mark.parametrize("missing", [None, 1])  # Adam's flat path, and the per-parameter one
@pytest.mark.parametrize(
    "grad, error, message",
    [
        (
            np.ones(3, np.float32),
            ValueError,
            r"parameter 5 holds values of shape \(1,\) but a gradient of shape \(3,\)",
        ),
        (np.ones(1), TypeError, r"parameter 5 holds float32 values but a gradient of dtype float64; convert it"),
        (np.ones(1, np.float16), TypeError, "a gradient of dtype float16"),  # NumPy would widen it silently
        ([1.0], TypeError, "a gradient of dtype float64"),
    ],
)
def test_a_gradient_of_the_wrong_shape_or_dtype_is_refused_and_nothing_changes(make, missing, grad, error, message):
    net = scratchnet.Net(rng=0)
    optimizer = make(net.parameters())
    for number, param in enumerate(net.parameters()):
        param.grad = None if number == missing else np.ones(param.shape, np.float32)
    optimizer.step()
    before = [p.data.copy() for p in net.parameters()]
    net.fc3.bias.grad = grad  # the bias has 1 float32 value
    with pytest.raises(error, match=message):
        optimizer.step()
    for a, b in zip(before, net.parameters()):
        np.testing.assert_array_equal(a, b.data)


@pytest.mark.parametrize("grad", [np.ones(3, np.float32), np.ones(1), np.ones(1, np.float16)])
def test_torch_refuses_the_same_gradients(grad):
    with pytest.raises(RuntimeError, match="attempting to assign a gradient (of size|with dtype)"):
        torch.nn.Linear(4, 1).bias.grad = torch.tensor(grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("betas", [(0.0, 0.0), (0.0, 0.99), (0.25, 0.9)])
def test_adam_with_beta1_at_most_a_half_keeps_a_small_gradient_like_torch(dtype, betas):
    """Found by a hostile review: m + (1 - beta1)(g - m) loses a gradient much smaller than m (at beta1 = 0, m
    stayed 1.0 for g = 1e-17, and with eps = 0 a whole step went wrong); torch's lerp computes g - (g - m) beta1
    when its weight 1 - beta1 is at least 1/2, exactly g at beta1 = 0."""
    mine = scratchnet.Parameter(np.array([0.5, -1.0], dtype))
    theirs = torch.nn.Parameter(torch.tensor(np.array([0.5, -1.0], dtype)))
    opt, reference = (
        optim.Adam([mine], lr=0.1, betas=betas, eps=0.0),
        torch.optim.Adam([theirs], lr=0.1, betas=betas, eps=0.0),
    )
    for grad in ([1.0, 2.0], [1e-17, 3e-9], [0.25, -1e-20]):
        mine.grad, theirs.grad = np.array(grad, dtype), torch.tensor(np.array(grad, dtype))
        opt.step()
        reference.step()
        np.testing.assert_allclose(opt.state[0]["exp_avg"], reference.state[theirs]["exp_avg"].numpy(), rtol=1e-6)
        np.testing.assert_allclose(mine.data, theirs.detach().numpy(), rtol=1e-6)
    if betas[0] == 0:
        assert np.array_equal(opt.state[0]["exp_avg"], np.array([0.25, -1e-20], dtype))  # exactly the last gradient


# Found by a fourth review (of this round's own changes and what they left).


def test_a_copied_optimizer_keeps_training_its_copied_parameters():
    """deepcopy((net, opt)) copied the flat array and its views separately: the copy's views no longer viewed its
    flat array, every step went into an orphan, and the weights stopped moving (pickle too, before)."""
    import copy
    import pickle

    from scratchnet.training import fit

    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([[0], [1], [1], [0]], np.float32)
    net = scratchnet.Net(rng=0)
    opt = optim.Adam(net.parameters(), lr=0.05)
    fit(net, scratchnet.BCEWithLogitsLoss(), opt, x, y, 2)
    for twin_net, twin_opt in (copy.deepcopy((net, opt)), pickle.loads(pickle.dumps((net, opt)))):
        before = [p.data.copy() for p in twin_net.parameters()]
        losses = fit(twin_net, scratchnet.BCEWithLogitsLoss(), twin_opt, x, y, 3)
        assert len(set(losses)) == 3 and not np.array_equal(before[0], twin_net.fc1.weight.data)
    reference = copy.deepcopy((net, opt))
    fit(net, scratchnet.BCEWithLogitsLoss(), opt, x, y, 3)
    fit(reference[0], scratchnet.BCEWithLogitsLoss(), reference[1], x, y, 3)
    for a, b in zip(net.parameters(), reference[0].parameters()):
        np.testing.assert_array_equal(a.data, b.data)  # the copy goes on exactly as the original


def test_adam_counts_each_parameters_steps_after_one_had_no_gradient():
    """After a step where one parameter had no gradient, the flat path used the first parameter's step count for
    all (bias corrections off by a step: 0.186 where torch has 0.2)."""
    mine = [scratchnet.Parameter(np.zeros((1, 2))), scratchnet.Parameter(np.zeros(1))]
    theirs = [
        torch.nn.Parameter(torch.zeros(1, 2, dtype=torch.float64)),
        torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)),
    ]
    opt, reference = optim.Adam(mine, lr=0.1), torch.optim.Adam(theirs, lr=0.1)
    rng = np.random.default_rng(0)
    for step in range(5):
        for number, (a, b) in enumerate(zip(mine, theirs)):
            grad = None if (step == 1 and number == 1) else rng.standard_normal(a.shape)
            a.grad, b.grad = grad, None if grad is None else torch.tensor(grad)
        opt.step()
        reference.step()
        for a, b in zip(mine, theirs):
            np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_gradients_of_other_array_types():
    """np.matrix gradients crashed the flat path's concatenate; a byte-swapped float64 gradient is float64; a masked
    gradient is refused (its mask would be ignored)."""
    plain = [scratchnet.Parameter(np.zeros((2, 3))), scratchnet.Parameter(np.zeros(3))]
    other = [scratchnet.Parameter(np.zeros((2, 3))), scratchnet.Parameter(np.zeros(3))]
    opt_plain, opt_other = optim.Adam(plain, lr=0.1), optim.Adam(other, lr=0.1)
    for kind in (np.asmatrix, lambda g: g.astype(">f8")):
        grads = [np.full((2, 3), 0.5), np.full(3, -0.25)]
        for p, g in zip(plain, grads):
            p.grad = g
        other[0].grad, other[1].grad = kind(grads[0]), grads[1]
        opt_plain.step()
        opt_other.step()
        for a, b in zip(plain, other):
            np.testing.assert_array_equal(a.data, b.data)
    other[0].grad = np.ma.masked_array(np.ones((2, 3)), mask=np.eye(2, 3))
    before = [p.data.copy() for p in other]
    with pytest.raises(TypeError, match="parameter 0 holds values but a masked array as gradient: fill it"):
        opt_other.step()
    assert all(np.array_equal(a, p.data) for a, p in zip(before, other))
