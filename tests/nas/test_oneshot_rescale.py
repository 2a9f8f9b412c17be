"""OneShot.rescale reaches the search's supernet; a value that is not a bool is refused."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from nas import OneShot, Space, compile_graph
from nas.oneshot._flow import build_supernet
from nas.settings import ConfigError


def tiny(b, in_shape, n_out):
    x = b.op("conv", b.input(in_shape), channels=b.choice("width", [4, 8]), kernel=3)
    return b.output(b.op("linear", b.op("global_avg_pool", x), features=n_out))


@pytest.mark.parametrize("rescale", [False, True])
def test_rescale_reaches_the_supernet(rescale):
    config = SimpleNamespace(one_shot=OneShot(rescale=rescale, probe=8), seed=0)
    net = build_supernet(Space(tiny, (1, 12), 2), config)
    narrow = Space(tiny, (1, 12), 2).build({"width": 4})
    slot = net._slots(compile_graph(narrow), narrow)[("linear_0", "weight")]
    assert net.rescale is rescale
    assert slot.scale == pytest.approx(2 ** 0.5 if rescale else 1.0)  # linear: 8 -> 4 inputs
    assert OneShot.from_dict(OneShot(rescale=rescale).to_dict()).rescale is rescale


def test_a_rescale_that_is_not_a_bool_is_refused():
    with pytest.raises(ConfigError, match="one_shot.rescale must be true or false"):
        OneShot(rescale="yes")
