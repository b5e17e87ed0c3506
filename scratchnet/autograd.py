"""Reverse-mode differentiation in its smallest form: a tape of what the forward pass did.

While a module's forward runs, every differentiable operation (``linear``,
the activations, the losses) writes one entry on the tape::

    record(output, input, backward)    # backward: grad of output -> grad of input

``Module.backward(grad_y)`` then walks the tape from the last entry to the
first. Gradients are routed by array identity: the gradient of an entry's
``output`` is what later entries sent back to that very array, and its
``backward`` turns it into the gradient of the ``input`` it was given.
Parameter gradients are added to ``Parameter.grad`` inside the entries'
``backward`` (see ``functional.linear``).

This is the same idea as torch's autograd graph, cut down to what a chain of
layers needs: one differentiable input per operation. An operation that is
not recorded (say ``y * 2`` written with NumPy) breaks the chain, and
``backward`` says so rather than returning a wrong gradient.

Inference: inside ``with no_grad():`` nothing is recorded and no
intermediate array is kept alive for a backward pass.

The whole story of one training step, in order (each step's code is named):

1. ``y = net(x)``: ``Module.__call__`` (in ``module``) opens a ``Tape`` and
   runs ``forward``; each operation of ``functional`` computes its output and
   calls ``record(output, input, backward)``. The tape holds the chain
   ``x -> z1 -> h1 -> ... -> y``, one entry per operation. The loss,
   ``criterion(y, target)``, is a module too and records its own tape.
2. ``net.backward(criterion.backward())``: the loss gives ``dL/dy``;
   ``Module.backward`` checks it and checks that the tape links ``y`` back to
   ``x`` (``check_chain``); then ``run_backward`` calls ``Tape.backward``: from
   the last entry to the first, it hands each entry the gradient of its output, and
   the entry's ``backward`` (written beside its forward in ``functional``,
   e.g. ``linear_backward``: ``dx = g @ W``, ``dW = g^T x``, ``db = sum g``)
   returns the gradient of its input and adds ``dW``, ``db`` to the
   parameters' ``.grad``.
3. ``optimizer.step()`` reads each ``.grad``; ``zero_grad()`` clears them.

The recording state (the open tape, ``no_grad``) is per thread and per
asyncio task (``contextvars``): two threads training their own networks never
write on each other's tape, and ``no_grad`` in one thread leaves the others
recording.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

__all__ = [
    "BackwardError",
    "Tape",
    "check_chain",
    "is_grad_enabled",
    "is_recording",
    "no_grad",
    "record",
    "run_backward",
]

#: The tape the current thread's forward pass writes on, or None.
_tape = ContextVar("scratchnet_tape", default=None)
#: False inside the current thread's ``no_grad()``.
_grad_enabled = ContextVar("scratchnet_grad_enabled", default=True)


class BackwardError(RuntimeError):
    """A backward pass that cannot be done: no forward to go back through, or a broken chain."""


class Tape:
    """The operations of one forward pass, in order: ``(output, input, backward)`` entries."""

    def __init__(self):
        self.entries = []

    def __enter__(self):
        if _tape.get() is not None:
            raise BackwardError("a tape is already recording")
        _tape.set(self)
        return self

    def __exit__(self, *exc_info):
        _tape.set(None)  # tapes do not nest (see __enter__): there was none before

    def backward(self, output, grad_output):
        """Send ``grad_output`` (the gradient of ``output``) back through every entry.

        Returns a dict ``id(array) -> gradient`` for the arrays the tape did
        not produce (the forward's inputs).
        """
        grads = {id(output): grad_output}
        for entry_output, entry_input, backward in reversed(self.entries):
            grad = grads.pop(id(entry_output), None)
            if grad is None:
                continue  # this output did not reach the loss: nothing flows back through it
            grad_input = backward(grad)
            key = id(entry_input)
            grads[key] = grad_input if key not in grads else grads[key] + grad_input
        return grads


def check_chain(tape, input, output, owner):
    """Raise ``BackwardError`` unless the tape links ``output`` back to ``input`` through recorded operations.

    Every entry's input must be the forward's input or an earlier entry's
    output; otherwise an unrecorded operation sits in between and the
    gradient would silently stop there.
    """
    known = {id(entry_output) for entry_output, _, _ in tape.entries}
    known.add(id(input))
    if id(output) not in known or not {id(entry_input) for _, entry_input, _ in tape.entries} <= known:
        raise BackwardError(
            f"{owner}.backward(): the forward pass used an operation scratchnet does not record "
            "(plain NumPy arithmetic on the way from input to output?); use scratchnet.functional, "
            "or write that step's backward by hand"
        )


def run_backward(tape, input, output, grad_output):
    """Step 2 of the story above: ``dL/dinput`` from ``dL/doutput``, through every entry of ``tape``.

    The caller has checked the chain (``check_chain``). Returns zeros when
    ``output`` does not depend on ``input``.
    """
    grads = tape.backward(output, grad_output)
    grad_input = grads.get(id(input))
    if grad_input is None:  # the output does not depend on the input
        grad_input = np.zeros(np.shape(input), np.asarray(grad_output).dtype)
    return grad_input


def record(output, input, backward):
    """Note that ``output`` was computed from ``input``; ``backward(grad_output)`` returns ``grad_input``.

    Does nothing unless a forward pass is recording (outside ``no_grad``).
    """
    tape = _tape.get()
    if tape is not None:
        tape.entries.append((output, input, backward))


def is_grad_enabled() -> bool:
    """False inside ``with no_grad():``."""
    return _grad_enabled.get()


def is_recording() -> bool:
    """True while a module's forward pass is writing a tape."""
    return _tape.get() is not None


#: The tape the current thread's forward pass writes on, or None (``is_recording`` without a call of its own:
#: every module call asks, six times a training step of the article's network).
current_tape = _tape.get


@contextmanager
def no_grad() -> Iterator[None]:
    """Run forward passes without recording them, like ``torch.no_grad()``: faster, and nothing kept for backward."""
    token = _grad_enabled.set(False)
    try:
        yield
    finally:
        _grad_enabled.reset(token)
