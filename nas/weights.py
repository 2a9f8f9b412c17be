"""Kept weights: the trained weights of a search's best K trials, one file per trial in
the run folder's ``weights`` folder, for ``nas export`` and ``nas train``.

Which trials are the best K is the study's ranking (``Study.ranked``); this module only
reads and writes the files.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection
from pathlib import Path

WEIGHTS = "weights"  # the kept weights' folder, relative to the run folder


def weights_folder(stored: str | None, run_dir: str | os.PathLike | None) -> Path | None:
    """Where the weights folder ``stored`` in a study's config is now.

    A relative path is relative to ``run_dir`` (the current directory when None). Runs
    made before paths were stored relative hold an absolute one: when that no longer
    exists (the run was moved or copied), ``RUN_DIR/weights`` is used instead.
    """
    if not stored:
        return None
    path = Path(stored)
    base = Path(run_dir) if run_dir is not None else Path(".")
    if not path.is_absolute():
        return base / path
    if path.exists() or run_dir is None:
        return path
    return base / WEIGHTS


def weights_path(study_config: dict, number: int,
                 run_dir: str | os.PathLike | None = None) -> Path | None:
    """The saved weights of trial ``number``, if the search kept them.

    ``run_dir``: the run folder the stored (relative) weights folder belongs to; give it,
    or the folder of the study's journal file, so that a moved or copied run is read
    where it is now (None: the current directory).
    """
    folder = weights_folder(study_config.get("weights_dir"), run_dir)
    if folder is None:
        return None
    path = folder / f"trial_{number}.pt"
    return path if path.exists() else None


def trial_weights(study, number: int, run_dir: str | os.PathLike | None = None) -> Path | None:
    """Trial ``number``'s kept weights as a local file: the run folder's own, else
    fetched from the study's artifact store (``nas.artifacts``, checked against its
    recorded digest); None when neither holds them."""
    from nas.artifacts import fetch_weights

    return weights_path(study.config, number, run_dir) or fetch_weights(study, number, run_dir)


def keep_best(folder: Path, number: int, state_dict: dict, best: Collection[int]) -> None:
    """Save trial ``number``'s weights in ``folder`` if it is one of the ``best`` trial
    numbers, and delete the files of trials no longer among them."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    if number in best:
        target = folder / f"trial_{number}.pt"
        tmp = target.with_suffix(".tmp")
        torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, tmp)
        os.replace(tmp, target)  # atomic: a reader never sees half a file
    for f in folder.glob("trial_*.pt"):
        n = f.stem.split("_", 1)[1]
        if n.isdigit() and int(n) not in best:
            with contextlib.suppress(OSError):
                f.unlink()


__all__ = ["WEIGHTS", "keep_best", "trial_weights", "weights_folder", "weights_path"]
