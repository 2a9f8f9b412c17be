"""CIFAR-10, MNIST and Fashion-MNIST in their standard files: where they lie, how to read
them (numpy only), and the download through torchvision, only when asked.

Layouts, as torchvision writes them under a data root: ``cifar-10-batches-py/`` (python
batches ``data_batch_1`` .. ``data_batch_5``, ``test_batch``), ``MNIST/raw/`` and
``FashionMNIST/raw/`` (idx files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each plain or ``.gz``). The data
root is ``root``, else ``$NAS_DATA``, else ``~/.cache/nas-toolkit/data``.
"""

from __future__ import annotations

import functools
import gzip
import os
import pickle
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays, and refuses any other callable (a
    pickle can run code; a data file has no reason to)."""

    ALLOWED = {*((f"numpy.{core}.multiarray", "_reconstruct") for core in ("core", "_core")),
               *((f"numpy.{core}.numeric", "_frombuffer") for core in ("core", "_core")),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: a CIFAR-10 batch "
                                         "holds only arrays, lists and strings")
        return super().find_class(module, name)


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: uint8 images ``(N, 3, 32, 32)`` and int64 labels ``(N,)``.

    The official format is a pickled dict (keys str or bytes, depending on the Python that
    wrote it); it is read as torchvision reads it (``encoding="latin1"``), except that
    nothing but numpy arrays and plain containers may be built from it.
    """
    with open(path, "rb") as f:
        try:
            d = _ArrayUnpickler(f, encoding="latin1").load()
        except pickle.UnpicklingError as exc:
            raise ValueError(f"{path} is not a CIFAR-10 batch: {exc}") from exc
    if not isinstance(d, dict):
        raise ValueError(f"{path} is not a CIFAR-10 batch (it holds a {type(d).__name__}, "
                         "not a dict)")
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


_IDX = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte")
_IDX_BY_HAND = "fetch the four files, each with .gz, from {url} into {folder} (gunzip optional)"
SOURCES: dict[str, Source] = {
    "cifar10": Source(
        title="CIFAR-10", folder="cifar-10-batches-py",
        files=(*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"),
        url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        by_hand="fetch {url} and unpack it in {base} (tar xzf makes {folder})",
        torchvision="CIFAR10", read=_read_cifar10, shape=(3, 32, 32), flip=True, gz=False),
    "mnist": Source(
        title="MNIST", folder="MNIST/raw", files=_IDX,
        url="https://ossci-datasets.s3.amazonaws.com/mnist/", by_hand=_IDX_BY_HAND,
        torchvision="MNIST", read=_read_mnist, shape=(1, 28, 28), flip=False, gz=True),
    "fashion_mnist": Source(
        title="Fashion-MNIST", folder="FashionMNIST/raw", files=_IDX,
        url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", by_hand=_IDX_BY_HAND,
        torchvision="FashionMNIST", read=_read_mnist, shape=(1, 28, 28), flip=False, gz=True),
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
    folder = (base / src.folder).resolve()
    stamp = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns)
                  for p in sorted(folder.iterdir()) if p.is_file())
    return _read_cached(name, str(folder), stamp)


@functools.lru_cache(maxsize=2)
def _read_cached(name: str, folder: str, stamp: tuple) -> Arrays:
    """The arrays, read once per process for the same files (``stamp``: names, sizes and
    modification times, so a file replaced on disk is read again)."""
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
