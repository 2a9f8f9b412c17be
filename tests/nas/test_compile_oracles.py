"""Oracles: graphs compiled from ArchGraph against the same networks written by hand."""

from __future__ import annotations

import torch
from torch import nn

from nas import ArchGraph, compile_graph, count_flops, count_params
from search_spaces.reference import mnist1d_paper_cnn


class PaperCNN(nn.Module):
    """The MNIST-1D paper's CNN (Greydanus, 2020): 3 conv1d of 25 channels, then linear."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(1, 25, 5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(25, 25, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(25, 25, 3, stride=2, padding=1)
        self.linear = nn.Linear(125, 10)

    def forward(self, x):  # (B, 1, 40)
        h = self.conv1(x).relu()  # (B, 25, 19)
        h = self.conv2(h).relu()  # (B, 25, 10)
        h = self.conv3(h).relu()  # (B, 25, 5)
        return self.linear(h.flatten(1))  # (B, 10)


def paper_cnn_graph() -> ArchGraph:
    return mnist1d_paper_cnn()


def test_mnist1d_paper_cnn_matches_hand_written():
    torch.manual_seed(0)
    ref = PaperCNN()
    model = compile_graph(paper_cnn_graph())
    assert count_params(model) == count_params(ref) == 5210
    model.load_state_dict(ref.state_dict())  # same names: node ids are the submodule names
    x = torch.randn(16, 1, 40)
    torch.testing.assert_close(model(x), ref(x))
    assert count_flops(paper_cnn_graph()) == count_flops(ref, (x[:1],))


class BasicBlock(nn.Module):
    """ResNet basic block (He et al., 2016) with a 1x1 projection shortcut when needed."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                  nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.bn2(self.conv2(self.bn1(self.conv1(x)).relu()))
        return (out + self.down(x)).relu()


def basic_block_graph(cin, cout, stride, hw) -> ArchGraph:
    g = ArchGraph()
    x = g.add_input("x", (cin, hw, hw))
    conv = {"kernel": 3, "padding": 1, "bias": False}
    h = g.add_node("conv1", "conv2d", {"channels": cout, "stride": stride, **conv}, [x])
    h = g.add_node("bn1", "batch_norm", {}, [h])
    h = g.add_node("act1", "relu", {}, [h])
    h = g.add_node("conv2", "conv2d", {"channels": cout, **conv}, [h])
    h = g.add_node("bn2", "batch_norm", {}, [h])
    h = g.add_node("res", "add", {}, [h, x])
    g.set_output("y", g.add_node("out", "relu", {}, [h]))
    return g


def test_resnet_basic_block_matches_hand_written():
    torch.manual_seed(0)
    ref = BasicBlock(8, 16, 2)
    model = compile_graph(basic_block_graph(8, 16, 2, 12))
    state = {k.replace("down.", "res.proj.0."): v for k, v in ref.state_dict().items()}
    model.load_state_dict(state)
    x = torch.randn(4, 8, 12, 12)
    for mode in (True, False):  # training (batch stats) and eval (running stats)
        model.train(mode)
        ref.train(mode)
        torch.testing.assert_close(model(x), ref(x))


def test_identity_shortcut_has_no_projection():
    model = compile_graph(basic_block_graph(8, 8, 1, 6))
    assert not any(k.startswith("res.") for k in model.state_dict())
