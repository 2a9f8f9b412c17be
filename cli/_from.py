"""`nas search --from path/model.py:build`: grow from your own model (``nas.GraphSpace``).

The space becomes ``grow:path/model.py:build`` (any process rebuilds it from the file:
several workers, ``nas resume``), and ``--edits`` / ``--max-edits`` its settings.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cli._common import fail

FROM = typer.Option(None, "--from", metavar="FILE.py:FN", help=(
    "Grow from your own model: FN() in FILE.py returns the nn.Module (with its trained "
    "weights), example_inputs() there a batch (else the task's input shape is used). "
    "Or an export folder (nas export). Candidates are graph edits of it whose children "
    "inherit its weights."))
EDITS = typer.Option(None, "--edits", help=(
    "With --from: the edit kinds, e.g. widen,deepen,skip (default: insert, remove, "
    "change, skip, widen, deepen, branch; the shrinking narrow and remove_block on "
    "request)."))
MAX_EDITS = typer.Option(None, "--max-edits", min=1, help=(
    "With --from: at most this many edits per candidate (default 3)."))


def from_flags(flags: dict, space_option: list[str] | None, ref: str | None,
               edits: str | None, max_edits: int | None) -> list[str]:
    """Set ``flags["space"]`` for ``--from``; the ``--space-option`` items with the edit
    settings added. ``--edits`` without ``--from``, or both ``--from`` and ``--space``,
    exit 2."""
    items = list(space_option or [])
    if ref is None:
        if edits is not None or max_edits is not None:
            raise fail("--edits and --max-edits go with --from path/model.py:build")
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
    return items
