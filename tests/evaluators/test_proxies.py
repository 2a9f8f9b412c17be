"""Zero-cost proxies: finite, deterministic for a seed, lowest for a degenerate cell."""

import math

import pytest
import torch
from torch import nn

import nas
from evaluators import MNIST1D, PROXIES, ProxyEvaluator, score
from search_spaces.nb201 import DECISIONS


@pytest.fixture(scope="module")
def task():
    return MNIST1D()


@pytest.fixture(scope="module")
def graphs(task):
    """Two cnn samples and one mlp sample, small enough for a fast test."""
    out = []
    for name, seed in (("cnn", 1), ("cnn", 3), ("mlp", 0)):
        space = nas.get_space(name, in_shape=task.in_shape, n_out=task.n_out)
        out.append(space.build(space.sample(seed)))
    return out


@pytest.mark.parametrize("proxy", sorted(PROXIES))
def test_proxy_finite_and_deterministic(task, graphs, proxy):
    for g in graphs:
        a = score(g, task, proxy, batch=32, seed=0)
        assert math.isfinite(a)
        assert score(g, task, proxy, batch=32, seed=0) == a


def test_proxy_leaves_a_module_untouched(task, graphs):
    model = nas.compile_graph(graphs[0])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for proxy in PROXIES:
        score(model, task, proxy, batch=16)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("proxy", ["synflow", "snip", "grad_norm", "naswot"])
def test_all_none_nb201_cell_scores_lowest(task, proxy):
    space = nas.get_space("nb201", in_shape=(1, 40), n_out=10, channels=4, cells=1)
    cells = {op: space.build(dict.fromkeys(DECISIONS, op))
             for op in ("none", "nor_conv_3x3", "nor_conv_1x1")}
    mixed = dict(zip(DECISIONS, ["nor_conv_3x3", "skip_connect", "nor_conv_1x1",
                                 "avg_pool_3x3", "nor_conv_3x3", "none"]))
    cells["mixed"] = space.build(mixed)
    scores = {op: score(g, task, proxy, batch=32) for op, g in cells.items()}
    assert min(scores, key=scores.get) == "none", scores


def test_proxy_evaluator_result(task, graphs):
    ev = ProxyEvaluator(task, proxies=("synflow", "naswot"), batch=16)
    assert isinstance(ev, nas.Task)
    assert ev.objective == ("synflow", "max")
    assert (ev.in_shape, ev.n_out) == (task.in_shape, task.n_out)
    r = ev.evaluate(graphs[0])
    assert r.ok
    assert r.objectives == {"synflow": score(graphs[0], task, "synflow", batch=16)}
    assert {"synflow", "naswot", "score_time_s"} <= set(r.metrics)


class _Raises(nn.Module):
    def forward(self, x):
        raise RuntimeError("boom")


class _NaN(nn.Linear):
    def forward(self, x):
        return super().forward(x.flatten(1)) * math.nan


def test_proxy_evaluator_fails_cleanly(task):
    ev = ProxyEvaluator(task, proxies=("grad_norm",), batch=8)
    r = ev.evaluate(_Raises())
    assert not r.ok and r.error.startswith("runtime error:") and "boom" in r.error
    r = ev.evaluate(_NaN(40, 10))
    assert not r.ok and r.error.startswith("runtime error:") and "nan" in r.error
    with pytest.raises(ValueError, match="unknown proxy"):
        ProxyEvaluator(task, proxies=("nope",))


def test_bench_spearman_matches_scipy():

    from bench_helpers import load_bench
    from scipy.stats import spearmanr

    bench = load_bench("proxy_correlation")
    a, b = [3.0, 1.0, 2.0, 2.0, 5.0, 0.5], [0.9, 0.2, 0.4, 0.5, 0.7, 0.1]
    assert bench.spearman(a, b) == pytest.approx(spearmanr(a, b).statistic)
    assert math.isnan(bench.spearman([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))
