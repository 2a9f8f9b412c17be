"""Graph tasks for the ``gnn`` space: node classification (karate club, a stochastic
block model) and graph classification (synthetic graph families), all built offline
with networkx and a fixed seed.

Models take ``x`` (N, F), ``edge_index`` (2, E) (every undirected edge in both
directions) and, for graph classification, ``graph_index`` (N,): the inputs the
``gnn`` space declares. Bind a space with ``nas.get_space("gnn", in_shape=task.in_shape,
n_out=task.n_out, **task.space_config)``.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import torch
import torch.nn.functional as F

from evaluators.measure import trained_metrics
from evaluators.multi_input import Inputs as Tensors
from evaluators.multi_input import TensorTask
from evaluators.recipe import TrainConfig
from evaluators.splits import split_indices
from nas import Budget, register_task


def edge_index(graph: nx.Graph) -> torch.Tensor:
    """(2, 2E) long: every edge of an undirected graph in both directions."""
    edges = np.array(list(graph.edges()), dtype=np.int64).reshape(-1, 2)
    both = np.concatenate([edges, edges[:, ::-1]]).T  # (2, 2E)
    return torch.as_tensor(np.ascontiguousarray(both))


def degree_one_hot(graph: nx.Graph, max_degree: int) -> torch.Tensor:
    """(N, max_degree + 1) float: one-hot node degree, degrees above ``max_degree`` clipped."""
    deg = torch.tensor([d for _, d in sorted(graph.degree())]).clamp(max=max_degree)
    return F.one_hot(deg, max_degree + 1).float()


class _GraphTask(TensorTask):
    """Shared parts: the objective, the loss and the scores (``evaluate``: ``TensorTask``)."""

    name = "graph"
    objective = ("val_acc", "max")
    default_budget = Budget(200, "steps")
    space_config: dict = {"level": "node"}

    def loss(self, out: torch.Tensor, target, label_smoothing: float = 0.0) -> torch.Tensor:
        y, idx = target
        return F.cross_entropy(out[idx], y[idx], label_smoothing=label_smoothing)

    metrics = trained_metrics({"acc": "max", "loss": "min"})  # what a run reports

    def score(self, out: torch.Tensor, target) -> dict[str, float]:
        y, idx = target
        out, y = out[idx], y[idx]
        return {"acc": (out.argmax(1) == y).float().mean().item(),
                "loss": F.cross_entropy(out, y).item()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(in_shape={self.in_shape}, n_out={self.n_out})"


class NodeClassification(_GraphTask):
    """One graph; each split is a disjoint set of labelled nodes (full-batch training).

    ``tensors``: ``x`` (N, F), ``edge_index`` (2, E), ``y`` (N,), and the node ids of
    each split, ``train`` / ``val`` / ``test``.
    """

    batch_axis = False

    def __init__(self, tensors: Tensors, n_out: int, config: TrainConfig | dict | None):
        super().__init__(tensors, config)
        self.in_shape = tuple(tensors["x"].shape[1:])
        self.n_out = n_out

    def steps_per_epoch(self, batch_size: int) -> int:
        return 1  # a step sees every training node

    def train_batch(self, data: Tensors, gen: torch.Generator, batch_size: int):
        return self.split(data, "train")

    def split(self, data: Tensors, name: str):
        return {"x": data["x"], "edge_index": data["edge_index"]}, (data["y"], data[name])

    @staticmethod
    def from_networkx(graph: nx.Graph, x: torch.Tensor, y: torch.Tensor, val: int, test: int,
                      split_seed: int) -> Tensors:
        train, v, t = split_indices(graph.number_of_nodes(), val, test, seed=split_seed)
        return {"x": x, "edge_index": edge_index(graph), "y": y,
                **{k: torch.as_tensor(i) for k, i in zip(("train", "val", "test"), (train, v, t))}}


@register_task("karate")
class Karate(NodeClassification):
    """Karate club: 2-class node classification of Zachary's 34-member club (gnn, level node).

    Labels: the club each member joined after the split ("Mr. Hi" = 0, "Officer" = 1).
    Features: a one-hot node id (34,) (``features="id"``) or a one-hot degree clipped
    at 16 (17,) (``features="degree"``). Split: ``val`` and ``test`` nodes (8 each by
    default) drawn by a permutation seeded with ``split_seed``; the rest train.
    """

    name = "karate"

    def __init__(self, features: str = "id", val: int = 8, test: int = 8, split_seed: int = 0,
                 config: TrainConfig | dict | None = None):
        g = nx.karate_club_graph()
        if features == "id":
            x = torch.eye(g.number_of_nodes())
        elif features == "degree":
            x = degree_one_hot(g, 16)
        else:
            raise ValueError(f"features must be 'id' or 'degree', got {features!r}")
        y = torch.tensor([int(g.nodes[i]["club"] != "Mr. Hi") for i in sorted(g)])
        super().__init__(self.from_networkx(g, x, y, val, test, split_seed), 2, config)


@register_task("sbm")
class SBM(NodeClassification):
    """Stochastic block model: node classification into its blocks (gnn, level node).

    ``blocks`` blocks of ``block_size`` nodes, edges with probability ``p_in`` inside a
    block and ``p_out`` across. Features (``features``,): a per-block random centroid
    scaled by ``signal`` plus unit Gaussian noise, so features alone are weak evidence
    and the neighbourhood helps. Nodes split ``val`` / ``test`` / rest (fractions).
    Graph, features and split are fixed by ``seed`` and ``split_seed``.
    """

    name = "sbm"

    def __init__(self, blocks: int = 4, block_size: int = 50, p_in: float = 0.2,
                 p_out: float = 0.02, features: int = 16, signal: float = 0.5,
                 val: float = 0.25, test: float = 0.25, seed: int = 0, split_seed: int = 0,
                 config: TrainConfig | dict | None = None):
        probs = [[p_in if i == j else p_out for j in range(blocks)] for i in range(blocks)]
        g = nx.stochastic_block_model([block_size] * blocks, probs, seed=seed)
        y = torch.arange(blocks).repeat_interleave(block_size)  # (N,)
        gen = torch.Generator().manual_seed(seed)
        centroids = signal * torch.randn(blocks, features, generator=gen)
        x = centroids[y] + torch.randn(len(y), features, generator=gen)  # (N, F)
        super().__init__(self.from_networkx(g, x, y, val, test, split_seed), blocks, config)


FAMILIES = {
    "cycle": lambda n, rng: nx.cycle_graph(n),
    "star": lambda n, rng: nx.star_graph(n - 1),
    "wheel": lambda n, rng: nx.wheel_graph(n),
    "erdos_renyi": lambda n, rng: nx.gnp_random_graph(n, 0.3, seed=int(rng.integers(2**31))),
}


@register_task("graph_classes")
class GraphClasses(_GraphTask):
    """Graph classification: cycle, star, wheel or Erdos-Renyi graph (gnn, level graph).

    ``per_class`` graphs of each family with 8 to 20 nodes (``sizes``), drawn with
    ``seed``; node features are the one-hot degree clipped at ``max_degree``
    (``max_degree + 1``,). Graphs split ``val`` / ``test`` / rest (fractions, seeded by
    ``split_seed``). A batch of graphs is one disjoint union with ``graph_index``
    giving each node's graph (0..B-1); ``batch_size`` of the recipe counts graphs.
    """

    name = "graph_classes"
    space_config = {"level": "graph"}
    batch_axis = False

    def __init__(self, per_class: int = 150, sizes: tuple[int, int] = (8, 20),
                 max_degree: int = 8, val: float = 0.2, test: float = 0.2, seed: int = 0,
                 split_seed: int = 0, config: TrainConfig | dict | None = None):
        rng = np.random.default_rng(seed)
        xs, edges, owner, labels, offset = [], [], [], [], 0
        for gid in range(per_class * len(FAMILIES)):
            label = gid % len(FAMILIES)
            g = list(FAMILIES.values())[label](int(rng.integers(sizes[0], sizes[1] + 1)), rng)
            xs.append(degree_one_hot(g, max_degree))
            edges.append(edge_index(g) + offset)
            owner.append(torch.full((g.number_of_nodes(),), gid))
            labels.append(label)
            offset += g.number_of_nodes()
        train, v, t = split_indices(len(labels), val, test, seed=split_seed)
        tensors = {"x": torch.cat(xs), "edge_index": torch.cat(edges, 1),
                   "graph_of_node": torch.cat(owner), "y": torch.tensor(labels),
                   **{k: torch.as_tensor(i) for k, i in zip(("train", "val", "test"),
                                                           (train, v, t))}}
        super().__init__(tensors, config)
        self.in_shape = (max_degree + 1,)
        self.n_out = len(FAMILIES)
        self._unions: dict[tuple[str, str], tuple[Tensors, tuple]] = {}

    def steps_per_epoch(self, batch_size: int) -> int:
        return max(1, len(self.tensors["train"]) // batch_size)

    def train_batch(self, data: Tensors, gen: torch.Generator, batch_size: int):
        ids = data["train"]
        pick = torch.randperm(len(ids), generator=gen)[:batch_size].to(ids.device)
        return self.union(data, ids[pick].sort().values)

    def split(self, data: Tensors, name: str):
        key = (str(data["y"].device), name)
        if key not in self._unions:  # built once per device
            self._unions[key] = self.union(data, data[name])
        return self._unions[key]

    @staticmethod
    def union(data: Tensors, ids: torch.Tensor):
        """The disjoint union of graphs ``ids`` (sorted): inputs and (labels, all)."""
        keep = torch.isin(data["graph_of_node"], ids)  # (N,)
        new_id = keep.long().cumsum(0) - 1  # old node id -> id in the union
        edges = data["edge_index"]
        edges = new_id[edges[:, keep[edges[0]]]]  # (2, E_batch)
        graph_index = torch.searchsorted(ids, data["graph_of_node"][keep])  # (N_batch,)
        y = data["y"][ids]  # (B,)
        inputs = {"x": data["x"][keep], "edge_index": edges, "graph_index": graph_index}
        return inputs, (y, slice(None))
