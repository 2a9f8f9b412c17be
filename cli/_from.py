"""`nas search --from path/model.py:build`: grow from your own model (``nas.GraphSpace``).

The space becomes ``grow:path/model.py:build`` (any process rebuilds it from the file:
several workers, ``nas resume``), and ``--edits`` / ``--max-edits`` / ``--max-params``
its settings.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cli._common import fail
from nas.graphspace._seed import FROM_BUDGET, FROM_DEFAULTS, FROM_TRIALS

FROM = typer.Option(None, "--from", metavar="FILE.py:FN", help=(
    "Grow from your own model: FN() in FILE.py returns the nn.Module (with its trained "
    "weights), example_inputs() there a batch (else the task's input shape is used). "
    "Or an export folder (nas export). Candidates are graph edits of it whose children "
    "inherit its weights."))
EDITS = typer.Option(None, "--edits", help=(
    "With --from: the edit kinds, e.g. widen,deepen,skip (default: "
    f"{','.join(FROM_DEFAULTS['edits'])}; also insert, remove, change, branch, "
    "remove_block)."))
MAX_EDITS = typer.Option(None, "--max-edits", min=1, help=(
    "With --from: at most this many edits per candidate (default "
    f"{FROM_DEFAULTS['max_edits']}; children chain: each is its parent plus one edit, "
    "--space-option chain=false for edit lists from the seed). Without --budget and "
    f"--trials, --from trains {FROM_TRIALS} children of {FROM_BUDGET}."))

MAX_PARAMS = typer.Option(None, "--max-params", min=1, help=(
    "With --from: a parameter cap; an edit whose child would have more trainable "
    "parameters is not applied (default: no cap). The seed itself must fit."))


def from_flags(flags: dict, space_option: list[str] | None, ref: str | None,
               edits: str | None, max_edits: int | None,
               max_params: int | None = None) -> list[str]:
    """Set ``flags["space"]`` for ``--from``; the ``--space-option`` items with the edit
    settings added. ``--edits`` without ``--from``, or both ``--from`` and ``--space``,
    exit 2."""
    items = list(space_option or [])
    if ref is None:
        if edits is not None or max_edits is not None:
            raise fail("--edits and --max-edits go with --from path/model.py:build")
        if max_params is not None:
            raise fail("--max-params goes with --from path/model.py:build")
        return items
    if "space" in flags:
        raise fail("give --from (grow from your model) or --space, not both")
    if not Path(ref).is_dir() and (not ref.partition(":")[0].endswith(".py")
                                   or ":" not in ref):
        raise fail(f"--from {ref!r}: write path/model.py:build (a function returning the "
                   "nn.Module) or an export folder (nas export)")
    flags["space"] = "grow:" + ref
    if edits is not None:
        items.append(f"edits={edits}")
    if max_edits is not None:
        items.append(f"max_edits={max_edits}")
    if max_params is not None:
        items.append(f"max_params={max_params}")
    return items


def from_defaults(settings: dict, given: dict, ref: str | None) -> None:
    """``--from`` without ``--budget`` or ``--trials`` (flag or config file): the
    measured setting, ``FROM_TRIALS`` children of ``FROM_BUDGET`` (a ``--timeout``
    alone keeps bounding the search by time)."""
    if ref is None:
        return
    if "budget" not in given:
        settings["budget"] = FROM_BUDGET
    if "trials" not in given and settings.get("timeout") is None:
        settings["trials"] = FROM_TRIALS
