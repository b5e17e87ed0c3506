"""The derived tolerance: valid (correct computations pass) and sharp (wrong ones fail)."""

import math

import numpy as np
import pytest

import scratchnet

from .optional import optional, optional_names

torch = optional("torch")
torchnet = optional("torchnet")
compare_forward, compare_gradients, compare_outputs, twin = optional_names(
    "compare", "compare_forward", "compare_gradients", "compare_outputs", "twin"
)
nn = optional("torch.nn")
(torch_unit_roundoff,) = optional_names("compare.forward", "torch_unit_roundoff")
gamma, linear_chain, reference_with_bounds, unit_roundoff = optional_names(
    "compare.tolerance", "gamma", "linear_chain", "reference_with_bounds", "unit_roundoff"
)


def test_unit_roundoff_and_gamma():
    assert unit_roundoff(np.float32) == 2.0**-24 and unit_roundoff(np.float64) == 2.0**-53
    u = 2.0**-24
    assert gamma(5, u) == pytest.approx(5 * u / (1 - 5 * u))
    assert gamma(2**25, u) == math.inf


def test_bound_holds_for_a_long_cancelling_sum():
    """Worst case for summation: large terms of both signs that cancel to a small result."""
    n = 4096
    layer = scratchnet.Linear(n, 1, dtype=np.float32, rng=0)
    w = np.tile([1.0, -1.0], n // 2).astype(np.float32)
    x = (1 + np.random.default_rng(0).random(n) * 1e-3).astype(np.float32)
    layer.load_state_dict({"weight": w[None, :], "bias": [0.0]})
    reference, (bound32, bound64) = reference_with_bounds(linear_chain(layer), x, [2.0**-24, 2.0**-53])
    assert abs(layer(x)[0] - reference[0]) <= bound32[0] + bound64[0]
    assert bound32[0] > abs(reference[0]) * 1e-4  # the bound grows with sum |w||x|, not with |result|


def test_heaviside_bound_is_the_jump_where_the_sign_is_uncertain():
    net = scratchnet.MLP((1, 1, 1), "heaviside", dtype=np.float64)
    net.load_state_dict({"fc1.weight": [[1.0]], "fc1.bias": [-0.1], "fc2.weight": [[1.0]], "fc2.bias": [0.0]})
    x = np.array([[0.1], [0.3], [-1.0]])  # z = 0.1 - 0.1 is within rounding of 0; the others are not
    _, (bound,) = reference_with_bounds(linear_chain(net), x, [2.0**-24])
    assert bound[0, 0] >= 1 and bound[1, 0] < 1e-6 and bound[2, 0] < 1e-6


def article_pair(dtype=np.float32):
    mine = scratchnet.Net(dtype=dtype, rng=0)
    return mine, twin(mine)


X = np.random.default_rng(1).standard_normal((16, 2))


def test_correct_pair_passes_and_report_reads_well():
    report = compare_forward(*article_pair(), X)
    assert report.passed
    text = str(report)
    for expected in [
        "scratchnet vs float64 reference",
        "torch vs float64 reference",
        "scratchnet vs torch",
        "gamma(n+1)",
        "n = 2, 4, 4",
        "verdict: PASS",
    ]:
        assert expected in text
    assert report.comparisons[0].max_tolerance < 1e-5  # sharp enough to matter for O(1) outputs


def corrupt_bias(net):
    net.fc2.bias.zero_()


def corrupt_transpose(net):
    net.fc2.weight.copy_(net.fc2.weight.T.clone())


def corrupt_tiny(net):
    net.fc3.weight.mul_(1 + 1e-4)  # a relative change of 1e-4, far above float32 rounding


def corrupt_activation(net):
    net.forward = lambda x: net.fc3(torch.tanh(net.fc2(torch.relu(net.fc1(x)))))


@pytest.mark.parametrize("corrupt", [corrupt_bias, corrupt_transpose, corrupt_tiny])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_wrong_torch_net_fails(corrupt, dtype):
    mine, theirs = article_pair(dtype)
    with torch.no_grad():
        corrupt(theirs)
    report = compare_forward(mine, theirs, X)
    assert not report.passed
    assert "FAIL" in str(report)
    assert report.comparisons[-1].name == "scratchnet vs torch" and not report.comparisons[-1].passed


def test_a_torch_net_whose_forward_was_replaced_is_refused():
    """Its description (read from its modules) would no longer say what it computes."""
    mine, theirs = article_pair()
    corrupt_activation(theirs)
    with pytest.raises(TypeError, match="Net had forward replaced on the instance"):
        compare_forward(mine, theirs, X)


def test_nan_and_inf_are_reported_not_crashed():
    mine, theirs = article_pair()
    x = np.array([[np.nan, 0.0], [np.inf, 1.0], [0.5, 0.5]])
    report = compare_forward(mine, theirs, x)
    assert np.isnan(report.values["scratchnet"][0, 0])
    assert report.passed, str(report)  # NaN where torch has NaN is agreement
    nan_rows = np.isnan(report.values["torch"]).sum()
    assert nan_rows >= 1 and report.comparisons[-1].non_finite == nan_rows
    plain = report.plain()  # but said aloud: agreeing NaNs prove nothing
    assert f"but {nan_rows} of 3 outputs are NaN or infinite on both sides" in plain, plain
    assert "NaN or infinite on both sides" in str(report)
    assert "NaN" not in compare_forward(mine, theirs, x[2:]).plain()  # finite inputs: nothing to say
    nan_weights = mine.state_dict()
    nan_weights["fc1.weight"][0, 0] = np.nan
    mine.load_state_dict(nan_weights)
    assert not compare_forward(mine, theirs, X).passed  # NaN on one side only


def test_compare_outputs_rules():
    both_nan = compare_outputs("a", [np.nan, np.inf, 1.0], [np.nan, np.inf, 1.0 + 1e-9], 1e-8, "test")
    assert both_nan.passed and both_nan.max_abs_diff == pytest.approx(1e-9) and both_nan.non_finite == 2
    one_nan = compare_outputs("b", [np.nan, 1.0], [0.0, 1.0], 1e-8, "test")
    assert not one_nan.passed and one_nan.mismatches == 1
    opposite_inf = compare_outputs("c", [np.inf], [-np.inf], 1e-8, "test")
    assert not opposite_inf.passed
    shapes = compare_outputs("d", np.zeros((2, 1)), np.zeros(2), 1.0, "test")
    assert not shapes.passed and "shapes differ" in shapes.why
    empty = compare_outputs("e", np.zeros((0, 3)), np.zeros((0, 3)), 1.0, "test")
    assert empty.passed and empty.max_abs_diff == 0


def test_an_infinite_bound_proves_nothing():
    """A bound that is infinite or NaN allows everything: different values there are mismatches, said aloud."""
    unbounded = compare_outputs("f", [np.nan, 0.5, 2.0, 7.0], [-0.8, 0.5, 3.0, 7.0], [np.inf, np.inf, np.nan, 1.0], "t")
    assert not unbounded.passed and unbounded.mismatches == 2 and unbounded.unbounded == 2  # equal values still agree
    assert unbounded.to_dict()["unbounded"] == 2


def _sigmoid_net_with_a_bug(monkeypatch):
    """A Sequential 2 -> 4 (sigmoid) -> 1 and its twin, scratchnet's sigmoid then made wrong by 1% (or NaN at +inf)."""
    net = scratchnet.Sequential(scratchnet.Linear(2, 4, rng=0), scratchnet.Sigmoid(), scratchnet.Linear(4, 1, rng=1))
    net[0].weight.data[:, 0] = 1.0
    return net, twin(net)


@pytest.mark.parametrize("first", [np.inf, 3e38, 1e6, 1e3])
@pytest.mark.parametrize("bug", ["1% too large", "textbook exp(z)/(1+exp(z))"])
def test_saturated_or_infinite_units_keep_the_bound_sharp(monkeypatch, first, bug):
    """Found by a hostile review: an input of inf (or 3e38, 1e6) made every bound downstream infinite (or 1e31,
    0.09) through sigmoid's global slope 1/4, so a 1% error, even NaN against a number, passed. A z that is
    infinite through an infinite term is exact; a saturated unit passes on no error (its slope there is 0)."""
    from scratchnet import functional as F

    net, theirs = _sigmoid_net_with_a_bug(monkeypatch)
    x = np.array([[first, 0.5]], np.float32)
    correct = compare_forward(net, theirs, x)
    assert correct.passed, str(correct)
    real = F.sigmoid
    if bug == "1% too large":
        wrong = lambda z: real(z) * np.asarray(1.01, np.asarray(z).dtype)  # noqa: E731
    else:

        def wrong(z):
            z = np.asarray(z)
            with np.errstate(all="ignore"):
                return (np.exp(z) / (1 + np.exp(z))).astype(z.dtype)

    monkeypatch.setattr(F, "sigmoid", wrong)
    report = compare_forward(net, theirs, x)
    assert not report.passed and report.blamed == ["scratchnet"], str(report)
    assert report.comparisons[-1].max_tolerance < 1e-5 or report.comparisons[-1].unbounded


def test_a_wrong_activation_in_a_deep_network_fails_in_its_layer(monkeypatch):
    """Found by a hostile review: a chained worst-case bound grows by about |W| a layer, so at the output of a
    deep network it exceeds the outputs, and a leaky ReLU in place of ReLU passed (the layer table saw it, but
    ``passed`` ignored it). Each layer run alone on the reference's input keeps a bound of a few u."""
    from scratchnet import functional as F

    net = scratchnet.MLP((16,) + (64,) * 11 + (1,), "relu", rng=0)
    x = np.random.default_rng(0).standard_normal((32, 16)).astype(np.float32)
    correct = compare_forward(net, twin(net), x)
    assert correct.passed and correct.comparisons[-1].max_tolerance > 0.01, str(correct)  # loose at the output
    assert "each of the 12 layers, run alone on the same input, is within its own bound" in correct.plain()
    real = F.relu
    monkeypatch.setattr(F, "relu", lambda z: np.where(np.asarray(z) > 0, z, 0.02 * np.asarray(z)).astype(z.dtype))
    report = compare_forward(net, twin(net), x)
    assert not report.passed and report.first_failing_layer == "fc1" and report.blamed == ["scratchnet"]
    assert all(c.passed for c in report.comparisons)  # the outputs, 0.0007 apart, are within their loose bound
    assert "verdict: FAIL, in layer fc1, scratchnet alone differs from the float64 reference" in report.plain()
    rows = {c.name: c for c in report.layers[5].comparisons}
    assert not rows["scratchnet alone"].passed and rows["torch alone"].passed and rows["torch alone"].ratio < 1
    monkeypatch.setattr(F, "relu", real)


def test_a_failing_layer_fails_the_report():
    from compare.report import LayerReport, Report

    good, bad = (compare_outputs("scratchnet alone", [1.0], [1.0 + d], 1e-9, "t") for d in (0.0, 1e-3))
    report = Report("t", (good,), "rule", {}, layers=(LayerReport("fc1", (good,)), LayerReport("fc2", (bad,))))
    assert not report.passed and report.first_failing_layer == "fc2" and report.blamed == ["scratchnet"]
    assert "verdict: FAIL, in layer fc2, scratchnet alone differs from the float64 reference" in report.plain()
    assert "verdict: FAIL, layer fc2 outside tolerance" in str(report)


def test_like_with_like():
    mine = scratchnet.Net(rng=0)
    theirs = twin(mine).double()
    with pytest.raises(ValueError, match="compare like with like"):
        compare_forward(mine, theirs, X)


def test_compare_forward_argument_order_is_checked():
    mine, theirs = article_pair()
    with pytest.raises(TypeError, match="takes a scratchnet and a torch network"):
        compare_forward(theirs, mine, X)


def test_cpu_float32_products_are_ieee():
    assert torch_unit_roundoff(torchnet.Net(), np.float32) == 2.0**-24


def test_each_layers_backward_is_judged_alone(monkeypatch):
    """The chained gradient bounds of a 32 -> 256 x 3 -> 10 network reach 0.43 on gradients of about 0.4; each
    layer's backward run alone (on the reference's input and upstream gradient) keeps a bound of a few u, so a 3%
    error in one layer's weight gradient is far outside it there, and torch's own layer is not."""
    from compare import compare_gradients
    from scratchnet import functional as F

    net = scratchnet.MLP((32, 256, 256, 256, 10), "relu", rng=0)
    x = np.random.default_rng(0).standard_normal((64, 32)).astype(np.float32)
    correct = compare_gradients(net, twin(net), x, rng=0)
    assert correct.passed and [layer.name for layer in correct.layers] == ["fc1", "fc2", "fc3", "fc4"]
    assert "each of the 4 layers, run alone on the same input, is within its own bound" in correct.plain()
    real = F.linear_backward

    def three_percent_off(grad_output, input, weight):
        dx, dw, db = real(grad_output, input, weight)
        return dx, dw * np.float32(0.97) if dw.shape == (256, 32) else dw, db

    monkeypatch.setattr(F, "linear_backward", three_percent_off)
    report = compare_gradients(net, twin(net), x, rng=0)
    rows = {c.name: c for c in report.layers[0].comparisons}
    assert not report.passed and report.first_failing_layer == "fc1" and report.blamed == ["scratchnet"]
    assert not rows["scratchnet weight alone"].passed and rows["scratchnet weight alone"].ratio > 100
    assert rows["torch weight alone"].passed and rows["scratchnet bias alone"].passed
    assert all(layer.passed for layer in report.layers[1:])


def _sequential(*modules, weight=None, bias=None):
    model = nn.Sequential(*modules)
    with torch.no_grad():
        if weight is not None:
            model[0].weight.fill_(weight)
        if bias is not None:
            model[0].bias.fill_(bias)
    return model


# Found by a third review, of the layer-alone checks: correct computations that failed (each FAILed blaming both
# sides, or torch, though both were within rounding), and differences that can be proved neither way.


def test_log_softmax_gradients_at_huge_inputs_pass():
    """exp of the computed output lies in [0, 1] on both sides: its error is at most 1 (expm1 overflowed)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.LogSoftmax(dim=-1))
    report = compare_gradients(twin(model), model, np.array([[3e9, -1e9]], np.float32), rng=0)
    assert report.passed, report.layer_table()


def test_results_below_the_normal_range_are_allowed_what_they_lose():
    """ELU'(-200) = 1.4e-87 is 0 in float32 on both sides; 0.3 * 1e-40 rounds to a subnormal; 0.3 * 1e-45 to 0,
    where Heaviside may step either way."""
    elu = _sequential(nn.Linear(1, 1), nn.ELU(), weight=1.0, bias=0.0)
    assert compare_gradients(twin(elu), elu, np.array([[-200.0]], np.float32), grad_output=[[1.0]]).passed
    product = _sequential(nn.Linear(1, 1, bias=False), weight=1.0)
    assert compare_gradients(twin(product), product, np.array([[1e-40]], np.float32), grad_output=[[0.3]]).passed
    step = _sequential(nn.Linear(1, 1, bias=False), torchnet.Heaviside(0.5), weight=0.3)
    assert compare_forward(twin(step), step, np.array([[1e-45]], np.float32)).passed


def test_relu_passes_the_gradient_at_nan_as_torch_does():
    model = _sequential(nn.Linear(1, 1), nn.ReLU(), weight=0.5, bias=0.0)
    report = compare_gradients(twin(model), model, np.array([[np.nan]], np.float32), grad_output=[[1.0]])
    assert report.passed, report.layer_table()


@pytest.mark.parametrize("position", [0, 1, 2])
def test_an_infinite_sum_whose_finite_terms_overflow_cannot_be_judged(position):
    """-3e38 - 3e38 overflows float32 to -inf, and -inf + inf is NaN: the order of summation decides between
    NaN and inf, so neither side is wrong and nothing is proved: CANNOT JUDGE, no blame."""
    model = nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[-1.0, -1.0, 1.0]]))
    x = np.array([[3e38, 3e38, 3e38]], np.float32)
    x[0, position] = np.inf
    report = compare_forward(twin(model), model, x)
    if report.passed:  # both sides summed in an order that gave the same value
        return
    assert report.unjudged and report.blamed == [], str(report)
    assert "verdict: CANNOT JUDGE" in report.plain() and "verdict: CANNOT JUDGE" in str(report)
