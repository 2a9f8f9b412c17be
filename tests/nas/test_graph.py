"""ArchGraph: JSON round trip, fingerprint, validation errors, renderings."""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nas import ArchGraph, GraphError, ShapeError, UnknownOpError, compile_graph

UNARY = ["relu", "gelu", "tanh", "sigmoid", "identity", "layer_norm", "dropout"]


@st.composite
def random_graphs(draw):
    """Random valid graphs over vector features: unary ops, linears, adds and concats."""
    g = ArchGraph()
    width = draw(st.integers(2, 6))
    g.add_input("x", (width,))
    live = ["x"]
    n = draw(st.integers(1, 10))
    for i in range(n):
        kind = draw(st.sampled_from(["unary", "linear", "add", "concat"]))
        src = draw(st.sampled_from(live))
        nid = f"n{i}"
        if kind == "unary":
            g.add_node(nid, draw(st.sampled_from(UNARY)), {}, [src])
        elif kind == "linear":
            g.add_node(nid, "linear", {"features": draw(st.integers(1, 8))}, [src])
        else:
            other = draw(st.sampled_from(live))
            op = "add" if kind == "add" else "concat"
            g.add_node(nid, op, {} if op == "add" else {"axis": -1}, [src, other])
        live.append(nid)
    # every node feeds the output: sum every leaf into one result
    leaves = [v for v in live[1:] if not any(v in g.node(u).inputs for u in live[1:])]
    out = leaves[0]
    if len(leaves) > 1:
        out = g.add_node("out", "concat", {"axis": -1}, leaves)
    g.set_output("y", out)
    return g


def renamed(g: ArchGraph, prefix: str = "r_") -> ArchGraph:
    """The same graph with every operation node renamed and inserted in reverse order."""
    new = {n.id: prefix + n.id for n in g.nodes()}
    h = ArchGraph()
    for name, spec in g.inputs.items():
        h.add_input(name, spec.shape, spec.kind, spec.vocab)
    for n in reversed(g.nodes()):
        h.add_node(new[n.id], n.op, n.params, [new.get(i, i) for i in n.inputs])
    for name, src in g.outputs.items():
        h.set_output(name, new.get(src, src))
    return h


@settings(max_examples=60, deadline=None)
@given(random_graphs())
def test_json_round_trip_is_exact(g):
    g.validate()
    text = g.to_json()
    back = ArchGraph.from_json(text)
    assert back == g
    assert back.to_json() == text
    assert back.fingerprint() == g.fingerprint()


@settings(max_examples=60, deadline=None)
@given(random_graphs())
def test_fingerprint_ignores_node_names(g):
    assert renamed(g).fingerprint() == g.fingerprint()
    assert renamed(g) != g  # the graphs differ, only the fingerprint agrees


@settings(max_examples=60, deadline=None)
@given(random_graphs(), st.data())
def test_fingerprint_changes_with_an_op(g, data):
    swappable = [n for n in g.nodes() if n.op in UNARY]
    assume(swappable)  # hypothesis draws others, and fails the test if it never can
    target = data.draw(st.sampled_from(swappable))
    new_op = data.draw(st.sampled_from([o for o in UNARY if o != target.op]))
    h = ArchGraph.from_dict(g.to_dict())
    d = h.to_dict()
    for n in d["nodes"]:
        if n["id"] == target.id:
            n["op"] = new_op
            n["params"] = {"p": 0.1} if new_op == "dropout" else (
                {"eps": 1e-5} if new_op == "layer_norm" else {})
    assert ArchGraph.from_dict(d).fingerprint() != g.fingerprint()


def _chain(params=None) -> ArchGraph:
    g = ArchGraph()
    g.add_input("x", (1, 40))
    g.add_node("c", "conv1d", params or {"channels": 4, "kernel": 3}, ["x"])
    g.add_node("f", "flatten", {}, ["c"])
    g.add_node("h", "linear", {"features": 10}, ["f"])
    g.set_output("y", "h")
    return g


def test_fingerprint_changes_with_a_param_and_ignores_defaults():
    a = _chain({"channels": 4, "kernel": 3})
    b = _chain({"channels": 4, "kernel": 5})
    c = _chain({"channels": 4, "kernel": 3, "stride": 1})  # stride 1 is the default
    assert a.fingerprint() != b.fingerprint()
    assert a.fingerprint() == c.fingerprint()


def test_json_has_format_version_and_rejects_newer():
    d = json.loads(_chain().to_json())
    assert d["format"] == "nas-toolkit/archgraph" and d["version"] == 1
    d["version"] = 99
    with pytest.raises(GraphError, match="newer"):
        ArchGraph.from_dict(d)
    with pytest.raises(GraphError, match="not an ArchGraph"):
        ArchGraph.from_dict({"nodes": []})
    with pytest.raises(GraphError, match="does not parse"):
        ArchGraph.from_json("{nope")


# ----------------------------------------------------------------- bad input


def _doc(nodes, outputs=None):
    return {"format": "nas-toolkit/archgraph", "version": 1,
            "inputs": {"x": {"shape": [4], "kind": "tensor"}}, "nodes": nodes,
            "outputs": outputs or {"y": nodes[-1]["id"]}}


def test_cycle_names_a_node():
    g = ArchGraph.from_dict(_doc([
        {"id": "a", "op": "add", "params": {}, "inputs": ["x", "b"]},
        {"id": "b", "op": "relu", "params": {}, "inputs": ["a"]},
    ]))
    with pytest.raises(GraphError, match="cycle") as err:
        g.validate()
    assert err.value.node in {"a", "b"}


def test_missing_input_names_the_node():
    g = ArchGraph.from_dict(_doc([{"id": "a", "op": "relu", "params": {}, "inputs": ["ghost"]}]))
    with pytest.raises(GraphError, match="'ghost' does not exist") as err:
        g.validate()
    assert err.value.node == "a"


def test_wrong_arity_names_the_node():
    g = ArchGraph.from_dict(_doc([{"id": "a", "op": "relu", "params": {},
                                   "inputs": ["x", "x"]}]))
    with pytest.raises(GraphError, match="takes 1 input") as err:
        g.validate()
    assert err.value.node == "a"


def test_unknown_op_names_the_node_and_suggests():
    g = ArchGraph.from_dict(_doc([{"id": "a", "op": "reluu", "params": {}, "inputs": ["x"]}]))
    with pytest.raises(UnknownOpError, match="did you mean relu") as err:
        g.validate()
    assert err.value.node == "a"
    with pytest.raises(UnknownOpError):
        ArchGraph().add_node("b", "no_such_op", {}, [])


def test_incompatible_shapes_name_node_and_shapes():
    g = ArchGraph()
    g.add_input("x", (3, 8))
    g.add_input("z", (5, 7))
    g.add_node("cat", "concat", {"axis": 0}, ["x", "z"])
    g.set_output("y", "cat")
    with pytest.raises(ShapeError, match=r"\(3, 8\), \(5, 7\)") as err:
        compile_graph(g)
    assert err.value.node == "cat"


def test_too_small_input_for_kernel_is_a_shape_error():
    g = ArchGraph()
    g.add_input("x", (1, 3))
    g.add_node("c", "conv1d", {"channels": 2, "kernel": 7, "padding": 0}, ["x"])
    g.set_output("y", "c")
    with pytest.raises(ShapeError) as err:
        g.infer_shapes()
    assert err.value.node == "c" and "(1, 3)" in str(err.value)


def test_bad_params_and_ids():
    g = ArchGraph()
    g.add_input("x", (4,))
    with pytest.raises(GraphError, match="needs parameter 'features'"):
        g.add_node("l", "linear", {}, ["x"])
    with pytest.raises(GraphError, match="no parameter"):
        g.add_node("l", "linear", {"features": 3, "widht": 2}, ["x"])
    with pytest.raises(GraphError, match="identifiers"):
        g.add_node("bad id", "relu", {}, ["x"])
    with pytest.raises(GraphError, match="reserved"):
        g.add_node("forward", "relu", {}, ["x"])
    g.add_node("r", "relu", {}, ["x"])
    with pytest.raises(GraphError, match="already exists"):
        g.add_node("r", "relu", {}, ["x"])


def test_dead_node_is_reported_and_prune_removes_it():
    g = _chain()
    g.add_node("dead", "relu", {}, ["x"])
    with pytest.raises(GraphError, match="does not contribute") as err:
        g.validate()
    assert err.value.node == "dead"
    p = g.prune().validate()
    assert "dead" not in p and p.fingerprint() == g.fingerprint() == _chain().fingerprint()


def test_no_outputs_or_inputs():
    with pytest.raises(GraphError, match="no inputs"):
        ArchGraph().validate()
    g = ArchGraph()
    g.add_input("x", (3,))
    with pytest.raises(GraphError, match="no outputs"):
        g.validate()


# ----------------------------------------------------------------- renderings


def test_text_renderings_mention_every_node():
    g = _chain()
    for text in (g.to_mermaid(), g.to_dot(), g.summary()):
        for nid in ("x", "c", "f", "h"):
            assert nid in text
    assert g.to_mermaid().startswith("flowchart")
    assert g.to_dot().startswith("digraph")
    assert "(10,)" in g.summary()  # output shapes are shown
    assert len(g.summary().splitlines()) < 30


def test_multiple_inputs_and_outputs_compile():
    import torch

    g = ArchGraph()
    g.add_input("a", (6,))
    g.add_input("b", (6,))
    g.add_node("s", "add", {}, ["a", "b"])
    g.add_node("mu", "linear", {"features": 3}, ["s"])
    g.add_node("lv", "linear", {"features": 3}, ["s"])
    g.set_output("mu", "mu")
    g.set_output("logvar", "lv")
    m = compile_graph(g)
    mu, lv = m(torch.randn(2, 6), torch.randn(2, 6))
    assert mu.shape == lv.shape == (2, 3)
    assert m.output_names == ("mu", "logvar")
    assert dict(m.named_children()).keys() == {"s", "mu", "lv"}
    with pytest.raises(TypeError, match="expected 2 input"):
        m(torch.randn(2, 6))
