"""Training by gradient descent, by hand: one step is forward, loss, backward, update.

``torchnet.training`` is the same loop in PyTorch, line for line.
"""

__all__ = ["train_step", "fit"]


def train_step(net, criterion, optimizer, x, target):
    """One step of gradient descent on ``(x, target)``; returns the loss before the update."""
    optimizer.zero_grad()
    loss = criterion(net(x), target)
    net.backward(criterion.backward())
    optimizer.step()
    return float(loss)


def fit(net, criterion, optimizer, x, target, epochs, *, step=train_step, on_epoch=None):
    """Run ``epochs`` full-batch steps; returns the list of losses.

    ``step`` is the training step (``torchnet.training.train_step`` trains a
    torch network the same way); ``on_epoch(epoch, loss)`` is called after each.
    """
    losses = []
    for epoch in range(1, epochs + 1):
        losses.append(step(net, criterion, optimizer, x, target))
        if on_epoch is not None:
            on_epoch(epoch, losses[-1])
    return losses
