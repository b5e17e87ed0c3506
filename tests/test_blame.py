"""Blame the layer, not just the output; the report as JSON; assert_equivalent for a user's own tests."""

import json

import numpy as np
import pytest

import scratchnet

from .optional import optional_names

compare_forward, assert_equivalent, twin = optional_names("compare", "compare_forward", "assert_equivalent", "twin")
(compare_main,) = optional_names("compare.cli", "main")


def plant(module, offset):
    """Make ``module`` compute its output plus ``offset``: a bug in one layer, with the weights left identical."""
    original = module.forward
    module.forward = lambda input: original(input) + np.asarray(offset, dtype=np.asarray(input).dtype)


@pytest.mark.parametrize(
    "make, planted, expected",
    [
        (lambda: scratchnet.MLP((3, 8, 8, 8, 8, 2), "tanh", rng=0), "fc3", "fc3"),
        (
            lambda: scratchnet.Sequential(
                *(scratchnet.Linear(3, 6, rng=0), scratchnet.ReLU(), scratchnet.Linear(6, 6, rng=1)),
                *(scratchnet.Sigmoid(), scratchnet.Linear(6, 2, rng=2)),
            ),
            "2",
            "2",
        ),
    ],
    ids=["mlp-layer-3-of-5", "sequential-module-2"],
)
def test_a_bug_in_one_layer_is_blamed_on_that_layer(make, planted, expected):
    net = make()
    theirs = twin(net)
    x = np.random.default_rng(0).standard_normal((16, 3)).astype(np.float32)
    clean = compare_forward(net, theirs, x)
    assert clean.passed and clean.first_failing_layer is None and all(layer.passed for layer in clean.layers)
    plant(net.get_submodule(planted), 1e-3)
    report = compare_forward(net, theirs, x)
    assert not report.passed and report.first_failing_layer == expected
    assert report.blamed == ["scratchnet"] and report.comparisons[0].passed  # the weights are still identical
    failing = [layer.name for layer in report.layers if not layer.passed]
    assert failing[0] == expected
    assert f"first layer outside its bound: {expected}" in str(report)


def test_the_report_as_json_is_stable_and_complete():
    net = scratchnet.MLP((2, 4, 1), "sigmoid", rng=0)
    report = compare_forward(net, twin(net), np.ones((3, 2), np.float32))
    document = json.loads(json.dumps(report.to_dict()))
    assert document["schema_version"] == 1 and document["passed"] is True and document["first_failing_layer"] is None
    assert [c["name"] for c in document["comparisons"]] == [
        "weights: scratchnet vs torch",
        "scratchnet vs float64 reference",
        "torch vs float64 reference",
        "scratchnet vs torch",
    ]
    assert [layer["name"] for layer in document["layers"]] == ["fc1", "fc2"]
    assert {c["name"] for c in document["layers"][0]["comparisons"]} == {
        "scratchnet z", "scratchnet h", "torch z", "torch h", "scratchnet alone", "torch alone"
    }  # fmt: skip
    nan = scratchnet.MLP((2, 1), rng=0)
    nan.fc1.weight.data[0, 0] = np.nan
    text = json.dumps(compare_forward(nan, twin(nan), np.ones((1, 2), np.float32)).to_dict(), allow_nan=False)
    assert json.loads(text)["passed"] is True  # NaN on both sides agrees; no bare NaN in the JSON


def test_assert_equivalent_raises_the_report_or_returns_it():
    net = scratchnet.MLP((2, 4, 1), rng=0)
    theirs = twin(net)
    x = np.ones((2, 2), np.float32)
    assert assert_equivalent(theirs, net, x).passed  # either order
    plant(net.fc2, 1e-2)
    with pytest.raises(AssertionError, match="verdict: FAIL") as caught:
        assert_equivalent(net, theirs, x)
    assert "first layer outside its bound: fc2" in str(caught.value)


def test_the_command_line_shows_layers_and_json(capsys):
    assert compare_main(["--layers"]) == 0
    out = capsys.readouterr().out
    assert "per layer, against the float64 reference:" in out and "fc3        torch h" in out
    assert compare_main(["--json", "--sizes", "2,5,1", "--activation", "tanh"]) == 0
    document = json.loads(capsys.readouterr().out)  # stdout holds the JSON alone
    assert document["passed"] and document["title"].startswith("forward pass: MLP 2 -> 5 -> 1")
