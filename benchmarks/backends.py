"""The backends: one way each of running the same network's forward pass, ready to be checked and timed."""

import warnings
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch

import scratchnet
from compare import compare_outputs, to_torch
from compare.forward import onnxruntime_session, torch_unit_roundoff
from compare.tolerance import linear_chain, reference_with_bounds, unit_roundoff
from scratchnet import functional as F

__all__ = ["BACKENDS", "CHECK_ROWS", "Checked", "Prepared", "Reference", "Unavailable", "Backends"]

#: Rows of each output checked against the float64 reference before timing (all of them for small batches).
CHECK_ROWS = 64

#: Every backend, in table order, with the devices it runs on.
BACKENDS = {
    "scratchnet": ("cpu",),  # scratchnet.infer: the fast inference path
    "scratchnet-forward": ("cpu",),  # net(x) under no_grad: the forward a learner reads
    "naive-numpy": ("cpu",),  # relu(x @ W.T + b) per layer, plain NumPy expressions, fresh arrays
    "torch-eager": ("cpu", "cuda"),  # net(x) under torch.inference_mode()
    "torch-jit": ("cpu", "cuda"),  # torch.jit.script, or torch.jit.trace where script fails
    "torch-compile": ("cpu", "cuda"),  # torch.compile(dynamic=True)
    "torch-cudagraph": ("cuda",),  # a captured CUDA graph, replayed (small nets only)
    "onnxruntime": ("cpu",),  # onnxruntime's CPU provider on the graph scratchnet.onnx.save_onnx writes
    "onnxruntime-iobinding": ("cpu",),  # the same, input and a preallocated output bound once (IOBinding)
}


class Unavailable(Exception):
    """This backend cannot run here; the message says why."""


@dataclass
class Prepared:
    """A ready forward pass: ``fn()`` computes it, inside ``context()``; ``output()`` returns it as NumPy."""

    fn: object
    context: object
    output: object
    detail: str = ""


@dataclass(frozen=True)
class Reference:
    """The float64 reference output of an input's first ``CHECK_ROWS`` rows, with the derived bounds.

    ``bounds[device]`` bounds what that device's dtype arithmetic may differ from
    the exact result; ``bound_ref`` what the float64 reference itself may.
    """

    output: np.ndarray
    bounds: dict
    bound_ref: np.ndarray


@dataclass
class Checked:
    """A backend after its check: ``ok`` (``prepared`` is then ready to time), ``wrong`` or ``unavailable``."""

    status: str
    detail: str = ""
    prepared: Prepared | None = None
    ratio: float | None = None


class Backends:
    """Prepares backends for one workload and dtype, keeping what is costly to build (compiled nets) between batches."""

    def __init__(self, workload, dtype, seed):
        self.workload, self.dtype = workload, np.dtype(dtype)
        self.scratch = scratchnet.build(workload.architecture, dtype=self.dtype, rng=seed)
        self._torch, self._jit, self._compiled, self._sessions = {}, {}, {}, {}

    def reference(self, x, devices=("cpu",)):
        """The ``Reference`` for input ``x`` (its first ``CHECK_ROWS`` rows), on each of ``devices``."""
        if not hasattr(self, "_chain"):
            self._chain = linear_chain(self.scratch)
        u_cuda = torch_unit_roundoff(self.torch_net("cuda"), self.dtype) if "cuda" in devices else 0.0
        output, (bound_cpu, bound_cuda, bound_ref) = reference_with_bounds(
            self._chain, x[:CHECK_ROWS], [unit_roundoff(self.dtype), u_cuda, unit_roundoff(np.float64)]
        )
        return Reference(output, {"cpu": bound_cpu, "cuda": bound_cuda}, bound_ref)

    def checked(self, backend, device, x, reference):
        """Prepare ``backend`` on ``device`` for ``x`` and check its output against ``reference`` before any timing.

        One that cannot run here is ``unavailable``; one whose output is outside
        the derived bound (plus the reference's own) computes something else: ``wrong``.
        """
        try:
            prepared = self.prepare(backend, device, x)
            rows = np.asarray(prepared.output())[: reference.output.shape[0]]
        except Unavailable as reason:
            return Checked("unavailable", str(reason))
        check = compare_outputs(
            f"{backend}@{device}",
            rows,
            reference.output,
            reference.bounds[device] + reference.bound_ref,
            "derived bound + float64 reference bound",
        )
        if not check.passed:
            detail = (
                f"computes something else: max |diff| {check.max_abs_diff:.3g} vs tolerance {check.max_tolerance:.3g}"
            )
            return Checked("wrong", detail, ratio=check.ratio)
        return Checked("ok", prepared.detail, prepared, check.ratio)

    def torch_net(self, device):
        """The torch twin on ``device``, with the scratch network's weights (copied by ``compare``)."""
        if device not in self._torch:
            self._torch[device] = to_torch(self.scratch, device=device).eval()
        return self._torch[device]

    def prepare(self, backend, device, x):
        """Return a ``Prepared`` forward of ``backend`` on ``device`` for input ``x``, or raise ``Unavailable``."""
        if device not in BACKENDS[backend]:
            raise Unavailable(f"{backend} does not run on {device}")
        if backend == "scratchnet":
            return Prepared(
                lambda: scratchnet.infer(self.scratch, x), nullcontext, lambda: scratchnet.infer(self.scratch, x)
            )
        if backend == "scratchnet-forward":

            def forward():
                with scratchnet.no_grad():
                    return self.scratch(x)

            return Prepared(lambda: self.scratch(x), scratchnet.no_grad, forward)
        if backend == "naive-numpy":
            forward = self._naive(x)
            return Prepared(forward, nullcontext, forward, "x @ W.T + b, np.maximum(h, 0): a new array each")
        if backend.startswith("onnxruntime"):
            return self._onnxruntime(x, binding=backend == "onnxruntime-iobinding")
        x_t = torch.from_numpy(x).to(device)
        if backend == "torch-eager":
            return self._torch_prepared(self.torch_net(device), x_t)
        if backend == "torch-jit":
            net, how = self._jit_net(device, x_t)
            return self._torch_prepared(net, x_t, detail=f"torch.jit.{how} (deprecated in torch {torch.__version__})")
        if backend == "torch-compile":
            return self._torch_prepared(self._compiled_net(device), x_t, detail="torch.compile(dynamic=True)")
        return self._cuda_graph(x_t)

    def _naive(self, x):
        """The forward as anyone would first write it in NumPy: one expression per layer, nothing reused."""
        architecture = self.scratch.architecture
        layers = []
        for name, spec in zip(architecture.layer_names, architecture.layers):
            linear = self.scratch.get_submodule(name)
            bias = None if linear.bias is None else linear.bias.data
            layers.append((linear.weight.data, bias, spec.activation))

        def forward():
            h = x
            for weight, bias, activation in layers:
                h = h @ weight.T if bias is None else h @ weight.T + bias
                h = _naive_activation(activation, h)
            return h

        return forward

    @staticmethod
    def _torch_prepared(net, x_t, detail=""):
        def output():
            with torch.inference_mode():
                return net(x_t).cpu().numpy()

        return Prepared(lambda: net(x_t), torch.inference_mode, output, detail)

    def _jit_net(self, device, x_t):
        if device not in self._jit:
            net = self.torch_net(device)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch 2.13 deprecates TorchScript; the detail says so
                try:
                    self._jit[device] = (torch.jit.script(net), "script")
                except Exception:  # script cannot compile MLP.layers (a list built with getattr)
                    with torch.no_grad():
                        self._jit[device] = (torch.jit.trace(net, x_t), "trace")
        return self._jit[device]

    def _compiled_net(self, device):
        if device not in self._compiled:
            # Dynamo caches compiled code per function, and every workload's forward is the same
            # function: start afresh, and allow the recompiles this harness causes on purpose
            # (a batch of one is specialised; each thread count is a guard). It fails loudly
            # rather than falling back to eager, so that an eager time is never labelled compiled.
            torch._dynamo.reset()
            torch._dynamo.config.recompile_limit = 64
            torch._dynamo.config.fail_on_recompile_limit_hit = True
            net = self.torch_net(device)
            try:
                compiled = torch.compile(net, dynamic=True)
                probe = torch.zeros((2, self.workload.sizes[0]), dtype=next(net.parameters()).dtype, device=device)
                with torch.inference_mode():  # compile now, so that a failure is reported here
                    compiled(probe)
                self._compiled[device] = compiled
            except Exception as error:
                first_line = str(error).splitlines()[0][:200] if str(error) else ""
                self._compiled[device] = Unavailable(f"torch.compile failed: {type(error).__name__}: {first_line}")
        if isinstance(self._compiled[device], Unavailable):
            raise self._compiled[device]
        return self._compiled[device]

    def _cuda_graph(self, x_t):
        if not self.workload.small:
            raise Unavailable("CUDA graphs are timed for small nets only, where launch overhead dominates")
        net = self.torch_net("cuda")
        static_x = x_t.clone()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream), torch.inference_mode():
            for _ in range(3):  # warm up on a side stream before capture, as the CUDA graphs docs ask
                net(static_x)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.inference_mode(), torch.cuda.graph(graph):
            static_y = net(static_x)

        def output():
            graph.replay()
            return static_y.cpu().numpy()

        return Prepared(graph.replay, nullcontext, output, "torch.cuda.CUDAGraph replay")

    def _session(self, threads):
        """The onnxruntime session with ``threads`` threads, made once per count (in the warm-up: not timed)."""
        if threads not in self._sessions:
            try:
                self._sessions[threads] = onnxruntime_session(self.scratch, threads=threads)
            except (ImportError, ValueError) as error:  # not installed; no kernel for an operator in this dtype
                self._sessions[threads] = Unavailable(str(error))
        if isinstance(self._sessions[threads], Unavailable):
            raise self._sessions[threads]
        return self._sessions[threads]

    def _onnxruntime(self, x, binding):
        """onnxruntime, with as many threads as the other backends are given.

        A session's thread count is fixed when it is made, and ``timing.measure`` sets torch's to the count
        being measured before it calls anything: each call runs the session made for that count.
        """
        self._session(torch.get_num_threads())  # unavailable is said now, before any timing
        if not binding:

            def run():
                return self._session(torch.get_num_threads()).run(None, {"input": x})[0]

            return Prepared(run, nullcontext, run, "InferenceSession.run, CPUExecutionProvider")
        out = np.empty((x.shape[0], self.workload.sizes[-1]), dtype=x.dtype)
        bindings = {}

        def bound():
            threads = torch.get_num_threads()
            if threads not in bindings:  # the input and the output stay where they are: bound once
                binding = self._session(threads).io_binding()
                binding.bind_cpu_input("input", x)
                binding.bind_output("output", "cpu", 0, x.dtype, out.shape, out.ctypes.data)
                bindings[threads] = binding
            self._session(threads).run_with_iobinding(bindings[threads])

        def output():
            bound()
            return out.copy()

        return Prepared(bound, nullcontext, output, "run_with_iobinding, output preallocated")


def _naive_activation(activation, h):
    """ReLU as ``np.maximum(h, 0)``; the others from ``scratchnet.functional``, each a new array."""
    if activation is None or activation.name == "identity":
        return h
    if activation.name == "relu":
        return np.maximum(h, 0)
    settings = activation.kwargs
    if activation.name == "heaviside":
        return F.heaviside(h, np.asarray(settings["value"], dtype=h.dtype))
    return getattr(F, activation.name)(h, **settings)
