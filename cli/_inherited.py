"""`nas train --from-inherited`: fine-tune a trial from the weights its search trained.

A grown model's value is its trained lineage (a ``nas search --from`` child starts from
its parent's trained weights and trains briefly): retraining it from scratch throws that
away. With ``--from-inherited`` the trial's kept weights (the search keeps those of its
best ``keep_weights`` trials in the run folder; ``nas search`` keeps 3) are its start
weights, so `nas train` continues from them. Any run's trial works, grown or not. An
export folder (``nas export``, ``nas train``) works too: its architecture.json with its
weights file as the start weights.
"""

from __future__ import annotations

from pathlib import Path

import nas
from cli._common import fail, read_architecture
from nas.export._load import ARCHITECTURE
from nas.export._weights import WEIGHTS
from nas.graphspace import keep_start_weights


def inherited_graph(arch: Path, trial: int | None, pick) -> nas.ArchGraph:
    """The trial's graph (``pick(study, 1, trial)``: the one `nas train` trains) with its
    kept trained weights as start weights; a clear error when the run kept none."""
    from cli._status import open_run
    from nas.storage import JOURNAL

    if arch.is_dir() and not (arch / JOURNAL).exists() and (arch / ARCHITECTURE).is_file():
        return exported_graph(arch)
    if not (arch.is_dir() and (arch / JOURNAL).exists()):
        raise fail("--from-inherited needs a run folder (its trials' kept weights) or an "
                   f"export folder (architecture.json and {WEIGHTS}), not '{arch}'")
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


def exported_graph(folder: Path) -> nas.ArchGraph:
    """An export folder's graph with its weights file (weights.pt or .safetensors) as
    start weights; a clear error when it has none, they are untrained or do not fit."""
    from nas.export._load import _trained
    from nas.export._weights import SAFETENSORS, WeightsError, apply_weights, read_weights

    graph = read_architecture(folder / ARCHITECTURE)
    files = [folder / name for name in (WEIGHTS, SAFETENSORS) if (folder / name).is_file()]
    if not files:
        raise fail(f"--from-inherited: the export folder '{folder}' has no weights file "
                   f"({WEIGHTS}): export it with its trained weights, or train from scratch "
                   "without --from-inherited")
    if not _trained(folder):
        raise fail(f"--from-inherited: '{folder}' holds untrained weights (its metrics.json "
                   "says trained: false): train from scratch without --from-inherited")
    try:
        state = read_weights(files[0])
        apply_weights(nas.compile_graph(graph), state, f"'{files[0]}'")
    except WeightsError as exc:
        raise fail(f"--from-inherited: {exc}") from None
    graph = graph.copy()
    graph.meta["start_weights"] = keep_start_weights(f"export:{folder.resolve()}", state)
    return graph
