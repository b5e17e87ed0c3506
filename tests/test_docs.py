"""The documentation cannot promise a test that does not exist."""

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NAMED = sorted(set(re.findall(r"`tests/(test_\w+)\.py::(\w+)`", (ROOT / "docs" / "bad-input.md").read_text())))


def test_the_table_names_tests():
    assert len(NAMED) >= 25


@pytest.mark.parametrize("module, name", NAMED)
def test_every_named_test_exists(module, name):
    assert hasattr(importlib.import_module(f"tests.{module}"), name), f"tests/{module}.py has no {name}"
