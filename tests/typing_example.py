"""Type-checked by mypy in CI (not run by pytest): the public API as the README uses it.

A change that makes the README's own calls ill-typed (``MLP(..., dtype=np.float64)``, say) fails the check.
"""

import numpy as np
from numpy.typing import NDArray

import scratchnet
from scratchnet import Architecture, Layer, optim
from scratchnet.checkpoint import load_network, save_safetensors

mlp: scratchnet.MLP = scratchnet.MLP((2, 16, 16, 1), activation="tanh", dtype=np.float64, rng=1)
net = scratchnet.Net(rng=0)
layer = scratchnet.Linear(2, 4, bias=False, dtype=np.float32, rng=np.random.default_rng(0))
seq = scratchnet.Sequential(scratchnet.Linear(2, 8), scratchnet.ReLU(), scratchnet.Linear(8, 1), scratchnet.Sigmoid())
arch: Architecture = Architecture((Layer(2, 4), Layer(4, 1, activation="sigmoid")), "sequential")
built: scratchnet.Module = scratchnet.build(arch, dtype=np.float64, rng=0)
y: NDArray[np.floating] = scratchnet.infer(mlp, np.zeros((5, 2)))
sizes: tuple[int, ...] = mlp.architecture.sizes
state = net.state_dict()
net.load_state_dict(state, strict=True)
optimizer = optim.Adam(net.parameters(), lr=0.05, betas=(0.9, 0.999))
optimizer.zero_grad()
criterion = scratchnet.BCEWithLogitsLoss(reduction="mean")
save_safetensors(net, "/tmp/typing-example.safetensors")
again: scratchnet.Module = load_network("/tmp/typing-example.safetensors")
