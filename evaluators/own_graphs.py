"""Graph data as ``data=``: one graph (node classification) or a set of graphs (graph
classification), checked, stored as one ``.npz`` (no pickle) and trained as the ``gnn``
space's built-in graph tasks are (``evaluators.graphs``: the same inputs and batches).

One graph: a mapping, or an object with attributes (torch_geometric's ``Data``), with
``x`` (N, F) node features, ``edge_index`` (2, E) node ids and ``y`` (N,) node labels;
``train_mask`` / ``val_mask`` / ``test_mask`` (N,) booleans, when given, are the splits
(else ``val_size`` / ``test_size`` of the nodes). A set: a list of such graphs with one
label ``y`` each, or a dataset of them (torch_geometric's ``InMemoryDataset``); splits
are ``val_size`` / ``test_size`` of the graphs. Edges are used as given (an undirected
edge is listed in both directions, as torch_geometric does); features are not rescaled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from evaluators.choose_space import choose_space
from evaluators.graphs import GraphClasses, NodeClassification
from evaluators.multi_input import TensorTask
from evaluators.recipe import TrainConfig
from evaluators.splits import split_indices

MAX_BYTES = 2 * 1024 ** 3  # data a run folder takes
MASKS = ("train_mask", "val_mask", "test_mask")
SPLITS = ("train", "val", "test")
MIN_GRAPHS = 3  # one each for training, validation and test


def is_graph_data(data) -> bool:
    """True for one graph, a list or dataset of graphs, or an ``.npz`` holding one."""
    if isinstance(data, str | Path):
        path = Path(data)
        if path.suffix != ".npz" or not path.is_file():
            return False
        with np.load(path, allow_pickle=False) as f:
            return "edge_index" in f.files
    if _is_graph(data):
        return True
    if isinstance(data, np.ndarray | torch.Tensor) or hasattr(data, "columns") or not (
            hasattr(data, "__len__") and hasattr(data, "__getitem__")):
        return False
    try:
        return len(data) > 0 and _is_graph(data[0])
    except Exception:  # a Dataset that cannot hand out item 0 is not graph data
        return False


def _is_graph(g) -> bool:
    if isinstance(g, Mapping):
        return "edge_index" in g
    return hasattr(g, "edge_index") and not isinstance(g, type)


def _get(g, key: str):
    return g.get(key) if isinstance(g, Mapping) else getattr(g, key, None)


def _numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


# ---------------------------------------------------------------- checking one graph
def graph_arrays(g, where: str, level: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x (N, F) float32, edge_index (2, E) int64, y)`` of one graph, checked; a bad
    graph raises a one-line ``ValueError`` starting with ``where``."""
    for key in ("x", "edge_index", "y"):
        if _get(g, key) is None:
            raise ValueError(f"{where} has no {key}: give x (nodes, features), "
                             "edge_index (2, edges) and y (labels)")
    x = _numpy(_get(g, "x"))
    x = x[:, None] if x.ndim == 1 else x
    if x.ndim != 2 or x.dtype.kind not in "biuf":
        raise ValueError(f"{where}: x must be numbers of shape (nodes, features), got "
                         f"{x.dtype} of shape {x.shape}")
    if not np.isfinite(x.astype(np.float32)).all():
        raise ValueError(f"{where}: x has NaN or infinite values: drop or fill them first")
    edges = _edges(_numpy(_get(g, "edge_index")), len(x), where)
    y = _numpy(_get(g, "y"))
    y = y.astype(str) if y.dtype == object else y
    if level == "graph":
        if y.size != 1:
            raise ValueError(f"{where}: y has {y.size} values; a graph of a set has one "
                             "label (node labels: pass one graph, not a list)")
        y = y.reshape(())
    elif y.reshape(len(y) if y.ndim else 1, -1).shape != (len(x), 1):
        raise ValueError(f"{where}: y has {len(y) if y.ndim else 1} labels of shape "
                         f"{y.shape[1:]} but x has {len(x)} nodes: give one label per node")
    return x.astype(np.float32), edges, y.reshape(-1) if level == "node" else y


def _edges(e: np.ndarray, n: int, where: str) -> np.ndarray:
    if e.ndim != 2 or e.shape[0] != 2:
        hint = ": transpose it (edge_index.T)" if e.ndim == 2 and e.shape[1] == 2 else ""
        raise ValueError(f"{where}: edge_index must have shape (2, edges), got "
                         f"{e.shape}{hint}")
    if e.size and e.dtype.kind not in "iu":
        raise ValueError(f"{where}: edge_index must hold integer node ids, got {e.dtype}")
    if e.size and (e.min() < 0 or e.max() >= n):
        bad = int(e.min()) if e.min() < 0 else int(e.max())
        raise ValueError(f"{where}: edge_index holds node {bad} but x has {n} nodes "
                         f"(ids 0..{n - 1})")
    return e.astype(np.int64)


def _labels_of(y: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, codes)``; float labels that are not whole numbers are refused."""
    if y.dtype.kind in "fc":
        if not np.isfinite(y).all() or (y != np.round(y)).any():
            raise ValueError(f"{where}: y holds fractional or NaN values; graph data takes "
                             "class labels (integers or text), regression is not supported")
        y = y.astype(np.int64)
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"{where}: y has a single class ({classes[0]!r}): nothing to learn")
    return classes, codes.astype(np.int64)


# ---------------------------------------------------------------- the stored arrays
def node_arrays(g, val_size, test_size, split_seed: int) -> dict[str, np.ndarray]:
    """One graph's arrays and node splits (its masks, else drawn with ``split_seed``)."""
    x, edges, y = graph_arrays(g, "the graph", "node")
    masks = [_get(g, m) for m in MASKS]
    if all(m is None for m in masks):
        splits = split_indices(len(x), val_size, test_size, seed=split_seed)
    else:
        splits = tuple(_mask_ids(m, name, len(x)) for m, name in zip(masks, MASKS))
    return {"x": x, "edge_index": edges, "y": y, **dict(zip(SPLITS, splits))}


def _mask_ids(mask, name: str, n: int) -> np.ndarray:
    if mask is None:
        raise ValueError(f"the graph has some masks but no {name}: give train_mask, "
                         "val_mask and test_mask, or none (then val_size/test_size split)")
    m = _numpy(mask)
    if m.dtype != bool or m.shape != (n,):
        raise ValueError(f"the graph's {name} must be {n} booleans (one per node), got "
                         f"{m.dtype} of shape {m.shape}")
    if name != "test_mask" and not m.any():
        raise ValueError(f"the graph's {name} selects no node")
    return np.flatnonzero(m)


def set_arrays(graphs, val_size, test_size, split_seed: int) -> dict[str, np.ndarray]:
    """A set of graphs as one disjoint union (``graph_of_node``), with graph splits."""
    n = len(graphs)
    if n < MIN_GRAPHS:
        one = "; for node classification pass the graph itself, not a list" if n == 1 else ""
        raise ValueError(f"a set of {n} graphs is too small: give at least {MIN_GRAPHS} "
                         f"(training, validation and test){one}")
    xs, edges, owner, ys, offset = [], [], [], [], 0
    for i in range(n):
        x, e, y = graph_arrays(graphs[i], f"graph {i}", "graph")
        if x.shape[1] != (xs[0].shape[1] if xs else x.shape[1]):
            raise ValueError(f"graph {i} has {x.shape[1]} node features, graph 0 has "
                             f"{xs[0].shape[1]}: give every graph the same features")
        xs.append(x)
        edges.append(e + offset)
        owner.append(np.full(len(x), i, dtype=np.int64))
        ys.append(y)
        offset += len(x)
    splits = split_indices(n, val_size, test_size, seed=split_seed)
    return {"x": np.concatenate(xs), "edge_index": np.concatenate(edges, axis=1),
            "graph_of_node": np.concatenate(owner), "y": np.stack(ys),
            **dict(zip(SPLITS, splits))}


def load_graph_data(data, val_size, test_size, split_seed: int,
                    ) -> tuple[dict[str, np.ndarray], str]:
    """``(arrays, description)`` of any graph ``data``: one graph, a set, or an .npz."""
    if isinstance(data, str | Path):
        with np.load(data, allow_pickle=False) as f:
            missing = [k for k in ("x", "y", *SPLITS) if k not in f.files]
            if missing:
                raise ValueError(f"'{data}' has edge_index but no {', '.join(missing)}: "
                                 "graph data files are written by a search (data.npz)")
            arrays = {k: f[k] for k in f.files}
        return arrays, f"'{Path(data).name}'"
    if _is_graph(data):
        return node_arrays(data, val_size, test_size, split_seed), "a graph"
    return set_arrays(data, val_size, test_size, split_seed), "a list of graphs"


# ---------------------------------------------------------------- the tasks
class _OwnGraph:
    """What a graph task of your own data adds: labels, ``save``, ``summary`` and the
    space ``space="auto"`` takes."""

    name = "arrays"
    kind = "classification"
    tokens = False
    features = None

    def _setup(self, arrays: dict[str, np.ndarray], source: str,
               config: TrainConfig | dict | None) -> dict[str, torch.Tensor]:
        self.raw, self.source = arrays, source
        self.classes, codes = _labels_of(arrays["y"], source)
        conf = dataclasses.asdict(config) if isinstance(config, TrainConfig) else config
        self.options = {"kind": "classification", "config": dict(conf) if conf else None}
        level = "graph" if "graph_of_node" in arrays else "node"
        space, reason = choose_space(arrays["x"], graph=True)
        self.auto_space = (space, f"{reason}, {level} classification")
        tensors = {k: torch.as_tensor(v) for k, v in arrays.items() if k != "y"}
        return {**tensors, "y": torch.as_tensor(codes)}

    def save(self, path: str | Path) -> dict:
        """Write the graph(s) and splits to ``path`` (.npz, read without pickle); return
        the task options that rebuild this task from it."""
        size = sum(a.nbytes for a in self.raw.values())
        if size > MAX_BYTES:
            raise ValueError(f"the graph data takes {size / 2**30:.1f} GiB, more than a run "
                             f"folder stores ({MAX_BYTES / 2**30:.0f} GiB)")
        np.savez(path, **self.raw)
        return {k: v for k, v in self.options.items() if v is not None}

    def summary(self) -> str:
        """One line: the graph(s), the task and the splits."""
        x, e = self.raw["x"], self.raw["edge_index"]
        sizes = "/".join(str(len(self.raw[k])) for k in SPLITS)
        if "graph_of_node" in self.raw:
            return (f"data: {self.source}, {len(self.raw['y'])} graphs of {len(x)} nodes "
                    f"({x.shape[1]} features) and {e.shape[1]} edges in all; graph "
                    f"classification with {len(self.classes)} classes; train/val/test "
                    f"graphs {sizes}")
        return (f"data: {self.source}, {len(x)} nodes ({x.shape[1]} features) and "
                f"{e.shape[1]} edges; node classification with {len(self.classes)} "
                f"classes; train/val/test nodes {sizes}")


class NodeData(_OwnGraph, NodeClassification):
    """Node classification on one graph of your own (full-batch, as ``karate``)."""

    def __init__(self, arrays: dict[str, np.ndarray], source: str,
                 config: TrainConfig | dict | None = None):
        tensors = self._setup(arrays, source, config)
        super().__init__(tensors, len(self.classes), config)


class GraphSetData(_OwnGraph, GraphClasses):
    """Graph classification on a set of your own graphs (batches of graphs as one
    disjoint union with ``graph_index``, as ``graph_classes``)."""

    def __init__(self, arrays: dict[str, np.ndarray], source: str,
                 config: TrainConfig | dict | None = None):
        tensors = self._setup(arrays, source, config)
        TensorTask.__init__(self, tensors, config)  # GraphClasses' own data is synthetic
        self.in_shape = tuple(arrays["x"].shape[1:])
        self.n_out = len(self.classes)
        self._unions = {}


def graph_task(data, target: str | None = None, features: list[str] | None = None,
               kind: str = "auto", val_size: float | int = 0.15,
               test_size: float | int = 0.15, split_seed: int = 0,
               config: TrainConfig | dict | None = None) -> NodeData | GraphSetData:
    """The task of graph ``data`` (``NodeData`` or ``GraphSetData``)."""
    if target is not None or features is not None:
        raise ValueError("graph data carries its labels in y: target= and features= are "
                         "for tables (DataFrame, CSV)")
    if kind not in ("auto", "classification"):
        raise ValueError(f"graph data supports classification only, got kind={kind!r}")
    arrays, source = load_graph_data(data, val_size, test_size, split_seed)
    cls = GraphSetData if "graph_of_node" in arrays else NodeData
    return cls(arrays, source, config)


__all__ = ["GraphSetData", "NodeData", "graph_task", "is_graph_data"]
