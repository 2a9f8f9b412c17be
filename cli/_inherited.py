"""`nas train --from-inherited`: fine-tune a trial from the weights its search trained.

A grown model's value is its trained lineage (a ``nas search --from`` child starts from
its parent's trained weights and trains briefly): retraining it from scratch throws that
away. With ``--from-inherited`` the trial's kept weights (the search keeps those of its
best ``keep_weights`` trials in the run folder; ``nas search`` keeps 3) are its start
weights, so `nas train` continues from them. Any run's trial works, grown or not.
"""

from __future__ import annotations

from pathlib import Path

import nas
from cli._common import fail
from nas.graphspace import keep_start_weights


def inherited_graph(arch: Path, trial: int | None, pick) -> nas.ArchGraph:
    """The trial's graph (``pick(study, 1, trial)``: the one `nas train` trains) with its
    kept trained weights as start weights; a clear error when the run kept none."""
    from cli._status import open_run
    from nas.storage import JOURNAL

    if not (arch.is_dir() and (arch / JOURNAL).exists()):
        raise fail("--from-inherited needs a run folder (its trials' kept weights), not "
                   f"'{arch}'")
    study = open_run(arch, None, None)
    study.folder = arch
    rec = pick(study, 1, trial)
    try:
        state = study.load_weights(rec.number)
    except ValueError as exc:
        raise fail(f"--from-inherited: {exc}") from None
    graph = rec.graph.copy()
    graph.meta["start_weights"] = keep_start_weights(f"kept:{arch.resolve()}:{rec.number}",
                                                     state)
    return graph
