"""MNIST-1D (Greydanus, 2020), regenerated offline by the ``mnist1d`` package."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from evaluators.image_files import data_root
from evaluators.recipe import TrainConfig
from evaluators.splits import Splits, split_indices
from evaluators.supervised import SupervisedTask
from nas import Budget, register_task

KEYS = ("x", "y", "x_test", "y_test")


@functools.lru_cache(maxsize=1)
def mnist1d_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The published dataset: (x_train (4000, 40), y_train, x_test (1000, 40), y_test).

    Generated from the package's default arguments (about a second, no download), then
    read from the cache file ``mnist1d_cache_path()`` by every later process, and kept
    for the life of this one.
    """
    return cached_mnist1d()


def mnist1d_cache_path(root: str | os.PathLike | None = None) -> Path:
    """``mnist1d-<hash>.npz`` in the data folder (``root``, else ``$NAS_DATA``, else
    ``~/.cache/nas-toolkit/data``). The hash covers the generator's version and source,
    which holds its default arguments; it is computed without importing the package,
    whose import (scipy, matplotlib) costs more than reading the cache."""
    h = hashlib.sha256()
    spec = importlib.util.find_spec("mnist1d")
    if spec is not None and spec.submodule_search_locations:
        for f in sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.py")):
            h.update(f.name.encode() + f.read_bytes())
    with contextlib.suppress(metadata.PackageNotFoundError):
        h.update(metadata.version("mnist1d").encode())
    return data_root(root) / f"mnist1d-{h.hexdigest()[:16]}.npz"


def cached_mnist1d(root: str | os.PathLike | None = None) -> tuple[np.ndarray, ...]:
    """The arrays from the cache file, or generated (and cached) when it is missing or
    unreadable. A folder that cannot be written is no error: the arrays are generated."""
    path = mnist1d_cache_path(root)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = tuple(f[k] for k in KEYS)
        if _well_formed(arrays):
            return arrays
    except Exception:  # missing, truncated, not an npz, keys missing: generate
        pass
    from mnist1d.data import get_dataset_args, make_dataset

    d = make_dataset(get_dataset_args())
    arrays = tuple(d[k] for k in KEYS)
    _write_atomic(path, arrays)
    return arrays


def _well_formed(arrays) -> bool:
    x, y, x_test, y_test = arrays
    return (x.ndim == 2 and x_test.ndim == 2 and x.shape[1] == x_test.shape[1]
            and len(x) == len(y) > 0 and len(x_test) == len(y_test) > 0
            and x.dtype.kind == "f" and y.dtype.kind in "iu")


def _write_atomic(path: Path, arrays) -> None:
    """Write to a temporary file beside ``path``, then rename: readers never see half."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.stem, suffix=".tmp",
                                         delete=False) as f:
            tmp = Path(f.name)
            np.savez(f, **dict(zip(KEYS, arrays)))
        os.replace(tmp, path)
    except OSError:  # read-only or full disk: the next process generates again
        if tmp is not None:
            tmp.unlink(missing_ok=True)


@register_task("mnist1d")
class MNIST1D(SupervisedTask):
    """MNIST-1D: 10-class 1-D digits of length 40, 4,000 train / 1,000 test (the default).

    The validation split (``val_size`` samples, 500 by default) is carved out of the
    training set by a permutation seeded with ``split_seed``; the test split is the
    published one. Inputs are float32 ``(N, 1, 40)``. A candidate trains 1,000 steps by
    default, capped at 30 s of CPU time (an outlier too slow for that gets a shorter
    schedule and is marked ``capped``), so the default search stays within minutes on a
    laptop CPU whatever the strategy proposes.
    """

    name = "mnist1d"
    default_budget = Budget(1000, "steps", max_seconds=30.0)

    def __init__(self, val_size: int = 500, split_seed: int = 0,
                 config: TrainConfig | dict | None = None):
        x, y, x_test, y_test = mnist1d_arrays()
        x = torch.as_tensor(x, dtype=torch.float32).unsqueeze(1)  # (4000, 1, 40)
        y = torch.as_tensor(y, dtype=torch.long)
        train, val, _ = split_indices(len(x), val_size, 0, seed=split_seed)
        t = torch.as_tensor(train)
        v = torch.as_tensor(val)
        splits = Splits(x[t], y[t], x[v], y[v],
                        torch.as_tensor(x_test, dtype=torch.float32).unsqueeze(1),
                        torch.as_tensor(y_test, dtype=torch.long))
        super().__init__(splits, "classification", n_out=10, config=config)
