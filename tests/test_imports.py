"""scratchnet is NumPy only: importing and running it never imports torch."""

import subprocess
import sys

PROGRAM = """
import sys
import scratchnet
net = scratchnet.MLP((2, 4, 4, 1), "sigmoid", rng=0)
net([[0.0, 1.0]])
scratchnet.Net()(scratchnet.functional.heaviside([0.0, 1.0], 0.5).tolist())
print(sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "matplotlib", "safetensors")))
"""


def test_scratchnet_runs_without_torch():
    result = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_scratchnet_runs_where_torch_cannot_be_imported():
    blocked = "import sys; sys.modules['torch'] = None\n" + PROGRAM
    result = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
