"""A search from a model: its ``GraphSpace`` registered under a name, so a search names
it like any space (``nas.search(from_model=...)``, ``nas search --from``)."""

from __future__ import annotations

from nas._domain import SpaceError
from nas.graph import ArchGraph
from nas.graphspace._space import DEFAULT_EDITS, GraphSpace
from nas.trace import Traced, from_module

PREFIX = "grow:"  # the registered name: grow:<the seed's fingerprint, 12 digits>


def seed_space(model, example_inputs=None, edits=None, max_edits: int = 3,
               leaves=()) -> str:
    """Register the GraphSpace of ``model`` (an ``nn.Module`` traced on
    ``example_inputs``, a ``nas.Traced`` or an ``ArchGraph``) in this process; its name.

    The module's trained weights are the seed's, so children inherit them. A space of
    the same seed and settings registered before is replaced (a new search starts with
    no remembered trained candidates)."""
    from nas.registry import _SPACES, register_space

    if isinstance(model, Traced | ArchGraph):
        seed = model
    else:
        if example_inputs is None:
            raise SpaceError("a search from a model needs example_inputs: a batch of "
                             "inputs (a tensor or a tuple) to trace it on")
        seed = from_module(model, example_inputs, leaves=leaves)
    space = GraphSpace(seed, DEFAULT_EDITS if edits is None else edits, max_edits)
    space.name = f"{PREFIX}{space.seed_fingerprint[:12]}"
    _SPACES.pop(space.name)
    register_space(space.name, space.in_shape, space.n_out)(space)
    return space.name
