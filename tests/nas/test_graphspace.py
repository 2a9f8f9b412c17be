"""GraphSpace: candidates are edit sequences on a seed model. The space keeps the space
contract, every edit kind builds valid graphs of the seed's output shape, lineage names
the parent (checked by rebuilding without the last edit), and morphism children start
from their parent's function (checked against the original nn.Module)."""

from __future__ import annotations

import random

import pytest
import torch
from model_helpers import paper_cnn_bn

from nas import GraphSpace, SpaceError, compile_graph, count_params, from_module
from nas.graphspace import EDITS, MORPHISMS, load_start_weights, start_weights
from nas.testing import SpaceContract
from search_spaces.reference import mnist1d_paper_cnn

paper_cnn = paper_cnn_bn


class TestGraphSpaceContract(SpaceContract):
    """The whole contract applies (the supernet test too: a supernet over edit
    sequences shares the weights of the nodes candidates have in common)."""

    @pytest.fixture
    def space_under_test(self):
        return GraphSpace(mnist1d_paper_cnn(), max_edits=2)


def resolve(space, decisions):
    graph, reached, error = space.try_resolve(decisions)
    assert error is None, error
    return graph, reached


@pytest.mark.parametrize("kind", list(EDITS))
def test_each_edit_kind_builds_valid_graphs_of_the_seed_output(kind):
    seed = mnist1d_paper_cnn()
    space = GraphSpace(seed, edits=[kind], max_edits=2)
    fps = {seed.fingerprint()}
    for site in range(0, 64, 5):
        for arg in (0, 9):
            graph, d = resolve(space, {"edit_0": kind, "edit_0_site": site, "edit_0_arg": arg,
                                       "edit_1": "none"})
            assert graph.output_shapes() == seed.output_shapes()
            out = compile_graph(graph)(torch.randn(2, 1, 40))
            assert out.shape == (2, 10)
            fps.add(graph.fingerprint())
    assert len(fps) > 2, f"edit '{kind}' reached hardly any new architecture"


def test_lineage_parent_is_the_graph_without_the_last_edit():
    space = GraphSpace(mnist1d_paper_cnn(), max_edits=3)
    rng = random.Random(5)
    checked = 0
    for _ in range(15):
        graph, d = resolve(space, space.sample(rng))
        n = sum(1 for k, v in d.items() if k.count("_") == 1 and v != "none")
        lineage = graph.meta["lineage"]
        assert lineage["seed"] == mnist1d_paper_cnn().fingerprint()
        assert len(lineage["edits"]) <= n
        if len(lineage["edits"]) == n and n >= 1:  # every edit asked found a site
            shorter = {k: v for k, v in d.items() if not k.startswith(f"edit_{n - 1}")}
            if n < space.max_edits:
                shorter.pop(f"edit_{n}", None)
            shorter[f"edit_{n - 1}"] = "none"
            assert resolve(space, shorter)[0].fingerprint() == lineage["parent"]
            checked += 1
    assert checked >= 5


def test_identical_edit_results_deduplicate():
    """Deepening after relu1 twice in either order of two sites is one architecture."""
    space = GraphSpace(mnist1d_paper_cnn(), edits=["change"], max_edits=2)
    # relu1 -> gelu, then gelu -> relu: back to the seed
    g1, d1 = resolve(space, {"edit_0": "change", "edit_0_site": 0, "edit_0_arg": 0,
                             "edit_1": "change", "edit_1_site": 0, "edit_1_arg": 0})
    assert g1.meta["lineage"]["edits"] == ["change relu1 gelu", "change relu1 relu"]
    assert g1.fingerprint() == mnist1d_paper_cnn().fingerprint()


def test_unknown_edit_and_bad_seed_are_clear_errors():
    with pytest.raises(SpaceError, match="unknown graph edit.*widen"):
        GraphSpace(mnist1d_paper_cnn(), edits=["grow_wings"])
    with pytest.raises(SpaceError, match="ArchGraph or a nas.Traced"):
        GraphSpace(paper_cnn())


# --------------------------------------------------------------------- weights


@pytest.mark.parametrize("seed", range(8))
def test_a_morphism_child_starts_with_its_parents_function(seed):
    """Through the search path (decisions -> graph -> compile -> start weights), a child
    of morphisms only computes what the traced nn.Module computes."""
    model = paper_cnn().eval()
    x = torch.randn(6, 1, 40)
    space = GraphSpace(from_module(model, (x,)), edits=MORPHISMS, max_edits=3)
    rng = random.Random(seed)
    graph = None
    while graph is None or not graph.meta["lineage"]["edits"]:  # a sample that edits
        graph, _ = resolve(space, space.sample(rng))
    from evaluators.loop import build_model

    child = build_model(graph, seed=123).eval()  # what training starts from
    with torch.no_grad():
        torch.testing.assert_close(child(x), model(x), rtol=1e-4, atol=1e-5)


def test_inherited_share_by_hand():
    model = paper_cnn()
    space = GraphSpace(from_module(model, torch.randn(2, 1, 40)), max_edits=1)
    # remove the batch norm (the first node of the input's shape): no parameter is new
    graph, _ = resolve(space, {"edit_0": "remove", "edit_0_site": 0})
    norm = next(n.id for n in space.seed.graph.nodes() if n.op == "batch_norm")
    assert graph.meta["lineage"]["edits"] == [f"remove {norm}"]
    assert graph.meta["lineage"]["inherited"] == 1.0
    # deepen after the flatten: a new 125x125 linear layer
    sites = EDITS["deepen"][0](space.seed.graph)
    flat = next(n.id for n in space.seed.graph.nodes() if n.op == "flatten")
    k = [s.nodes for s in sites].index((flat,))
    graph, _ = resolve(space, {"edit_0": "deepen", "edit_0_site": -(-k * 64 // len(sites))})
    assert graph.meta["lineage"]["edits"] == [f"deepen {flat}"]
    new = 125 * 125 + 125
    total = count_params(model) + new
    assert graph.meta["lineage"]["inherited"] == pytest.approx((total - new) / total, abs=1e-6)


def test_non_morphisms_keep_the_weights_of_kept_nodes():
    model = paper_cnn()
    traced = from_module(model, torch.randn(2, 1, 40))
    space = GraphSpace(traced, edits=["insert"], max_edits=1)
    graph, _ = resolve(space, {"edit_0": "insert", "edit_0_site": 0, "edit_0_arg": 0})
    state = start_weights(graph)
    kept = [k for k in traced.state_dict if k.split(".")[0] in graph]
    assert len(kept) == len(traced.state_dict)
    for k in kept:
        assert torch.equal(state[k], traced.state_dict[k]), k


def test_a_remembered_trained_candidate_is_the_weight_source_of_its_descendants():
    space = GraphSpace(from_module(paper_cnn(), torch.randn(2, 1, 40)), max_edits=2)
    one = {"edit_0": "change", "edit_0_site": 0, "edit_0_arg": 0, "edit_1": "none"}
    parent, _ = resolve(space, one)
    trained = {k: v + 1.0 for k, v in start_weights(parent).items()}  # "trained"
    space.remember(parent.fingerprint(), trained)
    child, _ = resolve(space, {**one, "edit_1": "remove", "edit_1_site": 63})
    lineage = child.meta["lineage"]
    assert lineage["weights_from"] == lineage["parent"] == parent.fingerprint()
    state = start_weights(child)
    for k, v in state.items():
        assert torch.equal(v, trained[k]), k
    module = compile_graph(child)
    assert load_start_weights(module, child)


def test_a_seed_graph_without_weights_starts_fresh():
    space = GraphSpace(mnist1d_paper_cnn(), max_edits=1)
    graph, _ = resolve(space, {"edit_0": "widen", "edit_0_site": 0, "edit_0_arg": 0})
    assert start_weights(graph) is None
    assert graph.meta["lineage"]["inherited"] == 0.0
