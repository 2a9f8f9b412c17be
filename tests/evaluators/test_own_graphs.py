"""Graph data as ``data=`` of the ``arrays`` task: one graph (node classification) or a
set of graphs (graph classification), checked in one line, stored as ``.npz`` without
pickle, batched as the built-in graph tasks batch (checked by hand-relabelled edges)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

import nas
from evaluators.own_graphs import GraphSetData, NodeData, is_graph_data

QUICK = {"batch_size": 4, "report_every": 0}


def path_graph(n: int) -> np.ndarray:
    """(2, 2(n-1)): the path 0-1-...-(n-1), each edge in both directions."""
    a = np.arange(n - 1)
    return np.stack([np.concatenate([a, a + 1]), np.concatenate([a + 1, a])])


def one_graph(n: int = 12) -> dict:
    x = np.random.default_rng(0).normal(size=(n, 3)).astype(np.float32)
    return {"x": x, "edge_index": path_graph(n), "y": np.arange(n) % 2}


def cycle(n: int) -> np.ndarray:
    a = np.arange(n)
    return np.stack([np.concatenate([a, (a + 1) % n]), np.concatenate([(a + 1) % n, a])])


def graph_set(k: int = 12) -> list[dict]:
    """``k`` graphs: even ones a cycle (label "ring"), odd ones a path ("line")."""
    out = []
    for i in range(k):
        n = 3 + i % 4
        e = cycle(n) if i % 2 == 0 else path_graph(n)
        out.append({"x": torch.full((n, 2), float(i)), "edge_index": torch.as_tensor(e),
                    "y": "ring" if i % 2 == 0 else "line"})
    return out


def test_one_graph_is_node_classification_split_over_its_nodes():
    task = nas.get_task("arrays", data=one_graph(), val_size=3, test_size=2)
    assert isinstance(task, NodeData) and task.space_config == {"level": "node"}
    assert task.in_shape == (3,) and task.n_out == 2
    sizes = [len(task.raw[k]) for k in ("train", "val", "test")]
    assert sizes == [7, 3, 2]
    all_ids = np.concatenate([task.raw[k] for k in ("train", "val", "test")])
    assert sorted(all_ids.tolist()) == list(range(12))  # a partition of the nodes
    assert task.auto_space[0] == "gnn" and "node classification" in task.auto_space[1]
    assert task.summary() == ("data: a graph, 12 nodes (3 features) and 22 edges; node "
                              "classification with 2 classes; train/val/test nodes 7/3/2")


def test_masks_choose_the_node_splits():
    g = one_graph(6)
    masks = {name: np.array(ids) for name, ids in
             [("train_mask", [1, 1, 1, 0, 0, 0]), ("val_mask", [0, 0, 0, 1, 1, 0]),
              ("test_mask", [0, 0, 0, 0, 0, 1])]}
    task = nas.get_task("arrays", data={**g, **{k: v.astype(bool) for k, v in masks.items()}})
    assert task.raw["train"].tolist() == [0, 1, 2] and task.raw["val"].tolist() == [3, 4]
    assert task.raw["test"].tolist() == [5]
    inputs, (y, idx) = task.split(task.data_on(torch.device("cpu")), "val")
    assert idx.tolist() == [3, 4] and y.tolist() == [0, 1, 0, 1, 0, 1]


def test_an_object_with_attributes_is_a_graph_as_torch_geometric_gives_it():
    g = one_graph()
    data = SimpleNamespace(x=torch.as_tensor(g["x"]), edge_index=torch.as_tensor(g["edge_index"]),
                           y=torch.as_tensor(g["y"]))
    a, b = nas.get_task("arrays", data=data), nas.get_task("arrays", data=g)
    assert all(np.array_equal(a.raw[k], b.raw[k]) for k in b.raw)


def test_a_set_of_graphs_is_graph_classification_with_unions_made_by_hand():
    graphs = graph_set()
    task = nas.get_task("arrays", data=graphs, val_size=3, test_size=3)
    assert isinstance(task, GraphSetData) and task.space_config == {"level": "graph"}
    assert task.classes.tolist() == ["line", "ring"] and task.in_shape == (2,)
    inputs, (y, _) = task.split(task.data_on(torch.device("cpu")), "val")
    ids = task.raw["val"].tolist()
    # the oracle: the chosen graphs' edges shifted by the nodes of the graphs before them
    offsets = np.cumsum([0] + [len(graphs[i]["x"]) for i in ids])
    edges = np.concatenate([graphs[i]["edge_index"].numpy() + off
                            for i, off in zip(ids, offsets)], axis=1)
    assert inputs["edge_index"].tolist() == edges.tolist()
    assert inputs["x"][:, 0].tolist() == [float(i) for i in ids
                                          for _ in range(len(graphs[i]["x"]))]
    assert inputs["graph_index"].tolist() == [j for j, i in enumerate(ids)
                                              for _ in range(len(graphs[i]["x"]))]
    assert y.tolist() == [0 if i % 2 else 1 for i in ids]  # line = 0, ring = 1
    assert "a list of graphs, 12 graphs of 54 nodes" in task.summary()


def test_a_dataset_of_graph_objects_is_a_set():
    class Graphs(torch.utils.data.Dataset):  # as torch_geometric's InMemoryDataset
        def __len__(self):
            return 12

        def __getitem__(self, i):
            return SimpleNamespace(**graph_set()[i])

    a = nas.get_task("arrays", data=Graphs())
    b = nas.get_task("arrays", data=graph_set())
    assert isinstance(a, GraphSetData) and all(np.array_equal(a.raw[k], b.raw[k]) for k in b.raw)


def test_other_data_is_not_graph_data(tmp_path):
    import pandas as pd

    x = np.zeros((4, 2))
    np.savez(tmp_path / "plain.npz", x=x, y=np.arange(4))
    for data in [(x, np.arange(4)), pd.DataFrame(x), torch.utils.data.TensorDataset(
            torch.zeros(4, 2), torch.zeros(4)), str(tmp_path / "plain.npz"), x]:
        assert not is_graph_data(data)


@pytest.mark.parametrize("data_of", [one_graph, graph_set])
def test_save_and_rebuild_from_the_npz_gives_the_same_task(tmp_path, data_of):
    task = nas.get_task("arrays", data=data_of(), config=QUICK)
    options = task.save(tmp_path / "data.npz")
    assert options == {"kind": "classification", "config": QUICK}
    with np.load(tmp_path / "data.npz", allow_pickle=False) as f:  # no pickle needed
        assert set(f.files) == set(task.raw)
    again = nas.get_task("arrays", data=str(tmp_path / "data.npz"), **options)
    assert type(again) is type(task) and again.classes.tolist() == task.classes.tolist()
    assert all(torch.equal(again.tensors[k], task.tensors[k]) for k in task.tensors)


def _bad(**change) -> dict:
    return {**one_graph(), **change}


def _set_with(i: int, **change) -> list[dict]:
    graphs = graph_set()
    graphs[i] = {**graphs[i], **change}
    return graphs


BAD = {
    "edge out of range": (_bad(edge_index=np.array([[0, 1], [1, 12]])),
                          "edge_index holds node 12 but x has 12 nodes (ids 0..11)"),
    "negative node id": (_bad(edge_index=np.array([[0, -1], [1, 0]])), "holds node -1"),
    "edges as rows": (_bad(edge_index=path_graph(12).T), "transpose it"),
    "edges of 3 rows": (_bad(edge_index=np.zeros((3, 4), int)),
                        "must have shape (2, edges), got (3, 4)"),
    "float edges": (_bad(edge_index=path_graph(12).astype(float)), "integer node ids"),
    "x of 3 dims": (_bad(x=np.zeros((12, 2, 2))), "x must be numbers of shape (nodes"),
    "NaN features": (_bad(x=np.full((12, 3), np.nan)), "NaN or infinite"),
    "fewer labels": (_bad(y=np.arange(10) % 2), "y has 10 labels of shape () but x has 12"),
    "no labels": ({"x": np.zeros((3, 1)), "edge_index": path_graph(3)}, "the graph has no y"),
    "one class": (_bad(y=np.zeros(12, int)), "single class"),
    "fractional labels": (_bad(y=np.linspace(0, 1, 12)), "regression is not supported"),
    "a missing mask": (_bad(train_mask=np.ones(12, bool)), "no val_mask"),
    "a mask of ids": (_bad(train_mask=np.arange(12), val_mask=np.arange(12),
                           test_mask=np.arange(12)), "must be 12 booleans"),
    "node labels in a set": (_set_with(2, y=np.zeros(5)),
                             "graph 2: y has 5 values; a graph of a set has one label"),
    "other features": (_set_with(3, x=torch.zeros(6, 5)),
                       "graph 3 has 5 node features, graph 0 has 2"),
    "edge out of range in a set": (_set_with(1, edge_index=torch.tensor([[0], [9]])),
                                   "graph 1: edge_index holds node 9 but x has 4 nodes"),
    "too few graphs": (graph_set(2), "a set of 2 graphs is too small"),
    "a list of one graph": ([one_graph()], "pass the graph itself, not a list"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_graph_data_fails_in_one_line(case):
    data, message = BAD[case]
    with pytest.raises(ValueError) as info:
        nas.get_task("arrays", data=data)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_table_options_are_refused_for_graphs():
    with pytest.raises(ValueError, match="target= and features= are for tables"):
        nas.get_task("arrays", data=one_graph(), target="y")
    with pytest.raises(ValueError, match="classification only"):
        nas.get_task("arrays", data=one_graph(), kind="regression")


@pytest.mark.parametrize("data_of", [one_graph, graph_set])
def test_a_gnn_trains_on_the_task(data_of):
    task = nas.get_task("arrays", data=data_of(), config=QUICK)
    space = nas.get_space("gnn", in_shape=task.in_shape, n_out=task.n_out,
                          **task.space_config)
    graph = space.build(space.sample_valid(0))
    result = task.evaluate(graph, budget="3steps", seed=0, device="cpu")
    assert result.ok, result.error
    assert 0.0 <= result.objectives["val_acc"] <= 1.0 and "test_acc" in result.metrics
