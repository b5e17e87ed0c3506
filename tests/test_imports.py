"""scratchnet is NumPy only: importing and running it never imports torch."""

import subprocess
import sys

import pytest

PROGRAM = """
import sys
import scratchnet
import scratchnet.onnx  # its optional package is imported when a file is written or read, not before
net = scratchnet.MLP((2, 4, 4, 1), "sigmoid", rng=0)
net([[0.0, 1.0]])
scratchnet.Net()(scratchnet.functional.heaviside([0.0, 1.0], 0.5).tolist())
optional = ("torch", "matplotlib", "safetensors", "onnx", "onnxruntime")
print(sorted(m for m in sys.modules if m.split(".")[0] in optional))
"""


def test_scratchnet_runs_without_torch():
    result = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_scratchnet_runs_where_torch_cannot_be_imported():
    blocked = "import sys; sys.modules['torch'] = None\n" + PROGRAM
    result = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_scratchnet_onnx_without_onnx_says_how_to_get_it(tmp_path):
    program = (
        "import sys; sys.modules['onnx'] = None\n"
        "import scratchnet, scratchnet.onnx\n"
        f"scratchnet.onnx.save_onnx(scratchnet.Net(), {str(tmp_path / 'net.onnx')!r})"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "ImportError" in result.stderr
    assert "pip install 'scratchnet[onnx]'" in result.stderr.splitlines()[-1]
    assert not (tmp_path / "net.onnx").exists()


MISSING_TORCH = "import sys; sys.modules['torch'] = None\n"


def test_a_missing_torch_is_said_in_one_line_with_the_install_hint():
    for module in ("compare", "benchmarks"):
        program = MISSING_TORCH + f"from {module}.__main__ import main; raise SystemExit(main())"
        result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.splitlines()) == 1 and "pip install 'scratchnet[" in result.stderr
    program = MISSING_TORCH + "import compare\ntry:\n    compare.twin\nexcept ImportError as e:\n    print(e)"
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert "compare needs PyTorch" in result.stdout and "pip install 'scratchnet[torch]'" in result.stdout


@pytest.mark.parametrize("script", ["scratchnet", "scratchnet-compare", "scratchnet-bench", "scratchnet-playground"])
def test_each_console_script_names_itself_and_has_a_version(script):
    from pathlib import Path

    from .optional import available

    path = Path(sys.executable).parent / script
    if not path.exists():
        pytest.skip(f"{script} is not installed in this environment")
    needed = {
        "scratchnet": [],
        "scratchnet-compare": ["torch"],
        "scratchnet-bench": ["torch", "matplotlib"],
        "scratchnet-playground": ["torch", "marimo"],
    }[script]
    if not all(available(module) for module in needed):
        pytest.skip(f"{script} needs {', '.join(needed)} (it says so itself: see the test above)")
    import scratchnet

    version = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=120)
    assert version.returncode == 0 and version.stdout.strip() == f"{script} (scratchnet) {scratchnet.__version__}"
    helped = subprocess.run([str(path), "--help"], capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and helped.stdout.startswith(f"usage: {script} ")
