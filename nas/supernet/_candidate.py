"""A candidate module whose parameters are the supernet store's tensors (or views of them)."""

from __future__ import annotations

from torch import nn

from nas.compile import GraphModule
from nas.graph import ArchGraph
from nas.supernet._store import Slot

View = tuple[nn.Module, str, nn.Parameter, tuple, float]  # (owner, leaf name, store tensor,
# index, scale)


def owner_of(root: nn.Module, path: str) -> tuple[nn.Module, str]:
    """The submodule holding parameter ``path`` (``"a.b.weight"``) and its leaf name."""
    *mods, leaf = path.split(".")
    for m in mods:
        root = getattr(root, m)
    return root, leaf


def node_params(nid: str, op: str, module: nn.Module) -> list[tuple[str, str, str, nn.Parameter,
                                                                     tuple]]:
    """(node id, op, path inside the node's module, parameter, the shapes of all the
    node's parameters) for every parameter of one node's ``module``."""
    params = list(module.named_parameters())
    shapes = tuple(tuple(p.shape) for _, p in params)
    return [(nid, op, path, p, shapes) for path, p in params]


def candidate_params(net: GraphModule, graph: ArchGraph
                     ) -> list[tuple[str, str, str, nn.Parameter, tuple]]:
    """``node_params`` of every node of ``net``, the compiled ``graph``."""
    out = []
    for nid, module in net.named_children():
        out += node_params(nid, graph.node(nid).op, module)
    return out


def share(module: nn.Module, slots: dict[str, Slot], store: nn.ParameterDict) -> list[View]:
    """Replace ``module``'s parameters (by path) with the store's: a parameter whose
    store tensor has its very shape becomes that tensor; a smaller one is returned as a
    view to take afresh before each forward (``SharedCandidate``)."""
    views = []
    for path, slot in slots.items():
        owner, leaf = owner_of(module, path)
        full = store[slot.key]
        del owner._parameters[leaf]
        if slot.index is None:
            setattr(owner, leaf, full)  # (through the owner: an RNN's flat weights)
        else:
            views.append((owner, leaf, full, slot.index, slot.scale))
    return views


class SharedCandidate(nn.Module):
    """``net`` with its parameters replaced by the store's.

    A parameter whose store tensor has its very shape IS that tensor (registered in
    the node's module, so ``parameters()`` yields it); a smaller one is a slice view of
    the store tensor, taken afresh at each forward so gradients reach the store. A
    parameter the store lacks stays the candidate's own (see ``SuperNet.coverage``).
    ``views``: those of node modules shared already (``SuperNet.module_for``), which
    ``slots`` then leaves out.
    """

    def __init__(self, net: GraphModule, store: nn.ParameterDict,
                 slots: dict[tuple[str, str], Slot], views: list[View] | None = None):
        super().__init__()
        self.net = net
        self._views: list[View] = list(views or [])
        by_node: dict[str, dict[str, Slot]] = {}
        for (nid, path), slot in slots.items():
            by_node.setdefault(nid, {})[path] = slot
        for nid, node_slots in by_node.items():
            self._views += share(getattr(net, nid), node_slots, store)
        # the store tensors behind the views, so that parameters() yields them
        sliced = {id(full): full for _, _, full, _, _ in self._views}
        self.sliced = nn.ParameterList(list(sliced.values()))

    def forward(self, *inputs):
        for owner, leaf, full, index, scale in self._views:
            view = full[index]  # a view: its gradient lands in the store
            setattr(owner, leaf, view if scale == 1.0 else view * scale)
        return self.net(*inputs)
