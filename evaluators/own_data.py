"""The ``arrays`` task: your own data, in memory or in a file, as a task a run folder stores.

``data`` may be graph data (``evaluators.own_graphs``: a ``gnn`` task), a pair ``(x, y)``
of arrays or tensors, a ``torch.utils.data.Dataset`` of ``(input, label)`` items (or a
pair ``(train, val)`` of them, the second the validation split), a pandas DataFrame with
``target=COLUMN``, a folder of images (one subfolder per class), a ``.csv`` file with
``target=COLUMN``, or an ``.npz`` file as ``save`` writes it (``arrays:PATH`` on the
command line). ``save`` writes the arrays to one ``.npz`` (no pickle), from which every
worker process and ``nas resume`` rebuild the same task.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from evaluators.arrays import ArrayTask, _as_numpy
from evaluators.choose_space import choose_space
from evaluators.image_folder import read_image_folder
from evaluators.own_graphs import graph_task, is_graph_data
from evaluators.recipe import TrainConfig
from evaluators.splits import split_indices
from evaluators.tabular import frame_arrays
from nas import register_task

MAX_BYTES = 2 * 1024 ** 3  # data a run folder takes; above it, pass an .npz you wrote
INPUTS = ("auto", "features", "tokens")
TARGET = "nas.search(..., data=df, target=COLUMN), or get_task('arrays', data=df, target=COLUMN)"


@register_task("arrays")
def arrays(data=None, target: str | None = None, features: list[str] | None = None,
           kind: str = "auto", inputs: str = "auto", val_size: float | int = 0.15,
           test_size: float | int = 0.15, split_seed: int = 0, standardize: bool = True,
           config: TrainConfig | dict | None = None):
    """Your own data: (x, y), a Dataset, a DataFrame (target=...), an image folder, graphs or .npz.

    Graph data (one graph with ``x``, ``edge_index``, ``y``, or a list of graphs; see
    ``evaluators.own_graphs``) gives a ``gnn`` task; anything else a ``DataTask``.
    """
    if is_graph_data(data):
        if inputs != "auto":
            raise ValueError(f"graph data takes no inputs= option, got inputs={inputs!r}")
        return graph_task(data, target, features, kind, val_size, test_size, split_seed,
                          config)
    return DataTask(data, target, features, kind, inputs, val_size, test_size, split_seed,
                    standardize, config)


class DataTask(ArrayTask):
    """Your own data: (x, y), a Dataset, a DataFrame (target=...), an image folder or .npz.

    ``get_task("arrays", data=(x, y))``, ``get_task("arrays:data.npz")``. Classification
    or regression as the targets say (``kind``); ``inputs="tokens"`` treats integer
    inputs as token ids, ``"features"`` as numbers (``"auto"``: 2-D integer arrays, not
    uint8, are tokens). Splits: ``val_size`` / ``test_size`` of the data, seeded by
    ``split_seed``; a given validation Dataset is used as it is. ``auto_space`` names
    the space ``space="auto"`` takes, with the reason.
    """

    def __init__(self, data=None, target: str | None = None,
                 features: list[str] | None = None, kind: str = "auto", inputs: str = "auto",
                 val_size: float | int = 0.15, test_size: float | int = 0.15,
                 split_seed: int = 0, standardize: bool = True,
                 config: TrainConfig | dict | None = None):
        if data is None:
            raise ValueError("the arrays task needs data: (x, y) arrays, a Dataset, a "
                             "DataFrame with target=COLUMN, an image folder, or arrays:FILE.npz")
        if inputs not in INPUTS:
            raise ValueError(f"inputs must be one of {', '.join(INPUTS)}, got {inputs!r}")
        x, y, indices, self.source, self.features = load_data(data, target, features)
        tokens = inputs == "tokens" or (inputs == "auto" and _looks_like_tokens(x))
        if tokens and (x.dtype.kind not in "iu" or x.min() < 0):
            raise ValueError("token inputs must be integers >= 0; for numbers pass "
                             "inputs='features'")
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} samples but y has {len(y)}: give one target "
                             "per sample")
        if indices is None:
            indices = split_indices(len(x), val_size, test_size, seed=split_seed)
        self.raw = (x, y, indices)  # what ``save`` writes
        super().__init__(x, y, kind=kind, standardize=standardize, config=config,
                         indices=indices, tokens=tokens)
        self.tokens = tokens
        self.options = {"kind": self.kind, "inputs": "tokens" if tokens else "features",
                        "standardize": standardize, "config": _config_dict(config)}
        self.auto_space = choose_space(x, tokens=tokens)

    # ------------------------------------------------------------ the run folder
    def save(self, path: str | Path) -> dict:
        """Write the data and its splits to ``path`` (.npz, readable without pickle) and
        return the task options (``options``) that rebuild this task from it
        (``data=path``)."""
        x, y, (train, val, test) = self.raw
        if x.nbytes + y.nbytes > MAX_BYTES:
            raise ValueError(f"the data takes {(x.nbytes + y.nbytes) / 2**30:.1f} GiB, more "
                             f"than a run folder stores ({MAX_BYTES / 2**30:.0f} GiB): save it "
                             "yourself (numpy.savez) and search task='arrays:FILE.npz'")
        np.savez(path, x=x, y=y, train=train, val=val, test=test)
        return {k: v for k, v in self.options.items() if v is not None}

    def summary(self) -> str:
        """One line: how many samples of what, which kind of task, the splits."""
        what = f"{len(self.classes)} classes" if self.kind == "classification" else \
            f"{self.n_out} target(s)"
        shape = self.in_shape.shape if self.tokens else self.in_shape
        return (f"data: {self.source}, {sum(self.splits.sizes)} samples of {tuple(shape)}"
                f"{' token ids' if self.tokens else ''}; {self.kind} with {what}; "
                f"train/val/test {'/'.join(map(str, self.splits.sizes))}")

    # ------------------------------------------------------------ new inputs (predict)
    def prepare(self, x) -> torch.Tensor:
        """New inputs (arrays, a tensor or a DataFrame) as the trained model expects them:
        the same columns, dtype and standardization as the training data."""
        if isinstance(x, pd.DataFrame):
            x = x[self.features] if self.features else x
            x = x.to_numpy(dtype="float32")
        x = _as_numpy(x, "X")
        if x.ndim == 1:
            x = x[:, None]
        shape = tuple(self.in_shape.shape if self.tokens else self.in_shape)
        if tuple(x.shape[1:]) != shape:
            raise ValueError(f"X has samples of shape {tuple(x.shape[1:])}, the model was "
                             f"fitted on {shape}")
        if self.tokens:
            return torch.as_tensor(x.astype(np.int64))
        return torch.as_tensor((x.astype(np.float32) - self.x_mean) / self.x_std)

    def predictions(self, out: torch.Tensor) -> np.ndarray:
        """Model outputs as predictions: class labels, or targets in their own units."""
        out = out.detach().cpu().numpy()
        if self.kind == "classification":
            return self.classes[out.argmax(1)]
        y = out.astype(np.float64) * self.y_std + self.y_mean  # (N, k)
        return y[:, 0] if self.raw[1].ndim == 1 else y

    def probabilities(self, out: torch.Tensor) -> np.ndarray:
        """Class probabilities ``(N, C)``, columns in the order of ``classes``."""
        return torch.softmax(out.detach().float(), dim=1).cpu().numpy()


def load_data(data, target: str | None = None, features: list[str] | None = None,
              ) -> tuple[np.ndarray, np.ndarray, tuple | None, str, list[str] | None]:
    """``(x, y, indices or None, description, feature columns or None)`` of any ``data``
    the task accepts."""
    if isinstance(data, str | Path):
        return _load_path(Path(data), target, features)
    if isinstance(data, pd.DataFrame):
        x, y, features, _ = frame_arrays(data, target, features, "auto", "the DataFrame",
                                         who="arrays task", how=TARGET)
        return x, y, None, f"a DataFrame (target '{target}')", features
    if isinstance(data, tuple | list) and len(data) == 2:
        if all(_is_dataset(d) for d in data):  # (train, val)
            (x, y), (xv, yv) = _dataset_arrays(data[0], "train"), _dataset_arrays(data[1], "val")
            train, test = split_indices(len(x), 0, 0.15)[::2]
            val = np.arange(len(x), len(x) + len(xv))
            return (np.concatenate([x, xv]), np.concatenate([y, yv]), (train, val, test),
                    "a train and a validation Dataset", None)
        x, y = (_as_numpy(a, n) for a, n in zip(data, "xy"))
        if x.dtype.kind not in "biuf":
            raise ValueError(f"x holds {x.dtype} values, not numbers: encode them as numbers "
                             "first (data must be (x, y) with x numeric)")
        return x, _labels(y), None, "arrays (x, y)", None
    if _is_dataset(data):
        return (*_dataset_arrays(data, "data"), None, "a Dataset", None)
    raise TypeError(f"data must be (x, y) arrays or tensors, a torch Dataset, a DataFrame, an "
                    f"image folder or an .npz file, got {type(data).__name__}")


def _load_path(path: Path, target: str | None, features: list[str] | None) -> tuple:
    if path.is_dir():
        x, y = read_image_folder(path)
        return x, y, None, f"image folder '{path}'", None
    if not path.is_file():
        raise FileNotFoundError(f"arrays task: no file or folder at '{path}'")
    if path.suffix == ".csv":
        x, y, features, _ = frame_arrays(pd.read_csv(path), target, features, "auto",
                                         f"'{path}'", who="arrays task", how=TARGET)
        return x, y, None, f"'{path}' (target '{target}')", features
    if path.suffix != ".npz":
        raise ValueError(f"arrays task: '{path}' is neither a folder, a .csv nor an .npz file")
    with np.load(path, allow_pickle=False) as f:
        if "x" not in f or "y" not in f:
            raise ValueError(f"'{path}' needs arrays named x and y (it has {', '.join(f)})")
        keys = ("train", "val", "test")
        indices = tuple(f[k] for k in keys) if all(k in f for k in keys) else None
        return f["x"], f["y"], indices, f"'{path.name}'", None


def _is_dataset(d) -> bool:
    return isinstance(d, torch.utils.data.Dataset) or (
        hasattr(d, "__getitem__") and hasattr(d, "__len__") and
        not isinstance(d, np.ndarray | torch.Tensor | list | tuple | str | pd.DataFrame))


def _dataset_arrays(ds, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Every ``(input, label)`` item of a Dataset, stacked; refuses items that are not
    numbers, and data larger than ``MAX_BYTES``, before reading them all."""
    n = len(ds)
    if n == 0:
        raise ValueError(f"the {what} Dataset is empty")
    items = [_item(ds[0], 0, what)]
    if items[0][0].nbytes * n > MAX_BYTES:
        raise ValueError(f"the {what} Dataset holds about {items[0][0].nbytes * n / 2**30:.1f} "
                         f"GiB, more than a run folder stores: save it as arrays yourself "
                         "(numpy.savez(x=..., y=...)) and search task='arrays:FILE.npz'")
    items += [_item(ds[i], i, what) for i in range(1, n)]
    shapes = {x.shape for x, _ in items}
    if len(shapes) > 1:
        raise ValueError(f"the {what} Dataset's inputs have {len(shapes)} shapes "
                         f"({', '.join(map(str, sorted(shapes)[:2]))}, ...): give every "
                         "sample one shape")
    return np.stack([x for x, _ in items]), _labels(np.array([y for _, y in items]))


def _item(item, i: int, what: str) -> tuple[np.ndarray, object]:
    if not (isinstance(item, tuple | list) and len(item) == 2):
        raise ValueError(f"item {i} of the {what} Dataset is a {type(item).__name__}: "
                         "items must be (input, label) pairs")
    x, y = item
    x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise ValueError(f"item {i} of the {what} Dataset has an input of "
                         f"{type(item[0]).__name__} ({x.dtype}), not numbers: add a transform "
                         "that returns a tensor (e.g. torchvision's ToTensor)")
    y = y.item() if isinstance(y, torch.Tensor) and y.numel() == 1 else y
    return x, y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else y


def _labels(y: np.ndarray) -> np.ndarray:
    """Targets storable without pickle: Python objects (e.g. text labels) become text."""
    return y.astype(str) if y.dtype == object else y


def _looks_like_tokens(x: np.ndarray) -> bool:
    return x.ndim == 2 and x.dtype.kind in "iu" and x.dtype != np.uint8


def _config_dict(config: TrainConfig | dict | None) -> dict | None:
    if isinstance(config, TrainConfig):
        return dataclasses.asdict(config)
    return dict(config) if config else None
