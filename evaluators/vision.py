"""Image classification tasks on CIFAR-10, MNIST and Fashion-MNIST (``cifar10``, ``mnist``,
``fashion_mnist``), with optional shift-and-flip augmentation applied on the device.

The files are read by ``evaluators.image_files`` with numpy alone; torchvision (the
``vision`` extra) is used only to download, and only when asked: ``download=True`` in
Python, or ``--task cifar10:download=true``. Without it nothing touches the network;
missing files raise ``DatasetNotFound`` naming the folder, the files, where to fetch them
and the option that downloads them.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import torch
import torch.nn.functional as F

from evaluators.image_files import SOURCES, load_arrays
from evaluators.recipe import TrainConfig
from evaluators.splits import Splits, split_indices
from evaluators.supervised import SupervisedTask
from nas import register_task


# ---------------------------------------------------------------- augmentation
def shift_and_flip(x: torch.Tensor, pad: int, flip: bool) -> torch.Tensor:
    """Random translations of up to ``pad`` pixels (zero padding, the mean colour of
    standardized images, then a crop of the original size) and, when ``flip``, random
    horizontal mirroring, of a batch ``(B, C, H, W)``: one gather on the batch's device,
    drawn from torch's global RNG (which the trainer seeds)."""
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
           "test_size": int, "split_seed": int, "augment": bool}


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
    if key in ("train_size", "test_size") and value.lower() in ("all", "none"):
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
                 val_size: float | int = 0.1, test_size: int | None = None,
                 split_seed: int = 0, augment: bool = False,
                 config: TrainConfig | dict | None = None):
        given = parse_options(options)
        kwargs = {"root": root, "download": download, "train_size": train_size,
                  "val_size": val_size, "test_size": test_size, "split_seed": split_seed,
                  "augment": augment}
        defaults = ImageTask.__init__.__kwdefaults__
        clash = [k for k in given if kwargs[k] != defaults[k]]
        if clash:
            raise ValueError(f"{self.name}: option(s) {', '.join(clash)} given twice (in "
                             f"'{self.name}:{options}' and as keyword arguments)")
        o = {**kwargs, **given}
        src = SOURCES[self.name]
        x, y, x_test, y_test = load_arrays(self.name, o["root"], o["download"])
        train, val, _ = split_indices(len(x), o["val_size"], 0, seed=o["split_seed"])
        train = self._subset(train, o["train_size"], o["split_seed"], "train_size")
        test = self._subset(np.arange(len(x_test)), o["test_size"], o["split_seed"], "test_size")
        xs = [torch.tensor(x[i], dtype=torch.float32).div_(255) for i in (train, val)]
        xs.append(torch.tensor(x_test[test], dtype=torch.float32).div_(255))
        mean = xs[0].mean(dim=(0, 2, 3), keepdim=True)  # (1, C, 1, 1), training split only
        std = xs[0].std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
        xs = [a.sub_(mean).div_(std) for a in xs]
        ys = [torch.from_numpy(a) for a in (y[train], y[val], y_test[test])]
        splits = Splits(xs[0], ys[0], xs[1], ys[1], xs[2], ys[2])
        super().__init__(splits, "classification", n_out=10, config=config)
        self.mean, self.std = mean.flatten(), std.flatten()
        self.augment, self.flip = o["augment"], src.flip
        self.pad = max(1, src.shape[1] // 8)  # 4 pixels on 32x32, 3 on 28x28

    def _subset(self, idx: np.ndarray, size: int | None, seed: int, what: str) -> np.ndarray:
        """At most ``size`` of ``idx`` (all when None), drawn by ``seed``, in file order."""
        if size is None or size >= len(idx):
            return idx
        if size < 1:
            raise ValueError(f"{self.name}: {what} must be >= 1 (or all), got {size}")
        return np.sort(np.random.default_rng(seed).choice(idx, size, replace=False))

    def splits_on(self, device: torch.device) -> Splits:
        """The splits on ``device``; with ``augment`` the training images come back
        randomly shifted (and flipped, on CIFAR-10) whenever the trainer takes a batch."""
        data = super().splits_on(device)
        if not self.augment:
            return data
        return dataclasses.replace(data, x_train=AugmentedImages(data.x_train, self.pad,
                                                                 self.flip))


_OPTIONS_DOC = """

    Options (keyword arguments, or ``{name}:key=value,...`` on the command line):
    ``root`` the data folder (default ``$NAS_DATA``, else ``~/.cache/nas-toolkit/data``);
    ``download`` fetch missing files with torchvision (``pip install
    'nas-toolkit[vision]'``; off by default: nothing touches the network unless asked);
    ``val_size`` validation images carved from the official training split by a
    permutation seeded with ``split_seed`` (a count, or a fraction below 1; default 0.1,
    {val} images); ``train_size`` at most this many of the other training images, drawn
    by the seed (default: all {train}); ``test_size`` at most this many images of the
    official test split (default: all 10,000; the test metric is only recorded);
    ``augment`` (default off) random shifts{flip} while
    training.

    Images are standardized per channel with the training split's mean and std; all
    splits live on the device. Every candidate is scored on the validation and test
    images, so on a CPU smaller splits (``train_size=10000,val_size=1000,test_size=2000``)
    make a search affordable.
"""


@register_task("cifar10")
class CIFAR10(ImageTask):
    """CIFAR-10: 60,000 32x32 colour images, 10 classes, (3, 32, 32); download=true fetches."""

    name = "cifar10"
    __doc__ += _OPTIONS_DOC.format(name=name, val="5,000", train="45,000",
                                   flip=" by up to 4 pixels and horizontal flips")


@register_task("mnist")
class MNIST(ImageTask):
    """MNIST: 70,000 28x28 handwritten digits, (1, 28, 28); download=true fetches."""

    name = "mnist"
    __doc__ += _OPTIONS_DOC.format(name=name, val="6,000", train="54,000",
                                   flip=" by up to 3 pixels")


@register_task("fashion_mnist")
class FashionMNIST(ImageTask):
    """Fashion-MNIST: 70,000 28x28 images of 10 clothes, (1, 28, 28); download=true fetches."""

    name = "fashion_mnist"
    __doc__ += _OPTIONS_DOC.format(name=name, val="6,000", train="54,000",
                                   flip=" by up to 3 pixels")
