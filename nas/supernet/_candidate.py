"""A candidate module whose parameters are the supernet store's tensors (or views of them)."""

from __future__ import annotations

from torch import nn

from nas.compile import GraphModule
from nas.graph import ArchGraph
from nas.supernet._store import Slot


def owner_of(root: nn.Module, path: str) -> tuple[nn.Module, str]:
    """The submodule holding parameter ``path`` (``"a.b.weight"``) and its leaf name."""
    *mods, leaf = path.split(".")
    for m in mods:
        root = getattr(root, m)
    return root, leaf


def candidate_params(net: GraphModule, graph: ArchGraph
                     ) -> list[tuple[str, str, str, nn.Parameter, tuple]]:
    """(node id, op, path inside the node's module, parameter, the shapes of all the
    node's parameters) for every parameter of ``net``, the compiled ``graph``."""
    out = []
    for nid, module in net.named_children():
        params = list(module.named_parameters())
        shapes = tuple(tuple(p.shape) for _, p in params)
        out += [(nid, graph.node(nid).op, path, p, shapes) for path, p in params]
    return out


class SharedCandidate(nn.Module):
    """``net`` with its parameters replaced by the store's.

    A parameter whose store tensor has its very shape IS that tensor (registered in
    the node's module, so ``parameters()`` yields it); a smaller one is a slice view of
    the store tensor, taken afresh at each forward so gradients reach the store. A
    parameter the store lacks stays the candidate's own (see ``SuperNet.coverage``).
    """

    def __init__(self, net: GraphModule, store: nn.ParameterDict,
                 slots: dict[tuple[str, str], Slot]):
        super().__init__()
        self.net = net
        self._views: list[tuple[nn.Module, str, nn.Parameter, tuple]] = []
        sliced: list[nn.Parameter] = []
        for (nid, path), slot in slots.items():
            owner, leaf = owner_of(getattr(net, nid), path)
            full = store[slot.key]
            del owner._parameters[leaf]
            if slot.index is None:
                setattr(owner, leaf, full)  # (through the owner: an RNN's flat weights)
            else:
                self._views.append((owner, leaf, full, slot.index))
                sliced.append(full)
        # the store tensors behind the views, so that parameters() yields them
        self.sliced = nn.ParameterList(list({id(p): p for p in sliced}.values()))

    def forward(self, *inputs):
        for owner, leaf, full, index in self._views:
            setattr(owner, leaf, full[index])  # a view: its gradient lands in the store
        return self.net(*inputs)
