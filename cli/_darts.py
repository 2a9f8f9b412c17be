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
                     f"{', '.join(GUARDS)} (default {D.guard}; gdas: GDAS' single "
                     "path, one op drawn per edge).")
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


__all__ = ["DIFFERENTIABLE", "Phases", "phase_line", "print_status", "settings"]


def phase_line(st) -> str | None:
    """'differentiable phase: searching, step 40/100 (guard drnas); argmax: ...' (None
    for a study that is not a differentiable search)."""
    from nas.darts import darts_progress
    from nas.oneshot import Book

    settings = st.config.get("differentiable")
    if not settings:
        return None
    guard = _how(settings if isinstance(settings, dict) else {})
    found = Book(st).supernet()
    if found is None:
        at = darts_progress(st)
        if at is None:
            return f"differentiable phase: starting the search (guard {guard})"
        return (f"differentiable phase: searching, step {at['step']}/{at.get('total') or '?'}"
                f" (guard {guard}); current argmax: {_cell(at.get('answers') or {})}")
    steps = (found.get("metrics") or {}).get("steps")
    k = st.config.get("trials", 1)
    trained = sum(r.counts for r in st.trials())
    what = "training the cell found" if isinstance(k, int) and trained < k else \
        "done, cell trained"
    ran = "" if steps is None else f" after {int(steps)} search steps"
    return (f"differentiable phase: {what} {trained}/{k}{ran} (guard {guard}); cell: "
            f"{_cell(found.get('answers') or {})}")


def _how(settings: dict) -> str:
    """'drnas', or 'drnas, select perturb' when the cell is not read off alpha."""
    guard = settings.get("guard", D.guard)
    select = settings.get("select", D.select)
    return guard if select == D.select else f"{guard}, select {select}"


def _cell(answers: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in answers.items()) or "-"


def print_status(st) -> None:
    """The differentiable phase line of ``nas status`` (nothing for other searches)."""
    line = phase_line(st)
    if line is not None:
        console.print(line, highlight=False, soft_wrap=True)  # never cropped
