"""nb201's mixed network: every edge mixed; a one-hot mixing is the chosen cell.

Oracle: ``compile_graph(space.resolve(answers))`` with its weights copied into the
mixed network's chosen modules (same order), compared in training and eval mode.
"""

from __future__ import annotations

import random

import pytest
import torch
from darts_helpers import copy_chosen

from nas import compile_graph, get_space
from nas.darts import mixed_space
from search_spaces.nb201 import DECISIONS, OPS

CASES = [dict(zip(DECISIONS, ops, strict=True)) for ops in (
    ["nor_conv_3x3", "none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3"],
    ["none"] * 6,  # every node a zero
    ["skip_connect"] * 6,
    ["none", "nor_conv_1x1", "none", "none", "none", "avg_pool_3x3"],
)] + [dict(zip(DECISIONS, random.Random(s).choices(OPS, k=6), strict=True)) for s in range(3)]


@pytest.mark.parametrize("shape,skeleton", [((1, 24), True), ((3, 8, 8), True),
                                            ((4, 10), False)])
def test_one_hot_mixing_equals_the_chosen_cell(shape, skeleton):
    space = get_space("nb201", shape, 5, channels=4, cells=1, skeleton=skeleton)
    ds = mixed_space(space)
    assert ds.choices == {d: OPS for d in DECISIONS} and ds.fixed == {}
    x = torch.randn(6, *shape)
    for answers in CASES:
        graph, _ = ds.resolve(answers)
        assert graph == space.build(answers)
        torch.manual_seed(1)
        ref = compile_graph(graph)
        copy_chosen(ds, answers, ref)
        ds.net.set_mixing({k: torch.nn.functional.one_hot(torch.tensor(OPS.index(v)), 5)
                           .float() for k, v in answers.items()})
        for train in (True, False):
            ds.net.train(train), ref.train(train)
            torch.testing.assert_close(ds.net(x), ref(x), rtol=1e-6, atol=1e-6)
