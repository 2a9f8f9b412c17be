"""The parameter cap of graph growth (``GraphSpace(max_params=N)``): every candidate a
capped space samples or mutates has at most N parameters, counted independently (the
graph compiled, ``p.numel()`` summed); an edit over the cap changes nothing; no cap
(or a cap nothing reaches) proposes exactly what the space proposed before."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

import nas
from nas import GraphSpace, SpaceError, Traced, compile_graph
from nas.graphspace._cap import param_count
from nas.graphspace._seed import GROW_EDITS, settings
from search_spaces.reference import mnist1d_paper_cnn

SEED_PARAMS = 5210  # the MNIST-1D paper's CNN (its published count)


def compiled_params(graph) -> int:
    """The oracle: the graph compiled, its trainable parameters summed."""
    return sum(p.numel() for p in compile_graph(graph).parameters() if p.requires_grad)


def seed() -> Traced:
    graph = mnist1d_paper_cnn()
    torch.manual_seed(0)
    return Traced(graph, dict(compile_graph(graph).state_dict()))


def lineages(sp: GraphSpace, rng_seed: int, generations: int) -> list:
    """A line of descent: a sample, then each generation's mutant (graph, decisions)."""
    rng = random.Random(rng_seed)
    decisions = sp.sample(rng)
    out = [(sp.build(decisions), decisions)]
    for _ in range(generations):
        decisions = sp.mutate(decisions, rng)
        out.append((sp.build(decisions), decisions))
    return out


def test_the_seed_counts_as_published():
    assert param_count(mnist1d_paper_cnn()) == compiled_params(mnist1d_paper_cnn()) \
        == SEED_PARAMS


@pytest.mark.parametrize("chain", [True, False])
def test_every_candidate_stays_under_the_cap(chain):
    cap = 6000
    sp = GraphSpace(seed(), edits=GROW_EDITS, max_edits=6, chain=chain, max_params=cap)
    counts, fingerprints = [], set()
    for rng_seed in range(8):
        for graph, _ in lineages(sp, rng_seed, 5):
            n = compiled_params(graph)
            assert n <= cap, graph.meta["lineage"]["edits"]
            assert param_count(graph) == n  # the cheap count is exact
            counts.append(n)
            fingerprints.add(graph.fingerprint())
    # the cap does not freeze the search: it grew, shrank and moved about
    assert max(counts) > SEED_PARAMS and min(counts) < SEED_PARAMS
    assert len(fingerprints) > 10


def test_uncapped_growth_would_pass_the_cap():
    """The property above is not vacuous: the same lines of descent without a cap grow
    past it."""
    sp = GraphSpace(seed(), edits=GROW_EDITS, max_edits=6, chain=True)
    assert max(compiled_params(g) for s in range(8) for g, _ in lineages(sp, s, 5)) > 6000


def test_an_edit_over_the_cap_changes_nothing():
    # from a seed at the cap, widening every layer never fits: every candidate is the seed
    sp = GraphSpace(seed(), edits=("widen_all",), max_edits=3, chain=True,
                    max_params=SEED_PARAMS)
    for graph, decisions in lineages(sp, 0, 4):
        assert decisions["edit_0"] == "widen_all"  # proposed, not applied
        assert graph.fingerprint() == sp.seed_fingerprint
        assert graph.meta["lineage"]["edits"] == []
    # a narrow first makes room: then a widening under the cap applies
    sp = GraphSpace(seed(), edits=("narrow", "widen"), max_edits=2, max_params=SEED_PARAMS)
    graph = sp.build({"edit_0": "narrow", "edit_0_site": 0, "edit_0_arg": 0,
                      "edit_1": "widen", "edit_1_site": 0, "edit_1_arg": 0})
    assert [e.split()[0] for e in graph.meta["lineage"]["edits"]] == ["narrow", "widen"]
    assert compiled_params(graph) <= SEED_PARAMS


@pytest.mark.parametrize("cap", [None, 10**9])
def test_no_cap_proposes_what_the_space_proposed_before(cap):
    """Same seeds: the same decisions, graphs and start weights with no cap (or one
    nothing reaches, so counting draws nothing from the random state) as without the
    argument."""
    plain = GraphSpace(seed(), edits=GROW_EDITS, max_edits=6, chain=True)
    capped = GraphSpace(seed(), edits=GROW_EDITS, max_edits=6, chain=True, max_params=cap)
    for rng_seed in range(3):
        torch.manual_seed(rng_seed)
        a = [(g.fingerprint(), d) for g, d in lineages(plain, rng_seed, 4)]
        state_a = torch.get_rng_state()
        torch.manual_seed(rng_seed)
        b = [(g.fingerprint(), d) for g, d in lineages(capped, rng_seed, 4)]
        assert a == b
        assert torch.equal(state_a, torch.get_rng_state())


def test_a_seed_over_the_cap_is_refused_naming_both_numbers():
    with pytest.raises(SpaceError, match=r"5,210 parameters, above max_params=5,000.*"
                                         r"at least 5,210"):
        GraphSpace(seed(), max_params=5000)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "5000"])
def test_a_bad_cap_is_refused(bad):
    with pytest.raises(SpaceError, match="max_params must be a positive int"):
        GraphSpace(seed(), max_params=bad)


def test_the_cap_is_recorded():
    sp = GraphSpace(seed(), edits=("narrow",), max_params=SEED_PARAMS)
    assert "max_params=5210" in repr(sp)
    assert sp.describe(samples=4, max_enumerate=0)["max_params"] == SEED_PARAMS
    graph, _ = lineages(sp, 0, 0)[0]
    assert graph.meta["lineage"]["max_params"] == SEED_PARAMS
    plain = GraphSpace(seed(), edits=("narrow",))
    assert "max_params" not in repr(plain)
    assert "max_params" not in lineages(plain, 0, 0)[0][0].meta["lineage"]


def test_settings_read_a_cap_given_as_text():
    assert settings(max_params="5210")["max_params"] == 5210
    assert settings()["max_params"] is None
    with pytest.raises(SpaceError, match="max_params must be an int"):
        settings(max_params="many")


def test_python_search_takes_the_cap():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(1, 6, 5, stride=2, padding=1), nn.ReLU(),
                          nn.Conv1d(6, 6, 3, stride=2, padding=1), nn.ReLU(),
                          nn.Flatten(), nn.Linear(6 * 10, 10))  # 36 + 114 + 610 = 760
    st = nas.search(from_model=model, example_inputs=torch.randn(5, 1, 40), task="fake",
                    strategy="random", trials=6, progress=False, max_params=800,
                    edits=("widen", "deepen", "skip", "narrow"))
    recs = st.completed()
    assert len(recs) == 6
    assert all(compiled_params(r.graph) <= 800 and r.attrs["lineage"]["max_params"] == 800
               for r in recs)
    with pytest.raises(ValueError, match="max_params .* goes with from_model"):
        nas.search(task="fake", trials=1, progress=False, max_params=800)
