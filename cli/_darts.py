"""`nas search --differentiable`: its options, their merge with a config file and the
search's progress line. Kept apart from cli/_search.py, which calls these in a few
hook lines.

A search mode rather than a ``--strategy darts``: DARTS proposes no candidates to
train one by one (the ask/tell loop every strategy runs); it trains one mixed network
and reads the architecture off it, then one cell is trained stand-alone.
"""

from __future__ import annotations

import time

import typer

from cli._common import console, fail
from nas.darts import GUARDS, Differentiable

D = Differentiable()
DIFFERENTIABLE = typer.Option(
    False, "--differentiable", help="DARTS: train one network mixing every op choice, keep "
    "the strongest op per decision, train that cell stand-alone (guarded against collapse).")
BUDGET = typer.Option(None, "--darts-budget", help=f"Search steps (default {D.budget}).")
GUARD = typer.Option(None, "--darts-guard", help=f"Guard against collapse: "
                     f"{', '.join(GUARDS)} (default {D.guard}).")
OPTIONS = ("budget", "guard")  # what --darts-X sets


def settings(merged: dict, given: dict, on: bool, **options) -> dict:
    """The search settings with ``differentiable`` resolved: ``--differentiable`` and the
    config file's ``differentiable`` (true or a mapping) with the ``--darts-X`` flags on
    top; ``trials`` defaults to 1 (the found cell) when neither flag nor file set it.
    Exits 2 on a bad value, naming the flag."""
    from nas.darts import differentiable_of
    from nas.settings import ConfigError

    flags = {k: v for k, v in options.items() if v is not None}
    base = merged.get("differentiable")
    if not (on or base):
        if flags:
            names = ", ".join(f"--darts-{k}" for k in flags)
            raise fail(f"{names} is for a differentiable search: add --differentiable")
        return merged
    if base is None or base is True:
        base = {}
    if not isinstance(base, dict):
        raise fail(f"differentiable must be true, false or a mapping of its settings "
                   f"({', '.join(OPTIONS)}, ...), got {base!r}")
    out = {**merged, "differentiable": {**base, **flags}}
    try:
        differentiable_of(out["differentiable"])
    except ConfigError as exc:
        text = str(exc)
        for k in flags:
            text = text.replace(f"differentiable.{k}", f"--darts-{k}")
        raise fail(text) from None
    if "trials" not in given:
        out["trials"] = 1
    return out


class Phases:
    """``on_phase`` of a differentiable search: a progress bar on the status line, and
    a line when the search ends."""

    def __init__(self, progress, config):
        self.progress, self.since = progress, time.time()
        console.print(f"{config.differentiable}, then the cell found trained stand-alone",
                      highlight=False)

    def __call__(self, phase: str, done: int, total: int) -> None:
        status = self.progress.status
        width = 24
        filled = round(width * done / total) if total else 0
        text = f"differentiable search [{'#' * filled}{'.' * (width - filled)}] " \
               f"{done}/{total} steps"
        if total and done == total:
            console.print(f"differentiable search done: {total} steps in "
                          f"{time.time() - self.since:.0f}s; training the cell found",
                          highlight=False)
            text = self.progress.waiting()
            self.progress.start = time.time()
        if status is not None:
            status.update(text)


__all__ = ["DIFFERENTIABLE", "Phases", "settings"]
