"""One way to build a graph: a space's Builder goes through ArchGraph.add_node, so a
hand-built graph and a sampled one are checked alike; the networkx view follows every
change; prune keeps the order; the text renderings live in nas.render."""

from __future__ import annotations

import pytest

from nas import ArchGraph, GraphError, Space, render


def _graph_with_a_late_input() -> ArchGraph:
    """Two inputs, the second declared after the ops on the first, and one dead node."""
    g = ArchGraph()
    g.add_input("x", (4,))
    g.add_node("a", "linear", {"features": 3}, ["x"])
    g.add_node("dead", "relu", {}, ["a"])
    g.add_input("z", (3,))
    g.add_node("s", "add", {}, ["a", "z"])
    g.set_output("y", "s")
    return g


def test_add_node_checks_arity_at_once_and_validate_checks_json():
    g = ArchGraph()
    g.add_input("x", (4,))
    with pytest.raises(GraphError, match="op 'relu' takes 1 input") as err:
        g.add_node("a", "relu", {}, ["x", "x"])
    assert err.value.node == "a" and "a" not in g
    g.add_node("a", "relu", {}, ["x", "x"], resolve=False)  # as read from JSON
    g.set_output("y", "a")
    with pytest.raises(GraphError, match="op 'relu' takes 1 input"):
        g.validate()


def test_a_space_gets_the_graphs_own_errors():
    def fn(b, in_shape, n_out):
        x = b.input(in_shape)
        return b.op("add", x) if b.bool("one") else b.op("linear", x, widht=3)

    space = Space(fn, (4,), 2)
    for one, match in ((True, "op 'add' takes at least 2 input"), (False, "no parameter")):
        with pytest.raises(GraphError, match=match) as err:
            space.build({"one": one})
        assert err.value.node in ("add_0", "linear_0")


def test_a_built_candidate_keeps_the_builders_node_order():
    def fn(b, in_shape, n_out):
        a = b.op("linear", b.input(in_shape), features=3)
        b.op("relu", a)  # reaches no output: left out
        return b.op("add", a, b.input((3,), name="z"))

    graph = Space(fn, (4,), 2).build({})
    assert [n.id for n in graph.nodes(include_inputs=True)] == ["x", "linear_0", "z", "add_0"]
    assert graph.fingerprint() == Space(fn, (4,), 2).fingerprint({})


def test_prune_drops_dead_nodes_and_keeps_the_order():
    g = _graph_with_a_late_input()
    p = g.prune()
    assert [n.id for n in p.nodes(include_inputs=True)] == ["x", "a", "z", "s"]
    again = p.prune()  # nothing to drop: still a copy in the same order
    assert again is not p and again.nodes(include_inputs=True) == p.nodes(include_inputs=True)
    assert p.fingerprint() == g.fingerprint()
    p.validate()


def test_the_networkx_view_follows_later_changes():
    g = ArchGraph()
    g.add_input("x", (4,))
    g.add_node("a", "relu", {}, ["x"])
    g.set_output("y", "a")
    assert g.topological_order() == ["a"] and set(g.nx.nodes) == {"x", "a"}
    g.add_node("b", "tanh", {}, ["a"])
    g.set_output("y", "b")
    assert g.topological_order() == ["a", "b"] and set(g.nx.edges) == {("x", "a"), ("a", "b")}


def test_forward_references_and_cycles_are_still_found():
    g = ArchGraph()
    g.add_input("x", (4,))
    g.add_node("a", "add", {}, ["x", "b"], resolve=False)
    g.add_node("b", "relu", {}, ["a"], resolve=False)
    g.set_output("y", "b")
    with pytest.raises(GraphError, match="cycle"):
        g.validate()
    late = ArchGraph()
    late.add_input("x", (4,))
    late.add_node("b", "relu", {}, ["a"], resolve=False)  # "a" comes later: no cycle
    late.add_node("a", "relu", {}, ["x"], resolve=False)
    late.set_output("y", "b")
    assert late.validate().topological_order() == ["a", "b"]


def test_shape_of_is_what_infer_shapes_gives():
    g = _graph_with_a_late_input().prune()
    shapes = g.infer_shapes()
    assert g.shape_of("s", {"a": (3,), "z": (3,)}) == shapes["s"] == (3,)


def test_render_module_is_what_the_methods_return():
    g = _graph_with_a_late_input().prune()
    assert set(render.FORMATS) == {"summary", "mermaid", "dot"}
    assert render.summary(g) == g.summary() and render.to_dot(g) == g.to_dot()
    assert render.to_mermaid(g) == g.to_mermaid()
    lines = g.to_mermaid().splitlines()
    assert lines.index('    z[/"z"/]') > lines.index('    a["a: linear(features=3, bias=True)"]')
    assert render.brief({}) == "" and render.brief({"k": 3}) == "(k=3)"
