"""Tiny stand-ins for CIFAR-10, MNIST and Fashion-MNIST in their exact on-disk formats.

Written into a temporary data folder so the image tasks can be tested (and the contract
tests over every registered task can run) with no download. The images are random bytes;
each split holds every class.
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np

N_TRAIN, N_TEST = 60, 20


def images_and_labels(n: int, shape: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random uint8 images of ``shape`` and labels covering the 10 classes."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, size=(n, *shape), dtype=np.uint8),
            rng.permutation(np.arange(n) % 10).astype(np.int64))


def write_cifar10(root: Path, n_train: int = N_TRAIN, n_test: int = N_TEST, seed: int = 0,
                  str_keys: bool = True) -> tuple[np.ndarray, ...]:
    """``root/cifar-10-batches-py/data_batch_1..5`` and ``test_batch``: pickled dicts of
    ``data`` (N, 3072) uint8 and ``labels`` (a list), keyed by str (the official files,
    Python 2 pickles, read so with ``encoding="latin1"``) or by bytes (``str_keys=False``)."""
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    x, y = images_and_labels(n_train, (3, 32, 32), seed)
    x_test, y_test = images_and_labels(n_test, (3, 32, 32), seed + 1)
    parts = np.array_split(np.arange(n_train), 5)
    files = [(f"data_batch_{i + 1}", x[p], y[p]) for i, p in enumerate(parts)]
    for name, xs, ys in [*files, ("test_batch", x_test, y_test)]:
        d = {"batch_label": name, "data": xs.reshape(len(xs), -1), "labels": ys.tolist(),
             "filenames": [f"{name}_{i}.png" for i in range(len(xs))]}
        if not str_keys:
            d = {k.encode(): v for k, v in d.items()}
        (folder / name).write_bytes(pickle.dumps(d, protocol=2))
    return x, y, x_test, y_test


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> None:
    """``array`` (uint8) as an idx file: magic 0x0000080D (D dimensions), big-endian int32
    sizes, then the bytes; gzipped as ``path.gz`` when ``gz``."""
    header = struct.pack(f">4B{array.ndim}I", 0, 0, 8, array.ndim, *array.shape)
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if gz:
        Path(f"{path}.gz").write_bytes(gzip.compress(data))
    else:
        Path(path).write_bytes(data)


def write_mnist(root: Path, folder: str = "MNIST", n_train: int = N_TRAIN, n_test: int = N_TEST,
                seed: int = 0, gz: bool = False) -> tuple[np.ndarray, ...]:
    """``root/<folder>/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` as torchvision
    lays out MNIST (folder ``MNIST``) and Fashion-MNIST (``FashionMNIST``)."""
    raw = Path(root) / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    x, y = images_and_labels(n_train, (28, 28), seed)
    x_test, y_test = images_and_labels(n_test, (28, 28), seed + 1)
    for split, xs, ys in (("train", x, y), ("t10k", x_test, y_test)):
        write_idx(raw / f"{split}-images-idx3-ubyte", xs, gz)
        write_idx(raw / f"{split}-labels-idx1-ubyte", ys.astype(np.uint8), gz)
    return x[:, None], y, x_test[:, None], y_test


def write_all(root: Path) -> dict[str, tuple[np.ndarray, ...]]:
    """Stand-ins for the three tasks under one data root (MNIST gzipped, Fashion plain),
    and the arrays they hold, by task name: (x_train, y_train, x_test, y_test)."""
    return {"cifar10": write_cifar10(root),
            "mnist": write_mnist(root, "MNIST", seed=2, gz=True),
            "fashion_mnist": write_mnist(root, "FashionMNIST", seed=4)}
