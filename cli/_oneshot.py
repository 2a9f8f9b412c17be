"""`nas search --one-shot`: its options, their merge with a config file, the phase
progress on the search's status line, and the one-shot part of `nas status`.

Kept apart from cli/_search.py, which calls these in a few hook lines.
"""

from __future__ import annotations

import time

import typer

from cli._common import console
from cli._options import mode_settings
from nas.oneshot import RETRAIN, RULES, SAMPLINGS, OneShot
from nas.supernet import NORM_SHARING

D = OneShot()
ONE_SHOT = typer.Option(
    False, "--one-shot", help="Train one weight-sharing supernet, score candidates with its "
    f"inherited weights, then train the best --trials (default {RETRAIN}) stand-alone.")
BUDGET = typer.Option(None, "--one-shot-budget", help=f"Supernet training, in candidate "
                      f"passes for a budget in steps (default {D.budget}).")
CANDIDATES = typer.Option(None, "--one-shot-candidates", min=1, help="Candidates scored with "
                          f"inherited weights (default {D.candidates}).")
RULE = typer.Option(None, "--one-shot-rule", help=f"Weight sharing: {', '.join(RULES)} "
                    f"(default {D.rule}).")
SAMPLING = typer.Option(None, "--one-shot-sampling", help="Paths per supernet step: "
                        f"{', '.join(SAMPLINGS)} (default {D.sampling}).")
FINETUNE = typer.Option(None, "--one-shot-finetune", min=0, help="Training steps of each "
                        "inherited copy before its score (0: none; default "
                        f"{D.finetune}).")
NORMS = typer.Option(None, "--one-shot-norms", help="A norm's affine weights: "
                     f"{', '.join(NORM_SHARING)} (default {D.norms}).")
RESCALE = typer.Option(None, "--one-shot-rescale/--no-one-shot-rescale", help="A sliced "
                       "weight times sqrt(fan-in ratio), so a narrow candidate starts at its "
                       f"own init's scale (default {'on' if D.rescale else 'off'}).")
DISTINCT = typer.Option(None, "--one-shot-distinct", min=0.0, max=0.99, help="Each "
                        "retrained candidate differs from the others in at least this share "
                        "of its decisions, so the retrained are not one architecture's "
                        f"near-copies (0: the plain top; default {D.distinct:g}).")
LR = typer.Option(None, "--one-shot-lr", help="The supernet's "
                  "peak learning rate (default: the task's choice; the built-in tasks "
                  "train a supernet at 0.3 times their candidates' rate).")
OPTIONS = ("budget", "candidates", "rule", "sampling", "finetune", "norms",
           "rescale", "distinct", "lr")  # --one-shot-X


def settings(merged: dict, given: dict, on: bool, **options) -> dict:
    """The search settings with ``one_shot`` resolved: ``--one-shot`` and the config
    file's ``one_shot`` (true or a mapping) with the ``--one-shot-X`` flags on top;
    ``trials`` defaults to RETRAIN when neither flag nor file set it. ``given``: the
    settings the user gave (file and flags). Exits 2 on a bad value, naming the flag."""
    from nas.oneshot import one_shot_of

    return mode_settings(merged, given, on, options, key="one_shot", prefix="one-shot",
                         names=OPTIONS, check=one_shot_of, trials=RETRAIN)


class Phases:
    """``on_phase(phase, done, total)`` for ``nas.search``: a text progress bar on the
    search's status line, and a line when a phase ends. Made for a one-shot search, it
    first says what the phases will do."""

    WIDTH = 24

    def __init__(self, progress, config):
        self.progress = progress  # cli._progress.Progress: its status is the spinner
        self.phase, self.since = "", time.time()
        if config.one_shot is not None:
            console.print(f"one-shot: {config.one_shot}, then the top {config.trials} "
                          "trained stand-alone", highlight=False)

    def __call__(self, phase: str, done: int, total: int) -> None:
        status = self.progress.status
        if phase != self.phase:  # a phase starts (or resumes)
            self.phase, self.since = phase, time.time()
        took = f" in {time.time() - self.since:.0f}s"
        if phase == "supernet":
            text = f"training the supernet {_bar(done, total, self.WIDTH)} {done}/{total} steps"
            if total and done == total:
                console.print(f"supernet trained: {total} steps{took}", highlight=False)
        else:
            text = f"scoring with inherited weights {_bar(done, total, self.WIDTH)} " \
                   f"{done}/{total} candidates"
            if done == total:
                console.print(f"scored {total} candidates with inherited weights{took}; "
                              f"training the best {self.progress.total} stand-alone",
                              highlight=False)
                text = self.progress.waiting()
                self.progress.start = time.time()  # the retraining's ETA counts from here
        if status is not None:
            status.update(text)


def _bar(done: int, total: int, width: int) -> str:
    filled = round(width * done / total) if total else 0
    return "[" + "#" * filled + "." * (width - filled) + "]"


def phase_line(st) -> str | None:
    """'one-shot: scoring 40/100 candidates' (None for a study that is not one-shot)."""
    from nas.oneshot import Book

    one_shot = st.config.get("one_shot")
    if not one_shot:
        return None
    book = Book(st)
    candidates = one_shot.get("candidates", "?")
    scores = book.scores()
    k = st.config.get("trials", "?")
    trained = supernet_steps(book.supernet())
    if not book.scoring_done():
        if book.supernet() is None and not scores:
            at = book.progress()
            step = "" if at is None else f", step {at['step']}/{at.get('total') or '?'}"
            return f"one-shot phase: training the supernet{step}"
        return f"one-shot phase: scoring {len(scores)}/{candidates} candidates{trained}"
    retrained = sum(r.counts for r in st.trials())
    what = "retraining" if isinstance(k, int) and retrained < k else "done, retrained"
    return (f"one-shot phase: {what} {retrained}/{k} (scored {len(scores)} candidates with "
            f"inherited weights){trained}")


def supernet_steps(info: dict | None) -> str:
    """'; supernet: 1000 steps, 3000 candidate passes' from what phase 1 stored."""
    metrics = (info or {}).get("metrics") or {}
    if "steps" not in metrics:
        return ""
    passes = metrics.get("trained_paths")
    more = "" if passes is None else f", {int(passes)} candidate passes"
    return f"; supernet: {int(metrics['steps'])} steps{more}"


def print_status(st, top: int = 10) -> None:
    """The phase, and the best candidates by one-shot score beside their stand-alone
    score once retrained."""
    from nas.oneshot import Book, ranked

    line = phase_line(st)
    if line is None:
        return
    console.print(line, highlight=False)
    best = ranked(Book(st).scores(), list(st.objectives))[:top]
    if not best:
        return
    first = st.objectives[0].name
    trained = {r.fingerprint: r for r in st.trials() if r.counts}
    console.print(f"best by one-shot {first} (stand-alone {first} once retrained):",
                  highlight=False)
    for rank, s in enumerate(best):
        rec = trained.get(s.fingerprint)
        alone = "-" if rec is None or rec.state != "COMPLETE" else \
            f"{rec.objectives[first]:.4g} (trial {rec.number})"
        console.print(f"  {rank + 1:>2}. one-shot {s.objectives[first]:.4g}  stand-alone "
                      f"{alone}", highlight=False)
