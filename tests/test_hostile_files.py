"""Hostile files and half-changed objects: formats told by layout, sizes in proportion, names shown safely,
files written whole or not at all, and every object left as it was after any failure."""

import json
import os
import stat
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnet
from scratchnet import StateDictError
from scratchnet.checkpoint import CheckpointError, CheckpointWarning, detect_format, save_safetensors

from .optional import needs, optional, optional_names, source_folder

torch = optional("torch")
torchnet = optional("torchnet")
copy_weights, load_network, load_state_dict_file, numpy_state = optional_names(
    "compare", "copy_weights", "load_network", "load_state_dict_file", "numpy_state"
)


NAMES = ("net.safetensors", "net.pt", "net.pth", "net.bin", "net", "net.txt", ".safetensors")


def header_length(path):
    return int.from_bytes(path.read_bytes()[:8], "little")


def saved(kind, path, net):
    if kind == "safetensors":
        save_safetensors(net, path)
    else:  # through a file object: torch.save, like torch.load, goes by some names (".safetensors") itself
        with open(path, "wb") as file:
            torch.save(compare_twin(net).state_dict(), file, _use_new_zipfile_serialization=kind == "torch-zip")
    return path


def compare_twin(net):
    from compare import twin

    return twin(net)


# -- the format is decided by the layout, never by the name ------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["safetensors", "torch-zip", "torch-legacy"])
def test_every_format_under_every_name(tmp_path, kind, name):
    net = scratchnet.MLP((3, 5, 2), "tanh", rng=0)
    path = saved(kind, tmp_path / name, net)
    assert detect_format(path) == ("safetensors" if kind == "safetensors" else "torch")
    state = load_state_dict_file(path)
    assert all(np.array_equal(state[k], v) for k, v in net.state_dict().items())


def small_files_whose_header_length_ends_in_0x80(folder, wanted=4):
    """The project's own small files, many sizes, until ``wanted`` have 0x80 as the header length's low byte."""
    found = []
    for depth in range(1, 13):
        for width in range(1, 60):
            path = folder / f"w{width}d{depth}"
            save_safetensors(scratchnet.MLP((2,) + (width,) * depth + (1,), rng=0), path)
            if header_length(path) & 0xFF == 0x80:
                found.append(path)
                if len(found) == wanted:
                    return found
            else:
                path.unlink()
    return found


def test_safetensors_whose_header_length_looks_like_a_pickle_load_under_any_name(tmp_path):
    """A header length with low byte 0x80 starts the file with what a pickle starts with."""
    paths = small_files_whose_header_length_ends_in_0x80(tmp_path)
    assert len(paths) == 4
    for path in paths:
        assert path.read_bytes()[:1] == b"\x80" and detect_format(path) == "safetensors"
        assert load_network(path).architecture == scratchnet.checkpoint.load_network(path).architecture
    program = (  # and without torch at all: safetensors needs NumPy alone
        "import sys; sys.modules['torch'] = None\nimport scratchnet.checkpoint as c\n"
        + "".join(f"c.load_network({str(p)!r})\n" for p in paths)
        + "print('loaded')"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "loaded", result.stderr


# -- sizes a file claims --------------------------------------------------------------------------


def safetensors_bytes(header, data=b""):
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + data


def huge_layer_number(folder):
    path = folder / "huge-number.safetensors"
    from safetensors.numpy import save_file

    save_file({"fc99999999999999999999.weight": np.ones((2, 2), np.float32)}, str(path))
    return path


def claimed_shape(folder):
    path = folder / "claimed-shape.safetensors"
    header = {"fc1.weight": {"dtype": "F32", "shape": [200_000, 200_000], "data_offsets": [0, 16]}}
    path.write_bytes(safetensors_bytes(header, b"\0" * 16))
    return path


def zip_bomb(folder):
    """A torch-like zip whose one entry unpacks to 512 MiB from a few hundred KiB."""
    path = folder / "bomb.pt"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        with archive.open("archive/data/0", "w", force_zip64=True) as entry:
            block = b"\0" * 2**20
            for _ in range(512):
                entry.write(block)
    return path


def legacy_with_count(path, count_opcodes):
    """torch's legacy format, the first storage's element count (a BININT1) replaced by ``count_opcodes``."""
    torch.save(torchnet.Net().state_dict(), path, _use_new_zipfile_serialization=False)
    data = path.read_bytes()
    numel = data.index(b"K", data.index(b"cpu"))  # BININT1: the element count follows the location
    path.write_bytes(data[:numel] + count_opcodes + data[numel + 2 :])
    return path


def legacy_claiming_a_huge_storage(folder):
    """torch's legacy format, with one storage's element count changed to 2**31 - 1."""
    return legacy_with_count(folder / "legacy-huge.pt", b"J" + (2**31 - 1).to_bytes(4, "little"))


CLAIMS = {
    "huge-number": (huge_layer_number, "more than 9 digits"),
    "claimed-shape": (claimed_shape, "needs 160000000000 bytes, but the file gives it bytes 0 to 16"),
    "zip-bomb": (zip_bomb, "refused: it unpacks to"),
    "legacy-huge": (legacy_claiming_a_huge_storage, "refused: its storages claim"),
}


@needs("torch")
@pytest.mark.parametrize("case", sorted(CLAIMS))
def test_a_file_cannot_ask_for_more_memory_than_it_holds(tmp_path, case):
    make, message = CLAIMS[case]
    path = make(tmp_path)
    assert path.stat().st_size < 2**20
    program = f"""
import resource, sys
import compare, scratchnet, torch
from compare import load_network
from scratchnet.checkpoint import CheckpointError
size = int(open('/proc/self/statm').read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (size + 2**28, size + 2**28))  # 256 MiB more than after the imports
try:
    load_network({str(path)!r}, "relu")
except CheckpointError as error:
    print("refused:", error)
"""
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.stdout.startswith("refused:") and message in result.stdout


# -- names shown safely -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, message",
    [
        ("fc\u0661.weight", "unexpected tensors"),  # an Arabic-Indic digit: isdigit() is true, and int() takes it
        ("fc01.weight", "leading zeros"),
        ("00.weight", "leading zeros"),
        ("\x1b[2J\x1b[H.weight", "unexpected tensors"),  # would clear the terminal
        ("fc1.weight\n\rfc2", "unexpected tensors"),
        ("fc1.w\x00eight", "unexpected tensors"),
    ],
)
def test_odd_key_names_get_a_checkpoint_error_shown_safely(tmp_path, key, message):
    from safetensors.numpy import save_file

    path = tmp_path / "odd\x07name.safetensors"
    save_file({key: np.ones((2, 2), np.float32)}, str(path))
    with pytest.raises(CheckpointError, match=message) as caught:
        load_network(path, "relu")
    assert all(character.isprintable() for character in str(caught.value))


def test_a_name_given_twice_in_a_header_is_refused(tmp_path):
    entry = '{"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}'
    text = ('{"fc1.bias": %s, "fc1.bias": %s}' % (entry, entry)).encode()
    path = tmp_path / "twice.safetensors"
    path.write_bytes(len(text).to_bytes(8, "little") + text + b"\0" * 4)
    with pytest.raises(CheckpointError, match="appears twice"):
        load_state_dict_file(path)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_safetensors_are_widened_and_said(tmp_path, dtype):
    from safetensors.torch import save_file

    model = torch.nn.Linear(3, 2).to(getattr(torch, dtype))
    save_file(model.state_dict(), str(tmp_path / "half.safetensors"))
    with pytest.warns(CheckpointWarning, match=rf"bias \({dtype}\), weight \({dtype}\)"):
        net = load_network(tmp_path / "half.safetensors")
    assert np.array_equal(net.weight.data, model.weight.float().detach().numpy())


def test_an_unsupported_dtype_is_named(tmp_path):
    path = tmp_path / "c64.safetensors"
    path.write_bytes(safetensors_bytes({"weight": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8))
    with pytest.raises(CheckpointError, match="dtype C64 is not supported"):
        load_state_dict_file(path)


@settings(max_examples=200 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 60)
@given(st.dictionaries(st.text(max_size=6), st.recursive(st.integers() | st.text(max_size=4), st.lists), max_size=4))
def test_arbitrary_headers_are_refused_or_loaded(header):
    """Any JSON header: a CheckpointError or arrays, never another exception."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "h.safetensors")
        with open(path, "wb") as file:
            file.write(safetensors_bytes(header, b"\0" * 64))
        try:
            load_state_dict_file(path)
        except CheckpointError:
            pass


# -- files written whole, or not at all -------------------------------------------------------------


def test_a_failed_save_keeps_the_old_file_its_mode_and_leaves_no_temporary(tmp_path, monkeypatch):
    import safetensors.numpy

    path = tmp_path / "net.safetensors"
    save_safetensors(scratchnet.Net(rng=0), path)
    os.chmod(path, 0o640)
    before = path.read_bytes()

    def broken(tensors, filename, metadata=None):
        with open(filename, "wb") as file:
            file.write(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(safetensors.numpy, "save_file", broken)
    with pytest.raises(OSError, match="No space left"):
        save_safetensors(scratchnet.Net(rng=1), path)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["net.safetensors"]
    monkeypatch.undo()
    save_safetensors(scratchnet.Net(rng=1), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.read_bytes() != before


def test_saving_over_what_is_not_a_regular_file_is_refused(tmp_path):
    net = scratchnet.Net(rng=0)
    with pytest.raises(IsADirectoryError):
        save_safetensors(net, tmp_path)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(OSError, match="not a regular file"):
        save_safetensors(net, tmp_path / "fifo")
    assert stat.S_ISFIFO((tmp_path / "fifo").stat().st_mode)
    (tmp_path / "target.safetensors").write_bytes(b"old")
    (tmp_path / "link.safetensors").symlink_to(tmp_path / "target.safetensors")
    save_safetensors(net, tmp_path / "link.safetensors")  # written through: the link stays a link
    assert (tmp_path / "link.safetensors").is_symlink()
    assert load_network(tmp_path / "target.safetensors").architecture == net.architecture
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "link.safetensors", "target.safetensors"]


def test_reading_a_fifo_or_a_device_does_not_hang(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    for path in (tmp_path / "fifo", "/dev/zero"):
        with pytest.raises(OSError, match="not a regular file"):
            load_state_dict_file(path)


def test_nothing_in_the_project_writes_a_file_in_place():
    """Every write (open for writing, savefig, save_file, json.dump to a file) goes to atomic_path's temporary
    (or to an in-memory buffer named ``memory``: the playground's picture)."""
    import ast

    places = []
    for package in ("scratchnet", "torchnet", "compare", "benchmarks"):
        for path in sorted(source_folder(package).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                modes = [a.value for a in node.args[1:2] if isinstance(a, ast.Constant)]
                opens_for_writing = name == "open" and any("w" in m or "a" in m for m in modes)
                if name in ("savefig", "save_file") or opens_for_writing:
                    targets = [ast.unparse(argument) for argument in node.args]
                    if not any("temporary" in t or "devnull" in t or t == "memory" for t in targets):
                        places.append(f"{path.name}:{node.lineno}: {ast.unparse(node)[:60]}")
    assert places == []


# -- objects left exactly as they were ---------------------------------------------------------------


def test_load_state_dict_with_a_read_only_parameter_changes_nothing():
    net = scratchnet.MLP((2, 3, 1), rng=0)
    before = net.state_dict()
    net.fc2.weight.data.flags.writeable = False
    new = scratchnet.MLP((2, 3, 1), rng=1).state_dict()
    with pytest.raises(StateDictError, match="fc2.weight: the parameter's array is read-only"):
        net.load_state_dict(new)
    assert all(np.array_equal(net.state_dict()[k], v) for k, v in before.items())


def test_copy_weights_refuses_what_cannot_hold_values_and_changes_nothing():
    source = scratchnet.Net(rng=0)
    with torch.device("meta"):
        meta = torchnet.Net()
    with pytest.raises(ValueError, match="on the meta device"):
        copy_weights(source, meta)
    with torch.inference_mode():
        frozen = torchnet.Net()
    with pytest.raises(ValueError, match="inference tensor"):
        copy_weights(source, frozen)
    torch.manual_seed(0)
    target = torchnet.Net()
    target.fc2.weight = torch.nn.Parameter(torch.zeros(1, 4).expand(4, 4))  # one element, seen 16 times
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(RuntimeError):
        copy_weights(source, target)  # fails at fc2.weight, after fc1 was written
    assert all(torch.equal(target.state_dict()[k], v) for k, v in before.items())
    assert not np.array_equal(numpy_state(target)["fc1.weight"], source.state_dict()["fc1.weight"])


# -- found by a second hostile review ---------------------------------------------------------------


def test_one_side_nan_in_training_is_a_failure(monkeypatch):
    from scratchnet.gates import gate_data

    compare_training, twin = optional_names("compare", "compare_training", "twin")
    x, target = gate_data("xor")
    net = scratchnet.Net(rng=0)
    theirs = twin(net)
    real = scratchnet.optim.Adam._rule  # the arithmetic both of Adam's paths (flat, per parameter) run

    def poisoned(self, p, grad, moments, step):
        real(self, p, grad, moments, step)
        p.flat[0] = np.nan

    monkeypatch.setattr(scratchnet.optim.Adam, "_rule", poisoned)
    report = compare_training(net, theirs, x, target, optimizer="adam", lr=0.05, steps=3)
    assert not report.passed and report.worst.ratio == np.inf


def test_a_checkpoint_is_opened_and_read_once(tmp_path, monkeypatch):
    """A file replaced while it is read cannot give one file's weights and another's architecture."""
    import scratchnet.checkpoint as checkpoint

    path = tmp_path / "net.safetensors"
    save_safetensors(scratchnet.MLP((2, 3, 1), "tanh", rng=0), path)
    opened = []
    real = checkpoint.open_regular
    monkeypatch.setattr(checkpoint, "open_regular", lambda p: opened.append(p) or real(p))
    import compare.checkpoint as both

    monkeypatch.setattr(both, "open_regular", checkpoint.open_regular)
    for load in (checkpoint.load_network, both.load_network):
        opened.clear()
        assert load(path).architecture.activations[0].name == "tanh"
        assert opened == [path]


@pytest.mark.parametrize("side", ["torch", "scratchnet"])
def test_tied_weights_given_different_values_are_refused(side):
    source = scratchnet.MLP((2, 4, 4, 4), rng=0)
    if side == "torch":
        destination = compare_twin(scratchnet.MLP((2, 4, 4, 4), rng=1))
        destination.fc3.weight = destination.fc2.weight
    else:
        destination = scratchnet.MLP((2, 4, 4, 4), rng=1)
        destination.fc3.weight = destination.fc2.weight
    before = {k: np.array(v) for k, v in numpy_state(destination).items()}
    with pytest.raises(ValueError, match="shares memory with fc2.weight"):
        copy_weights(source, destination)
    assert all(np.array_equal(numpy_state(destination)[k], v) for k, v in before.items())


def crafted(folder, name, header, data=b""):
    path = folder / name
    path.write_bytes(safetensors_bytes(header, data))
    return path


@pytest.mark.parametrize(
    "header, message",
    [
        ({"fc1.weight": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}, "dtype .* is not supported"),
        ({"fc1.weight": {"dtype": "F32", "shape": [0, 2**70], "data_offsets": [0, 0]}}, "sizes from 0 to 2"),
        ({"\u00b2": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, "unexpected tensors"),
        ({"fc1.weight\n": {"dtype": "F32", "shape": [1, 1], "data_offsets": [0, 4]}}, "unexpected tensors"),
        ({"\x1b[2J.fc1.weight": {"dtype": "F32", "shape": [1, 1], "data_offsets": [0, 4]}}, "unexpected tensors"),
        (
            {
                "__metadata__": {
                    "scratchnet.architecture": '{"naming": "linear", "layers": [{"in_features": 1, '
                    '"out_features": 1, "bias": false, "activation": {"name": "heaviside", "value": 1'
                    + "0" * 400
                    + "}}]}"
                },
                "weight": {"dtype": "F32", "shape": [1, 1], "data_offsets": [0, 4]},
            },
            "recorded architecture cannot be read",
        ),
    ],
)
def test_crafted_headers_get_a_checkpoint_error(tmp_path, header, message):
    path = crafted(tmp_path, "crafted.safetensors", header, b"\0" * 4)
    with pytest.raises(CheckpointError, match=message) as caught:
        scratchnet.checkpoint.load_network(path, "relu")
    assert all(character.isprintable() for character in str(caught.value))


def test_only_the_bytes_the_tensors_use_are_read(tmp_path):
    import tracemalloc

    path = tmp_path / "padded.safetensors"
    save_safetensors(scratchnet.MLP((2, 3, 1), rng=0), path)
    os.truncate(path, 2**33)  # 8 GiB, a hole after the tensors: costs nothing on disk
    tracemalloc.start()
    scratchnet.checkpoint.load_network(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2**20


def test_what_is_not_a_path_is_refused_and_a_descriptor_is_left_open(tmp_path):
    path = tmp_path / "net.safetensors"
    save_safetensors(scratchnet.Net(rng=0), path)
    descriptor = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(TypeError, match="expected a path"):
            scratchnet.checkpoint.load_network(descriptor)
        os.fstat(descriptor)  # still open: it was the caller's
    finally:
        os.close(descriptor)
    with pytest.raises(OSError, match="NUL"):
        scratchnet.checkpoint.load_network(str(path) + "\0x")


def torch_file_with_a_stride_zero_tensor(folder):
    path = folder / "stride0.pt"
    torch.save({"weight": torch.zeros(1).expand(4000, 4000)}, path)
    return path


def zip_version_64(folder):
    path = folder / "v64.pt"
    torch.save(torchnet.Net().state_dict(), path)
    data = bytearray(path.read_bytes())
    at = data.index(b"PK\x01\x02")
    data[at + 6 : at + 8] = (64).to_bytes(2, "little")  # "version needed to extract": 6.4
    path.write_bytes(bytes(data))
    return path


def legacy_count_through_the_memo(folder):
    """The legacy format, with a storage's element count put in the pickle memo and read back from it."""
    huge = b"J" + (2**31 - 1).to_bytes(4, "little") + b"q\xf0" + b"0" + b"h\xf0"  # push, BINPUT 240, POP, BINGET 240
    return legacy_with_count(folder / "legacy-memo.pt", huge)


@pytest.mark.parametrize(
    "make, message",
    [
        (torch_file_with_a_stride_zero_tensor, "stride-0 or overlapping view"),
        (zip_version_64, "zip directory cannot be checked"),
        (legacy_count_through_the_memo, "storages claim"),
    ],
    ids=["stride-0", "zip-version-6.4", "legacy-memo"],
)
def test_torch_files_claiming_more_than_they_hold(tmp_path, make, message):
    with pytest.raises(CheckpointError, match=message):
        load_state_dict_file(make(tmp_path))


def test_a_write_into_a_missing_folder_names_the_folder_not_a_temporary_file(tmp_path):
    from scratchnet.files import atomic_path, check_target

    target = tmp_path / "nowhere" / "net.onnx"
    for attempt in (lambda: check_target(target), lambda: atomic_path(target).__enter__()):
        with pytest.raises(FileNotFoundError, match="nowhere' does not exist") as caught:
            attempt()
        assert caught.value.filename == str(target) and ".tmp" not in str(caught.value)
    assert not (tmp_path / "nowhere").exists()


def test_writes_refuse_a_folder_name_and_a_read_only_file(tmp_path):
    net = scratchnet.Net(rng=0)
    with pytest.raises(IsADirectoryError):
        save_safetensors(net, str(tmp_path / "x") + "/")
    assert not (tmp_path / "x").exists()
    locked = tmp_path / "locked.safetensors"
    save_safetensors(net, locked)
    os.chmod(locked, 0o444)
    if os.access(locked, os.W_OK):
        pytest.skip("running as root: permissions do not stop this process")
    with pytest.raises(PermissionError):
        save_safetensors(net, locked)
