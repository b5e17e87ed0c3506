"""Small 2-D datasets that a straight line cannot separate, made here (NumPy only) for the figures.

Each returns ``(x, y)``: points ``(n, 2)`` and labels ``(n, 1)`` in {0, 1}, in
``dtype``, shuffled, reproducible for a given ``rng`` (a Generator or a seed).
"""

import numpy as np

__all__ = ["two_moons", "circles"]


def two_moons(n=200, *, noise=0.1, rng=0, dtype=np.float32):
    """Two interleaved half circles: class 0 on the upper one, class 1 on the lower one, shifted."""
    rng = np.random.default_rng(rng)
    angles = np.pi * rng.random(n)
    label = rng.integers(0, 2, n)
    upper = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    lower = np.stack([1 - np.cos(angles), 0.5 - np.sin(angles)], axis=1)
    x = np.where(label[:, None] == 0, upper, lower) + noise * rng.standard_normal((n, 2))
    return x.astype(dtype), label.reshape(n, 1).astype(dtype)


def circles(n=200, *, noise=0.08, factor=0.5, rng=0, dtype=np.float32):
    """A disc (class 1) inside a ring (class 0): no line, only a closed curve, separates them."""
    rng = np.random.default_rng(rng)
    angles = 2 * np.pi * rng.random(n)
    label = rng.integers(0, 2, n)
    radius = np.where(label == 1, factor, 1.0)
    x = radius[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1) + noise * rng.standard_normal((n, 2))
    return x.astype(dtype), label.reshape(n, 1).astype(dtype)
