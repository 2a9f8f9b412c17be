"""The nb201 space's network against NAS-Bench-201's own, written here by hand.

The reference is the benchmark's code (D-X-Y/AutoDL-Projects, xautodl/models:
``cell_infers/tiny_network.py`` TinyNetwork, ``cell_infers/cells.py`` InferCell,
``cell_operations.py`` OPS and ResNetBasicblock), restated for the five NB201 ops:

- stem: Conv3x3(3 -> C, no bias) - BN;
- 3 stages of N cells with C, 2C, 4C channels; between stages a ResNetBasicblock at
  stride 2: conv_a = ReLU-Conv3x3/2-BN, conv_b = ReLU-Conv3x3-BN, shortcut =
  AvgPool2x2/2 then Conv1x1 (no BN, no ReLU), output shortcut + conv_b;
- a cell: node i = sum over j < i of op_ij(node j), output node 3; none = x * 0,
  skip_connect = x, nor_conv_kxk = ReLU-Conv(kxk, no bias)-BN, avg_pool_3x3 =
  AvgPool3x3/1 pad 1 with count_include_pad=False;
- head: BN - ReLU - global average pool - Linear.

Weights go across by a hand mapping (the parametrised layers in the order the
reference's constructor makes them), so equal outputs mean the same function.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import nas
from search_spaces.nb201 import DECISIONS


def relu_conv_bn(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False),
                         nn.BatchNorm2d(cout))


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


def edge_op(op: str, c: int) -> nn.Module:
    return {
        "none": Zero,
        "skip_connect": nn.Identity,
        "nor_conv_1x1": lambda: relu_conv_bn(c, c, 1),
        "nor_conv_3x3": lambda: relu_conv_bn(c, c, 3),
        "avg_pool_3x3": lambda: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
    }[op]()


class Cell(nn.Module):
    """InferCell: node i = sum_{j<i} op_ij(node j); the output is node 3."""

    def __init__(self, decisions: dict, c: int):
        super().__init__()
        self.edges = [(i, j) for i in (1, 2, 3) for j in range(i)]  # the genotype's order
        self.ops = nn.ModuleList(edge_op(decisions[f"edge_{i}_{j}"], c) for i, j in self.edges)

    def forward(self, x):
        nodes = [x]
        for i in (1, 2, 3):
            nodes.append(sum(op(nodes[j]) for (t, j), op in zip(self.edges, self.ops) if t == i))
        return nodes[3]


class Reduction(nn.Module):
    """ResNetBasicblock(cin, cout, stride=2)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv_a = relu_conv_bn(cin, cout, 3, stride=2)
        self.conv_b = relu_conv_bn(cout, cout, 3)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, stride=2),
                                        nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x):  # (B, cin, H, W) -> (B, cout, H/2, W/2)
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class TinyNetwork(nn.Module):
    def __init__(self, decisions: dict, c: int = 16, n: int = 5, classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        layers, cin = [], c
        for stage in range(3):
            width = c * 2**stage
            if stage:
                layers.append(Reduction(cin, width))
            layers += [Cell(decisions, width) for _ in range(n)]
            cin = width
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU())
        self.classifier = nn.Linear(cin, classes)

    def forward(self, x):  # (B, 3, H, W) -> (B, classes)
        h = self.lastact(self.cells(self.stem(x)))  # (B, 4C, H/4, W/4)
        return self.classifier(h.mean((2, 3)))


def layers_in_build_order(ref: TinyNetwork) -> list[nn.Module]:
    """The reference's parametrised layers in the order nb201 builds its nodes: stem conv
    and BN; per cell, per edge (i, j) in genotype order, a conv's Conv and BN; per
    reduction conv_a, conv_b, then the shortcut's 1x1 conv; the last BN; the classifier."""
    out = [ref.stem[0], ref.stem[1]]
    for block in ref.cells:
        if isinstance(block, Reduction):
            out += [block.conv_a[1], block.conv_a[2], block.conv_b[1], block.conv_b[2],
                    block.downsample[1]]
        else:
            for op in block.ops:
                if isinstance(op, nn.Sequential):
                    out += [op[1], op[2]]
    return out + [ref.lastact[0], ref.classifier]


def copy_weights(ref: TinyNetwork, model: nn.Module) -> None:
    """Give ``model`` (the compiled graph) the reference's weights and BN statistics."""
    mine = [m for m in model.modules()
            if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear))]
    theirs = layers_in_build_order(ref)
    assert len(mine) == len(theirs), (len(mine), len(theirs))
    for a, b in zip(mine, theirs):
        assert type(a) is type(b)
        a.load_state_dict(b.state_dict())  # raises on a shape or a name that differs


def randomise(ref: nn.Module) -> None:
    """Non-trivial BN parameters and running statistics, so eval mode tests them too."""
    g = torch.Generator().manual_seed(1)
    for m in ref.modules():
        if isinstance(m, nn.BatchNorm2d):
            for t in (m.weight, m.bias, m.running_mean):
                t.data.copy_(torch.randn(t.shape, generator=g) * 0.5 + (t is m.weight))
            m.running_var.data.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)


def nb201(decisions: dict, c: int, n: int, hw: int) -> nn.Module:
    space = nas.get_space("nb201", in_shape=(3, hw, hw), n_out=10, channels=c, cells=n)
    return nas.compile_graph(space.build(decisions))


GENOTYPES = {
    "all_conv3": dict.fromkeys(DECISIONS, "nor_conv_3x3"),
    "all_none": dict.fromkeys(DECISIONS, "none"),
    "mixed": dict(zip(DECISIONS, ["nor_conv_3x3", "skip_connect", "nor_conv_1x1",
                                  "avg_pool_3x3", "none", "nor_conv_3x3"])),
    "pools_and_skips": dict(zip(DECISIONS, ["avg_pool_3x3", "none", "skip_connect",
                                            "avg_pool_3x3", "nor_conv_1x1", "avg_pool_3x3"])),
}


@pytest.mark.parametrize("name", sorted(GENOTYPES))
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_nb201_network_equals_the_reference(name, mode):
    decisions = GENOTYPES[name]
    torch.manual_seed(0)
    ref = TinyNetwork(decisions, c=4, n=2)
    randomise(ref)
    model = nb201(decisions, c=4, n=2, hw=12)
    assert nas.count_params(model) == nas.count_params(ref)
    copy_weights(ref, model)
    ref.train(mode == "train")
    model.train(mode == "train")
    x = torch.randn(3, 3, 12, 12)
    torch.testing.assert_close(model(x), ref(x), rtol=1e-5, atol=1e-5)


def test_avg_pool_edge_excludes_the_padding():
    # One avg_pool_3x3 edge on a constant image: excluding the padding keeps the border
    # at the constant (including it would give 4/9 at a corner); node 3 = pool(x).
    decisions = dict(GENOTYPES["all_none"], edge_3_0="avg_pool_3x3")
    space = nas.get_space("nb201", in_shape=(2, 5, 5), n_out=3, skeleton=False)
    model = nas.compile_graph(space.build(decisions))
    assert torch.equal(model(torch.full((1, 2, 5, 5), 7.0)), torch.full((1, 2, 5, 5), 7.0))


def test_skip_and_none_edges():
    # node1 = x (skip), node2 = x (skip from 0) + 0, node3 = node1 + node2 = 2x.
    decisions = dict(GENOTYPES["all_none"], edge_1_0="skip_connect", edge_2_0="skip_connect",
                     edge_3_1="skip_connect", edge_3_2="skip_connect")
    space = nas.get_space("nb201", in_shape=(2, 4, 4), n_out=3, skeleton=False)
    x = torch.randn(2, 2, 4, 4)
    assert torch.equal(nas.compile_graph(space.build(decisions))(x), 2 * x)
    zero = nas.compile_graph(space.build(GENOTYPES["all_none"]))(x)
    assert torch.equal(zero, torch.zeros_like(x))


def benchmark_params(cell_params_per_channel, c: int = 16, n: int = 5, classes: int = 10):
    """Parameters of the benchmark's CIFAR-10 network, counted from its layer list:
    ``cell_params_per_channel(width)`` gives one cell's parameters."""
    stem = 3 * c * 9 + 2 * c
    reductions = sum(cin * cout * 9 + 2 * cout + cout * cout * 9 + 2 * cout + cin * cout
                     for cin, cout in ((c, 2 * c), (2 * c, 4 * c)))
    cells = n * sum(cell_params_per_channel(c * 2**s) for s in range(3))
    head = 2 * 4 * c + 4 * c * classes + classes
    return stem + reductions + cells + head


def test_full_size_parameter_counts_match_the_benchmark():
    # NAS-Bench-201's CIFAR-10 networks (C = 16, N = 5, 32x32), counted by hand above:
    # from 73,306 parameters (no parametrised edge) to 1,531,546 (six 3x3 convs per cell),
    # the 0.07 M to 1.53 M range the benchmark reports.
    none = benchmark_params(lambda w: 0)
    conv3 = benchmark_params(lambda w: 6 * (9 * w * w + 2 * w))
    conv1 = benchmark_params(lambda w: 6 * (w * w + 2 * w))
    assert (none, conv3) == (73_306, 1_531_546)
    assert (round(none / 1e6, 2), round(conv3 / 1e6, 2)) == (0.07, 1.53)
    space = nas.get_space("nb201")  # the registered defaults: (3, 32, 32), 10 classes
    for op, want in (("none", none), ("nor_conv_3x3", conv3), ("nor_conv_1x1", conv1)):
        graph = space.build(dict.fromkeys(DECISIONS, op))
        assert nas.count_params(graph) == want, op
        assert nas.count_params(TinyNetwork(dict.fromkeys(DECISIONS, op))) == want, op


def test_mixed_parity_input_is_refused_with_a_clear_error():
    space = nas.get_space("nb201", in_shape=(3, 8, 7), n_out=10, channels=4, cells=1)
    with pytest.raises(ValueError, match=r"sizes \(8, 7\) mix even and odd.*all even"):
        space.build(GENOTYPES["mixed"])
