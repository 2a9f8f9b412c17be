"""A search from a model: its ``GraphSpace`` under a space name, so a search names it
like any space.

- ``nas.search(from_model=module, example_inputs=...)``: the space of a live module is
  registered in this process as ``model:<the seed's fingerprint, 12 digits>``.
- ``"grow:path/model.py:build"`` or ``"grow:EXPORT_FOLDER"`` (a folder ``nas export``
  wrote: its model and weights) (``nas search --from path/model.py:build``, or
  ``from_model="path/model.py:build"``): any process rebuilds it from the file, so
  several workers and ``nas resume`` work. ``build()`` returns the ``nn.Module`` (with
  its trained weights: load them there); the file's ``example_inputs()`` returns a
  batch to trace it on, or, without one, a random batch of the task's input shape is.
  ``edits``, ``max_edits``, ``chain``, ``append``, ``first`` and ``max_params`` (a
  parameter cap, none by default) are the space's settings (``space_config``),
  ``FROM_DEFAULTS`` where not given.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from nas._domain import SpaceError
from nas.graph import ArchGraph
from nas.graphspace._space import GraphSpace
from nas.trace import Traced, from_module

PREFIX = "grow:"
# a search from a model, unless told otherwise (bench/results/grow.md measured them):
# chained growth, the growing edits first, narrow for the small end of the front, room
# for 48 edits (with 16, lines of descent stalled at the cap)
GROW_EDITS = ("normalize", "widen_all", "deepen_block", "widen", "deepen", "skip", "change",
              "insert", "narrow")
FROM_DEFAULTS = {"edits": GROW_EDITS, "max_edits": 48, "chain": True, "append": 1,
                 "first": 1, "max_params": None}
# `nas search --from` without --budget/--trials: the default search's 20,000 training
# steps as many short children (their training adds up along a line of descent; 250
# steps judge one edit: "Children of 250 steps" in bench/results/grow.md)
FROM_BUDGET, FROM_TRIALS = "250steps", 80
_BOUND: dict[tuple, GraphSpace] = {}  # one space per file and settings in a process


def settings(edits=None, max_edits=None, chain=None, append=None, first=None,
             max_params=None) -> dict:
    """The GraphSpace settings of a search from a model: those given (a CLI's text
    read), ``FROM_DEFAULTS`` for the rest."""
    given = {"edits": edits, "max_edits": max_edits, "chain": chain, "append": append,
             "first": first, "max_params": max_params}
    out = {k: FROM_DEFAULTS[k] if v is None else v for k, v in given.items()}
    if isinstance(out["chain"], str):
        if out["chain"].lower() not in ("true", "false", "1", "0"):
            raise SpaceError(f"chain must be true or false, not {out['chain']!r}")
        out["chain"] = out["chain"].lower() in ("true", "1")
    for key in ("max_edits", "append", "first", "max_params"):
        if key == "max_params" and out[key] is None:  # no cap
            continue
        try:
            out[key] = int(out[key])
        except (TypeError, ValueError):
            raise SpaceError(f"{key} must be an int, not {out[key]!r}") from None
    return out


def seed_space(model, example_inputs=None, edits=None, max_edits: int | None = None,
               space_config: dict | None = None, max_params: int | None = None
               ) -> tuple[str, dict]:
    """The space name and space_config of a search from ``model``: a file reference
    ``"path/model.py:build"``, or an ``nn.Module`` (traced on ``example_inputs``), a
    ``nas.Traced`` or an ``ArchGraph`` whose GraphSpace is registered in this process.
    A space of the same seed registered before is replaced (no remembered weights)."""
    config = {**(space_config or {}),
              **({"edits": list(edits) if not isinstance(edits, str) else edits}
                 if edits is not None else {}),
              **({"max_edits": max_edits} if max_edits is not None else {}),
              **({"max_params": max_params} if max_params is not None else {})}
    if isinstance(model, str | Path):
        return PREFIX + str(model), config
    from nas.registry import _SPACES, register_space

    if isinstance(model, Traced | ArchGraph):
        seed = model
    elif isinstance(model, nn.Module):
        if example_inputs is None:
            raise SpaceError("a search from a model needs example_inputs: a batch of "
                             "inputs (a tensor or a tuple) to trace it on")
        seed = from_module(model, example_inputs)
    else:
        raise SpaceError("from_model takes an nn.Module, a nas.Traced, an ArchGraph or "
                         f"'path/model.py:build', not a {type(model).__name__}")
    space = GraphSpace(seed, **settings(**{k: v for k, v in config.items()
                                           if k in FROM_DEFAULTS}))
    space.name = f"model:{space.seed_fingerprint[:12]}"
    _SPACES.pop(space.name)
    register_space(space.name, space.in_shape, space.n_out)(space)
    return space.name, {}


def file_space(ref: str, in_shape=None, n_out: int | None = None, edits=None,
               max_edits: int | str | None = None, chain=None, append=None,
               first=None, max_params: int | str | None = None) -> GraphSpace:
    """The GraphSpace of ``path/model.py:build`` (see the module docstring), made once
    per process and settings, so the trained weights it remembers last the search."""
    from nas.registry import _import_file, check_bound_io, load_space_fn

    path_text, _, fn_name = ref.rpartition(":")
    if Path(ref).is_dir():  # an export folder: its model with its weights
        path_text, fn_name = ref, ""
    elif not path_text.endswith(".py"):
        raise SpaceError(f"--from takes path/model.py:build or an export folder, not {ref!r}")
    options = settings(edits, max_edits, chain, append, first, max_params)
    key = (str(Path(path_text).resolve()), fn_name, str(options))
    if key not in _BOUND and not fn_name:
        _BOUND[key] = GraphSpace(_exported(Path(ref)), name=PREFIX + ref, **options)
    if key not in _BOUND:
        build = load_space_fn(ref)
        make_inputs = getattr(_import_file(Path(path_text)), "example_inputs", None)
        with torch.random.fork_rng():
            torch.manual_seed(0)  # an untrained build() is the same model in every process
            model = build()
            if make_inputs is not None:
                inputs = make_inputs()
            elif in_shape is not None:
                inputs = torch.randn(2, *getattr(in_shape, "shape", in_shape))
            else:
                raise SpaceError(f"'{path_text}' has no example_inputs() and no task input "
                                 "shape is known: add def example_inputs() returning a batch")
        if not isinstance(model, nn.Module):
            raise SpaceError(f"{ref}() must return an nn.Module, not a "
                             f"{type(model).__name__}")
        _BOUND[key] = GraphSpace(from_module(model, inputs), name=PREFIX + ref, **options)
    return check_bound_io(_BOUND[key], in_shape, n_out)


def _exported(folder: Path) -> Traced:
    """An export folder (``nas export``) traced back: its model.py with its weights, on
    a random batch of its architecture's input shape."""
    from nas.export import load

    graph = ArchGraph.from_json((folder / "architecture.json").read_text())
    (spec,) = graph.inputs.values()
    return from_module(load(folder).eval(), torch.randn(2, *spec.shape))
