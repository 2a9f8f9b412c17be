"""A study's trained weights from Python: the weights a search kept for its best K trials
(``keep_weights``, files in the run folder), as a state dict, a module, or an export."""

from __future__ import annotations

import os
from pathlib import Path

from nas.trial import TrialRecord
from nas.weights import trial_weights


def trial_of(study, trial: TrialRecord | int | None) -> TrialRecord:
    """``trial`` as a record of ``study``: a number, a record, or None for the best."""
    if trial is None:
        best = study.best
        if best is None:
            raise ValueError(f"study '{study.name}' has no completed trial yet")
        return best
    return study.trial(trial if isinstance(trial, int) else trial.number)


def kept_weights(study, trial: TrialRecord | int | None = None,
                 folder: str | os.PathLike | None = None) -> dict:
    """The trained weights the search kept for ``trial`` (default: the best), as a
    state dict of the trial's compiled graph. ValueError says why there are none."""
    import torch

    rec = trial_of(study, trial)
    path = trial_weights(study, rec.number, folder)
    if path is None:
        where = f" in {Path(folder) / 'weights'}" if folder is not None else \
            " (no run folder known: pass run_dir to nas.search, or Study.load(..., folder=RUN_DIR))"
        raise ValueError(
            f"no trained weights kept for trial {rec.number}{where}: a search keeps those of "
            f"its best keep_weights trials (this one: {study.config.get('keep_weights', 0)}) "
            "in its run folder; search with nas.search(..., run_dir=..., keep_weights=3) "
            "(nas search keeps 3), or retrain it: nas train RUN_DIR --trial N")
    return torch.load(path, map_location="cpu", weights_only=True)


def trained_module(study, trial: TrialRecord | int | None = None,
                   folder: str | os.PathLike | None = None):
    """The trial's compiled module (default: the best) with its kept trained weights."""
    from nas.compile import compile_graph

    rec = trial_of(study, trial)
    model = compile_graph(rec.graph)
    model.load_state_dict(kept_weights(study, rec, folder))
    return model.eval()


def export_args(study, state_dict: dict | None, metrics: dict | None, task) -> tuple:
    """What ``nas.export(study, OUT)`` writes: the best trial's graph, the weights the
    search kept for it (unless ``state_dict`` is given), its metrics and task."""
    rec = trial_of(study, None)
    if state_dict is None:
        state_dict = kept_weights(study, rec, study.folder)
    metrics = {**rec.objectives, **rec.metrics} if metrics is None else metrics
    return rec.graph, state_dict, metrics, task or study.config.get("task")


__all__ = ["export_args", "kept_weights", "trained_module", "trial_of"]
