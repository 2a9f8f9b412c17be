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

from cli._common import console
from cli._options import mode_settings
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

    return mode_settings(merged, given, on, options, key="differentiable", prefix="darts",
                         names=OPTIONS, check=differentiable_of, trials=1)


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
