"""Your own data in ``nas.search(data=...)``: the registered ``arrays`` task built from it,
and its arrays stored in the run folder, so that worker processes and ``nas resume``
rebuild the same task from the stored config alone (nothing to register).

``nas`` never imports ``evaluators``: the task is looked up by name in the task registry,
as the CLI does. It offers ``save(path) -> options`` (the arrays, as an ``.npz`` read
without pickle) and ``summary()`` (the first progress line).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nas.registry import get_task
from nas.settings import ConfigError

DATA_TASK = "arrays"  # the registered task that takes ``data=``


def data_task(data, target: str | None = None, task_config: dict | None = None):
    """The ``arrays`` task built from ``data`` (checked: bad data raises a one-line
    ``ValueError`` before anything trains). An ``arrays`` task built already (the
    estimator's) is used as it is: the data is read once."""
    if getattr(data, "name", None) == DATA_TASK and hasattr(data, "save"):
        return data
    options = dict(task_config or {})
    if target is not None:
        options["target"] = target
    try:
        return get_task(DATA_TASK, data=data, **options)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        raise ConfigError("data", f"data: {exc}") from None


def data_options(task) -> dict:
    """The task options stored with the study: what rebuilds ``task`` from its file."""
    return {k: v for k, v in task.options.items() if v is not None}


def data_file(folder: str | os.PathLike | None, study: str | None,
              storage: str | None = None) -> str | None:
    """The data file's name in the run folder (None when there is no folder: a search
    in memory); one per study of the folder. A server storage without a folder has
    nowhere to keep the data for its workers: an error naming ``run_dir``."""
    if folder is None:
        if storage is not None:
            raise ConfigError("data", "data=... with a database server storage needs run_dir "
                                      "too: a folder to store the data in for every worker")
        return None
    return "data.npz" if study in (None, "search") else f"data-{study}.npz"


def store_data(task, folder: str | os.PathLike, name: str) -> None:
    """Write ``task``'s arrays to ``folder/name``. The same data may be stored again (a
    search run twice); other data in that file raises, since the run's trials were
    scored on it."""
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(f".{name}.new.npz")
    task.save(fresh)
    if path.exists() and not _same_arrays(path, fresh):
        fresh.unlink()
        raise ConfigError("data", f"data: run folder '{folder}' holds a search on other data "
                                  f"({name}); use another run_dir (or study)")
    os.replace(fresh, path)


def _same_arrays(a: Path, b: Path) -> bool:
    with np.load(a, allow_pickle=False) as fa, np.load(b, allow_pickle=False) as fb:
        return set(fa) == set(fb) and all(np.array_equal(fa[k], fb[k]) for k in fa)


__all__ = ["DATA_TASK", "data_file", "data_options", "data_task", "store_data"]
