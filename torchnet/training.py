"""Training in PyTorch, as its users write it: the twin of ``scratchnet.training.train_step``.

``scratchnet.training.fit(..., step=train_step)`` runs it for many epochs.
"""

__all__ = ["train_step"]


def train_step(net, criterion, optimizer, x, target):
    """One step of gradient descent on ``(x, target)``; returns the loss before the update."""
    optimizer.zero_grad()
    loss = criterion(net(x), target)
    loss.backward()
    optimizer.step()
    return loss.item()
