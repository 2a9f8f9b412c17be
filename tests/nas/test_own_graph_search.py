"""``nas.search(data=graphs)``: one graph or a set of graphs searched with ``space="auto"``
(which picks ``gnn`` and says why), stored in the run folder as ``.npz`` and read back by
a moved run, ``nas status``, ``nas resume`` and ``nas train`` without registering
anything."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from cli_helpers import nas_cli

import nas
from nas.config import SearchConfig
from nas.settings import ConfigError

TINY = {"trials": 1, "budget": "3steps", "strategy": "random", "device": "cpu"}


def both_ways(edges: list[tuple[int, int]]) -> np.ndarray:
    e = np.array(edges).T
    return np.concatenate([e, e[::-1]], axis=1)


def two_triangles() -> dict:
    """Nodes 0-2 and 3-5, two triangles joined by the edge 2-3; labelled by triangle."""
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    edges = both_ways([(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)])
    return {"x": x, "edge_index": edges, "y": np.array([0, 0, 0, 1, 1, 1]),
            "train_mask": np.array([1, 0, 1, 1, 0, 1], bool),
            "val_mask": np.array([0, 1, 0, 0, 1, 0], bool), "test_mask": np.zeros(6, bool)}


def stars_and_paths(k: int = 10) -> list[dict]:
    out = []
    for i in range(k):
        n = 4 + i % 3
        edges = [(0, j) for j in range(1, n)] if i % 2 else [(j, j + 1) for j in range(n - 1)]
        out.append({"x": np.ones((n, 1), np.float32), "edge_index": both_ways(edges),
                    "y": i % 2})
    return out


def test_one_graph_searches_with_space_auto_and_is_stored(tmp_path, capsys):
    st = nas.search("auto", data=two_triangles(), run_dir=tmp_path / "run", **TINY)
    assert st.config["space"] == "gnn" and st.config["data"] == "data.npz"
    assert st.finished_count() == 1 and st.best is not None
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("data: a graph, 6 nodes (4 features) and 14 edges; node "
                        "classification with 2 classes; train/val/test nodes 4/2/0")
    assert lines[1] == "space: gnn (auto: graph inputs (edge_index), node classification)"
    with np.load(tmp_path / "run" / "data.npz", allow_pickle=False) as f:
        assert f["edge_index"].tolist() == two_triangles()["edge_index"].tolist()
        assert f["val"].tolist() == [1, 4]


def test_a_set_of_graphs_is_read_back_by_a_moved_run(tmp_path):
    st = nas.search("auto", data=stars_and_paths(), run_dir=tmp_path / "run", **TINY)
    assert st.config["space"] == "gnn" and st.best is not None
    config = SearchConfig.from_dict(st.config)
    moved = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "run", moved)
    shutil.rmtree(tmp_path / "run")
    from nas.worker import live_config

    task = live_config(config, moved).task_object()
    assert task.space_config == {"level": "graph"} and task.n_out == 2
    assert len(task.raw["y"]) == 10 and task.raw["graph_of_node"].max() == 9


def test_bad_graph_data_is_a_config_error_before_anything_is_stored(tmp_path):
    bad = {**two_triangles(), "edge_index": np.array([[0, 6], [6, 0]])}
    with pytest.raises(ConfigError, match="data: the graph: edge_index holds node 6 but x "
                                          "has 6 nodes") as info:
        nas.search("auto", data=bad, run_dir=tmp_path / "run", **TINY)
    assert info.value.key == "data" and not (tmp_path / "run").exists()


@pytest.mark.slow
def test_nas_status_resume_and_train_read_the_stored_graph(tmp_path):
    run = tmp_path / "run"
    nas.search("auto", data=two_triangles(), run_dir=run, progress=False, **TINY)
    status = nas_cli("status", str(run), check=True)
    assert "arrays" in status.stdout and "gnn" in status.stdout
    nas_cli("resume", str(run), "--trials", "2", check=True)
    st = nas.Study.load(nas.open_storage(None, run))
    assert st.finished_count() == 2 and all(r.result.ok for r in st.trials())
    res = nas_cli("train", str(run), "--steps", "3", "--out", str(tmp_path / "trained"),
                  check=True)
    assert "val_acc" in res.stdout
