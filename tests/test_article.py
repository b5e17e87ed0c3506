"""Exact tests of what the article prints, in both frameworks, and of what it says its code does."""

import inspect
import textwrap

import numpy as np
import pytest

import scratchnet

from .optional import optional

torch = optional("torch")
nn = optional("torch.nn")
F = optional("torch.nn.functional")
torchnet = optional("torchnet")


# Copied from the article (shared/seed): print(net) and the state_dict loop.
ARTICLE_PRINT_NET = """\
Net(
  (fc1): Linear(in_features=2, out_features=4, bias=True)
  (fc2): Linear(in_features=4, out_features=4, bias=True)
  (fc3): Linear(in_features=4, out_features=1, bias=True)
)"""

ARTICLE_STATE_DICT = """\
fc1.weight \t torch.Size([4, 2])
fc1.bias \t torch.Size([4])
fc2.weight \t torch.Size([4, 4])
fc2.bias \t torch.Size([4])
fc3.weight \t torch.Size([1, 4])
fc3.bias \t torch.Size([1])"""


def printed(*args):
    """What ``print(*args)`` writes, without its newline."""
    return " ".join(str(a) for a in args)


@pytest.mark.parametrize("net", [torchnet.Net(), scratchnet.Net()], ids=["torchnet", "scratchnet"])
def test_print_net_is_the_articles(net):
    assert printed(net) == ARTICLE_PRINT_NET


def test_torch_state_dict_loop_prints_the_articles_sizes():
    net = torchnet.Net()
    lines = [printed(name, "\t", net.state_dict()[name].size()) for name in net.state_dict()]
    assert "\n".join(lines) == ARTICLE_STATE_DICT


def test_scratch_state_dict_has_the_same_names_and_sizes():
    net = scratchnet.Net()
    lines = [printed(name, "\t", f"torch.Size({list(net.state_dict()[name].shape)})") for name in net.state_dict()]
    assert "\n".join(lines) == ARTICLE_STATE_DICT
    sizes = {name: value.shape for name, value in net.state_dict().items()}
    assert sizes == {name: tuple(value.shape) for name, value in torchnet.Net().state_dict().items()}


def test_forward_reads_line_for_line_like_torch():
    def body(cls):
        return textwrap.dedent(inspect.getsource(cls.forward))

    assert body(scratchnet.Net) == body(torchnet.Net)


def test_the_articles_forword_typo_leaves_net_without_forward():
    """What torchnet.Net's docstring says about the article's spelling, checked on this torch."""

    class ArticleNet(nn.Module):
        def __init__(self):
            super(ArticleNet, self).__init__()
            self.fc1 = nn.Linear(2, 4)
            self.fc2 = nn.Linear(4, 4)
            self.fc3 = nn.Linear(4, 1)

        def forword(self, x):
            y = F.relu(self.fc1(x))
            y = F.relu(self.fc2(y))
            y = self.fc3(y)
            return y

    net = ArticleNet()
    with pytest.raises(NotImplementedError, match=r'Module \[ArticleNet\] is missing the required "forward" function'):
        net(torch.zeros(2))
    assert net.forword(torch.zeros(2)).shape == (1,)
    assert "forword" in torchnet.Net.__doc__ and "NotImplementedError" in torchnet.Net.__doc__


def test_bias_is_the_intercept():
    """The article's 2x + 3: a Linear(1, 1) with weight 2 and bias 3 gives 3 at x = 0."""
    layer = scratchnet.Linear(1, 1)
    layer.load_state_dict({"weight": [[2.0]], "bias": [3.0]})
    np.testing.assert_array_equal(layer([[0.0], [1.0], [2.0]]), [[3.0], [5.0], [7.0]])


def test_the_articles_bag_weights_are_a_weighted_sum():
    """Durability 5, capacity 5, design 8, familiarity 5: design matters most."""
    neuron = scratchnet.Linear(4, 1, bias=False)
    neuron.load_state_dict({"weight": [[5.0, 5.0, 8.0, 5.0]]})
    only_design, only_durability = neuron([0, 0, 1, 0]), neuron([1, 0, 0, 0])
    assert only_design[0] == 8 and only_durability[0] == 5
