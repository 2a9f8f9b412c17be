"""Image classification on CIFAR-10, MNIST and Fashion-MNIST, read from their standard files.

Reading needs only numpy: CIFAR-10's python batches (``cifar-10-batches-py/``) and the idx
files of MNIST and Fashion-MNIST as torchvision lays them out (``MNIST/raw/``,
``FashionMNIST/raw/``, each file plain or gzipped). torchvision, the ``vision`` extra, is
used only to download, and only when asked: ``download=True`` in Python, or
``--task cifar10:download=true``. Without it nothing touches the network; missing files
raise ``DatasetNotFound`` naming the folder, the files, where to fetch them and the option
that downloads them.

The data folder is ``root`` (a task option), else ``$NAS_DATA``, else
``~/.cache/nas-toolkit/data``.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import os
import pickle
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from evaluators.splits import Splits, split_indices
from evaluators.supervised import SupervisedTask
from evaluators.trainer import TrainConfig
from nas import register_task

DATA_ENV = "NAS_DATA"
DEFAULT_ROOT = "~/.cache/nas-toolkit/data"
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # x_train, y_train, x_test, y_test


class DatasetNotFound(FileNotFoundError, ValueError):
    """A dataset's files are not on disk (and were not, or could not be, downloaded).

    Also a ValueError (as ``io.UnsupportedOperation`` is both an OSError and a ValueError):
    a task option (``root``) names a folder without the data, and callers that report bad
    task options by catching ValueError show its message.
    """


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data folder: ``root``, else ``$NAS_DATA``, else ``~/.cache/nas-toolkit/data``."""
    return Path(root or os.environ.get(DATA_ENV) or DEFAULT_ROOT).expanduser()


# ---------------------------------------------------------------- the files on disk
def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: uint8 images ``(N, 3, 32, 32)`` and int64 labels ``(N,)``.

    The official format is a pickle (read only files you trust); its keys may be str or
    bytes depending on the Python that wrote it.
    """
    with open(path, "rb") as f:
        d = pickle.load(f, encoding="latin1")
    data, labels = (d.get(k, d.get(k.encode())) for k in ("data", "labels"))
    if data is None or labels is None:
        raise ValueError(f"{path} is not a CIFAR-10 batch (no 'data' and 'labels' entries)")
    data = np.asarray(data, dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise ValueError(f"{path}: expected data (N, 3072) and N labels, got data "
                         f"{data.shape} and {len(labels)} labels")
    return data.reshape(-1, 3, 32, 32), np.asarray(labels, dtype=np.int64)  # (N, C, H, W)


def read_idx(path: Path) -> np.ndarray:
    """An idx file of unsigned bytes (MNIST's format), plain or gzipped, as its array."""
    with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[:3] != b"\0\0\x08" or len(raw) < 4 + 4 * raw[3]:
        raise ValueError(f"{path} is not an idx file of unsigned bytes (bad header); "
                         "delete it and fetch it again")
    dims = struct.unpack(f">{raw[3]}I", raw[4:4 + 4 * raw[3]])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * raw[3])
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path} is truncated: its header says {dims}, it holds {data.size} "
                         "bytes; delete it and fetch it again")
    return data.reshape(dims)


def _read_cifar10(folder: Path) -> Arrays:
    train = [read_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
    x_test, y_test = read_cifar_batch(folder / "test_batch")
    return (np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]),
            x_test, y_test)


def _read_mnist(folder: Path) -> Arrays:
    images, labels = [], []
    for split in ("train", "t10k"):
        x = read_idx(_idx_file(folder, f"{split}-images-idx3-ubyte"))
        y = read_idx(_idx_file(folder, f"{split}-labels-idx1-ubyte"))
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(f"{folder}: {split} images {x.shape} and labels {y.shape} do not "
                             "match (expected (N, H, W) and (N,))")
        images.append(x[:, None])  # (N, 1, H, W)
        labels.append(y.astype(np.int64))
    return images[0], labels[0], images[1], labels[1]


def _idx_file(folder: Path, name: str) -> Path:
    """``name`` in ``folder``, or its gzipped copy when only that is there."""
    plain = folder / name
    return plain if plain.is_file() or not (folder / f"{name}.gz").is_file() else \
        folder / f"{name}.gz"


@dataclass(frozen=True)
class Source:
    """How one dataset lies on disk, where it comes from and how to read it."""

    title: str  # its usual name, for messages
    folder: str  # under the data root, as torchvision lays it out
    files: tuple[str, ...]  # what must be in the folder (idx files may also be .gz)
    url: str  # where to fetch the files by hand
    by_hand: str  # how to fetch and place the files without torchvision ({url}, {base}, ...)
    torchvision: str  # the torchvision.datasets class that downloads them
    read: Callable[[Path], Arrays]
    shape: tuple[int, int, int]  # (C, H, W)
    flip: bool  # whether a mirror image is still the same class (augmentation)
    gz: bool  # whether a gzipped copy (name.gz) of a file will do

    def missing(self, folder: Path) -> list[str]:
        """The expected files that are not in ``folder``."""
        return [f for f in self.files
                if not (folder / f).is_file() and not (self.gz and (folder / f"{f}.gz").is_file())]


BY_HAND_IDX = "fetch the four files, each with .gz, from {url} into {folder} (gunzip optional)"
_IDX = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte")
SOURCES: dict[str, Source] = {
    "cifar10": Source(
        "CIFAR-10", "cifar-10-batches-py", (*(f"data_batch_{i}" for i in range(1, 6)),
                                            "test_batch"),
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "fetch {url} and unpack it in {base} (tar xzf makes {folder})", "CIFAR10",
        _read_cifar10, (3, 32, 32), flip=True, gz=False),
    "mnist": Source(
        "MNIST", "MNIST/raw", _IDX, "https://ossci-datasets.s3.amazonaws.com/mnist/",
        BY_HAND_IDX, "MNIST", _read_mnist, (1, 28, 28),
        flip=False, gz=True),
    "fashion_mnist": Source(
        "Fashion-MNIST", "FashionMNIST/raw", _IDX,
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        BY_HAND_IDX, "FashionMNIST", _read_mnist,
        (1, 28, 28), flip=False, gz=True),
}


def load_arrays(name: str, root: str | os.PathLike | None = None,
                download: bool = False) -> Arrays:
    """The official train and test splits of dataset ``name`` (a key of ``SOURCES``) as uint8
    images ``(N, C, H, W)`` and int64 labels, read from ``data_root(root)``.

    Missing files raise ``DatasetNotFound`` unless ``download`` is true: then torchvision
    fetches them (files already there are never fetched again).
    """
    src, base = SOURCES[name], data_root(root)
    missing = src.missing(base / src.folder)
    if missing and download:
        _download(src, base)
        missing = src.missing(base / src.folder)
    if missing:
        raise DatasetNotFound(f"{src.title} is not on disk: {base / src.folder} lacks "
                              f"{', '.join(missing)}. {_hint(name, src, base)}")
    return _read_cached(name, str((base / src.folder).resolve()))


@functools.lru_cache(maxsize=2)
def _read_cached(name: str, folder: str) -> Arrays:
    return SOURCES[name].read(Path(folder))


def _hint(name: str, src: Source, base: Path) -> str:
    return (f"Download it with the task option download=true (--task {name}:download=true, "
            f"or download=True in Python; needs pip install 'nas-toolkit[vision]'), or by "
            f"hand: {_by_hand(src, base)}. The data folder is the option root=PATH, else "
            f"${DATA_ENV}, else {DEFAULT_ROOT}.")


def _by_hand(src: Source, base: Path) -> str:
    return src.by_hand.format(url=src.url, base=base, folder=base / src.folder)


def _download(src: Source, base: Path) -> None:
    """Fetch ``src`` into ``base`` with torchvision (the official archives, checksummed)."""
    try:
        from torchvision import datasets
    except ImportError as exc:
        raise ImportError(f"downloading {src.title} needs torchvision: pip install "
                          f"'nas-toolkit[vision]', or put the files in {base / src.folder} "
                          f"yourself (from {src.url})") from exc
    try:
        for train in (True, False):
            getattr(datasets, src.torchvision)(str(base), train=train, download=True)
    except Exception as exc:
        raise DatasetNotFound(f"downloading {src.title} into {base} failed ({type(exc).__name__}:"
                              f" {exc}); without internet, do it by hand: "
                              f"{_by_hand(src, base)}") from exc


# ---------------------------------------------------------------- augmentation
def shift_and_flip(x: torch.Tensor, pad: int, flip: bool) -> torch.Tensor:
    """Random translations of up to ``pad`` pixels (zero padding, then a crop of the
    original size) and, when ``flip``, random horizontal mirroring, of a batch
    ``(B, C, H, W)``: one gather on the batch's device, drawn from torch's global RNG."""
    b, c, h, w = x.shape
    dev = x.device
    padded = F.pad(x, (pad, pad, pad, pad))  # (B, C, H + 2p, W + 2p)
    rows = torch.randint(0, 2 * pad + 1, (b, 1), device=dev) + torch.arange(h, device=dev)
    cols = torch.randint(0, 2 * pad + 1, (b, 1), device=dev) + torch.arange(w, device=dev)
    if flip:
        cols = torch.where(torch.rand(b, 1, device=dev) < 0.5, cols.flip(1), cols)
    batch = torch.arange(b, device=dev)[:, None, None, None]
    chans = torch.arange(c, device=dev)[None, :, None, None]
    return padded[batch, chans, rows[:, None, :, None], cols[:, None, None, :]]  # (B, C, H, W)


class AugmentedImages:
    """Training images that come back augmented (``shift_and_flip``) when the trainer
    indexes a batch; ``len``, ``shape`` and ``to`` as for the tensor they wrap."""

    def __init__(self, images: torch.Tensor, pad: int, flip: bool):
        self.images, self.pad, self.flip = images, pad, flip
        self.shape, self.dtype = images.shape, images.dtype

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, idx) -> torch.Tensor:
        return shift_and_flip(self.images[idx], self.pad, self.flip)

    def to(self, *args, **kwargs) -> AugmentedImages:
        return AugmentedImages(self.images.to(*args, **kwargs), self.pad, self.flip)


# ---------------------------------------------------------------- the tasks
OPTIONS = {"root": str, "download": bool, "train_size": int, "val_size": float,
           "split_seed": int, "augment": bool}


def parse_options(text: str) -> dict:
    """``"download=true,train_size=5000"`` (the text after ``cifar10:``) as keyword
    arguments; a bare item without ``=`` is the data root."""
    out: dict = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip().replace("-", "_") if eq else "root"
        value = value.strip() if eq else item
        if key not in OPTIONS:
            raise ValueError(f"unknown image task option '{key}' in '{text}' (known: "
                             f"{', '.join(OPTIONS)}; e.g. cifar10:download=true,train_size=5000)")
        out[key] = _convert(key, value)
    return out


def _convert(key: str, value: str):
    kind = OPTIONS[key]
    if kind is str:
        return value
    if kind is bool:
        if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"image task option {key}={value}: write true or false")
        return value.lower() in ("true", "1", "yes")
    if key == "train_size" and value.lower() in ("all", "none"):
        return None
    try:
        number = float(value) if kind is float else int(value)
    except ValueError:
        raise ValueError(f"image task option {key}={value}: expected a number") from None
    return int(number) if kind is float and number >= 1 else number


class ImageTask(SupervisedTask):
    """A 10-class image dataset in its standard files: official test split, validation
    carved from the official training split, images standardized per channel."""

    name = "image"

    def __init__(self, options: str = "", *, root: str | os.PathLike | None = None,
                 download: bool = False, train_size: int | None = None,
                 val_size: float | int = 0.1, split_seed: int = 0, augment: bool = False,
                 config: TrainConfig | dict | None = None):
        given = parse_options(options)
        kwargs = {"root": root, "download": download, "train_size": train_size,
                  "val_size": val_size, "split_seed": split_seed, "augment": augment}
        defaults = ImageTask.__init__.__kwdefaults__
        clash = [k for k in given if kwargs[k] != defaults[k]]
        if clash:
            raise ValueError(f"{self.name}: option(s) {', '.join(clash)} given twice (in "
                             f"'{self.name}:{options}' and as keyword arguments)")
        o = {**kwargs, **given}
        src = SOURCES[self.name]
        x, y, x_test, y_test = load_arrays(self.name, o["root"], o["download"])
        train, val, _ = split_indices(len(x), o["val_size"], 0, seed=o["split_seed"])
        if o["train_size"] is not None and o["train_size"] < len(train):
            if o["train_size"] < 1:
                raise ValueError(f"{self.name}: train_size must be >= 1, got {o['train_size']}")
            rng = np.random.default_rng(o["split_seed"])
            train = np.sort(rng.choice(train, o["train_size"], replace=False))
        xs = [torch.tensor(a, dtype=torch.float32).div_(255) for a in (x[train], x[val], x_test)]
        mean = xs[0].mean(dim=(0, 2, 3), keepdim=True)  # (1, C, 1, 1), training split only
        std = xs[0].std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
        xs = [a.sub_(mean).div_(std) for a in xs]
        ys = [torch.from_numpy(a) for a in (y[train], y[val], y_test)]
        splits = Splits(xs[0], ys[0], xs[1], ys[1], xs[2], ys[2])
        super().__init__(splits, "classification", n_out=10, config=config)
        self.mean, self.std = mean.flatten(), std.flatten()
        self.augment, self.flip = o["augment"], src.flip
        self.pad = max(1, src.shape[1] // 8)  # 4 pixels on 32x32, 3 on 28x28

    def splits_on(self, device: torch.device) -> Splits:
        """The splits on ``device``; with ``augment`` the training images come back
        randomly shifted (and flipped, on CIFAR-10) whenever the trainer takes a batch."""
        data = super().splits_on(device)
        if not self.augment:
            return data
        return dataclasses.replace(data, x_train=AugmentedImages(data.x_train, self.pad,
                                                                 self.flip))


_OPTIONS_DOC = """
    Options (keyword arguments, or ``{name}:key=value,...`` on the command line): ``root``
    the data folder (default ``$NAS_DATA``, else ``~/.cache/nas-toolkit/data``);
    ``download`` fetch missing files with torchvision (``pip install
    'nas-toolkit[vision]'``; off by default: nothing touches the network unless asked);
    ``train_size`` at most this many training images, drawn at random (default: all);
    ``val_size`` validation images carved from the official training split by a
    permutation seeded with ``split_seed`` (a count, or a fraction below 1; default 0.1);
    ``augment`` random shifts{flip} while training (default off). The test split is the
    official one (10,000 images). Images are standardized per channel with the training
    split's mean and std.
"""


@register_task("cifar10")
class CIFAR10(ImageTask):
    """CIFAR-10: 60,000 32x32 colour images of 10 classes as (3, 32, 32); files on disk."""

    name = "cifar10"
    __doc__ += _OPTIONS_DOC.format(name=name, flip=" by up to 4 pixels and horizontal flips")


@register_task("mnist")
class MNIST(ImageTask):
    """MNIST: 70,000 28x28 handwritten digits as (1, 28, 28); files on disk."""

    name = "mnist"
    __doc__ += _OPTIONS_DOC.format(name=name, flip=" by up to 3 pixels")


@register_task("fashion_mnist")
class FashionMNIST(ImageTask):
    """Fashion-MNIST: 70,000 28x28 grey images of 10 clothing kinds as (1, 28, 28); on disk."""

    name = "fashion_mnist"
    __doc__ += _OPTIONS_DOC.format(name=name, flip=" by up to 3 pixels")
