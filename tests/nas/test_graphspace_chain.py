"""Chained growth (``GraphSpace(chain=True)``): a mutant is its parent's edits plus new
ones, starting from the parent's trained weights; warm-up samples stay within ``first``
edits; the edit list redraws its last edit when full. Checked on decision dicts and
lineage written out by hand, not against the code's own output."""

from __future__ import annotations

import random

import pytest
import torch

from nas import GraphSpace, SpaceError, Traced, compile_graph
from nas.graphspace import edit_count, start_weights
from nas.graphspace._chain import extend
from nas.graphspace._seed import settings
from search_spaces.reference import mnist1d_paper_cnn

GROW = ("normalize", "widen_all", "deepen_block", "widen")


def space(**kw) -> GraphSpace:
    """A chained space of the paper's CNN as a trained seed (so children inherit)."""
    graph = mnist1d_paper_cnn()
    torch.manual_seed(0)
    seed = Traced(graph, dict(compile_graph(graph).state_dict()))
    return GraphSpace(seed, edits=GROW, max_edits=6, chain=True, **kw)


def test_extend_keeps_the_parent_and_appends():
    parent = {"edit_0": "widen", "edit_0_site": 3, "edit_0_arg": 5,
              "edit_1": "normalize", "edit_1_site": 0, "edit_2": "none"}
    child = extend(parent, ("deepen_block",), 5, 2, random.Random(0))
    assert child == {"edit_0": "widen", "edit_0_site": 3, "edit_0_arg": 5,
                     "edit_1": "normalize", "edit_1_site": 0,
                     "edit_2": "deepen_block", "edit_3": "deepen_block", "edit_4": "none"}


def test_extend_redraws_the_last_edit_when_full():
    parent = {"edit_0": "widen", "edit_0_site": 3, "edit_0_arg": 5,
              "edit_1": "normalize", "edit_1_site": 9}
    child = extend(parent, ("deepen_block",), 2, 1, random.Random(0))
    assert child == {"edit_0": "widen", "edit_0_site": 3, "edit_0_arg": 5,
                     "edit_1": "deepen_block"}


def test_mutants_chain_and_start_from_the_trained_parent():
    sp, rng = space(), random.Random(1)
    decisions = sp.sample(rng)
    graph, decisions, _ = sp.try_resolve(decisions)
    for _ in range(4):  # four generations
        before = graph.meta["lineage"]["edits"]
        trained = {k: v + 1.0 for k, v in start_weights(graph).items()}  # "training"
        sp.remember(graph.fingerprint(), trained)
        child, cdec, error = sp.try_resolve(sp.mutate(decisions, rng))
        assert error is None
        lineage = child.meta["lineage"]
        assert lineage["edits"][:len(before)] == before
        assert len(lineage["edits"]) == len(before) + 1
        assert lineage["weights_from"] == graph.fingerprint()
        assert edit_count(cdec, sp.max_edits) == len(before) + 1
        if "linear" in child:  # a node the parent had starts from its trained weights
            assert torch.equal(start_weights(child)["linear.bias"], trained["linear.bias"])
        graph, decisions = child, cdec


def test_warm_up_samples_stay_within_first_edits():
    sp, rng = space(first=2), random.Random(0)
    counts = {edit_count(sp.sample(rng), sp.max_edits) for _ in range(40)}
    assert counts <= {0, 1, 2} and 2 in counts
    plain = GraphSpace(mnist1d_paper_cnn(), edits=GROW, max_edits=6)
    assert max(edit_count(plain.sample(rng), 6) for _ in range(40)) > 2


def test_plain_mutation_is_unchanged_without_chain():
    sp = GraphSpace(mnist1d_paper_cnn(), edits=GROW, max_edits=6)
    ref = GraphSpace(mnist1d_paper_cnn(), edits=GROW, max_edits=6)
    d = sp.sample(random.Random(4))
    from nas.space import Space

    assert sp.mutate(d, random.Random(7)) == Space.mutate(ref, d, random.Random(7))


def test_settings_read_cli_text_and_reject_bad_values():
    out = settings(chain="true", append="2", max_edits="12")
    assert out["chain"] is True and out["append"] == 2 and out["max_edits"] == 12
    with pytest.raises(SpaceError, match="chain must be true or false"):
        settings(chain="maybe")
    with pytest.raises(SpaceError, match="append must be an int"):
        settings(append="x")


def test_chained_search_runs_with_evolution(tmp_path):
    import nas

    st = nas.search(from_model=mnist1d_paper_cnn(), task="mnist1d", strategy="evolution",
                    trials=5, budget="5steps", seed=0, device="cpu", edits=list(GROW),
                    max_edits=6, space_config={"chain": True}, progress=False,
                    strategy_options={"population": 2, "warmup": 1})
    done = st.completed()
    assert len(done) == 5
    lengths = [len(t.attrs["lineage"]["edits"]) for t in done]
    assert lengths[0] <= 1 and max(lengths) >= 2  # the warm-up near the seed, then chains
