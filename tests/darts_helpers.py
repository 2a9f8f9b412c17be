"""Helpers of the DARTS oracle tests: a mixed network set to one candidate by hand."""

from __future__ import annotations


def copy_chosen(ds, answers: dict, module) -> None:
    """The candidate's weights (``module``, its compiled graph) into the mixed network's
    chosen modules, in topological order, so both compute the same function."""
    graph = module.graph
    mine = [m for m in ds.net.chosen_modules(answers) if m.state_dict()]
    theirs = [module.get_submodule(n) for n in graph.topological_order()]
    theirs = [m for m in theirs if m.state_dict()]
    assert len(mine) == len(theirs)
    for a, b in zip(mine, theirs, strict=True):
        a.load_state_dict(b.state_dict())
