"""Image tasks (cifar10, mnist, fashion_mnist) on tiny stand-ins in the exact on-disk formats:
what they read, how they split and standardize, that they train, that missing files say where
to put them, and that the network is touched only when a download is asked for."""

from __future__ import annotations

import math
import os
import pickle
import sys
import types
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner
from vision_standins import N_TEST, N_TRAIN, write_cifar10, write_idx, write_mnist

import nas
from cli.main import app
from evaluators import DatasetNotFound, TrainConfig, split_indices
from evaluators.image_files import data_root, read_idx
from evaluators.vision import AugmentedImages, shift_and_flip

QUICK = TrainConfig(latency_runs=2, batch_size=16)
NAMES = ["cifar10", "mnist", "fashion_mnist"]
FOLDERS = {"cifar10": "cifar-10-batches-py", "mnist": "MNIST/raw",
           "fashion_mnist": "FashionMNIST/raw"}


def write(name: str, root, **kw) -> tuple[np.ndarray, ...]:
    """A stand-in for task ``name`` under ``root``: (x_train, y_train, x_test, y_test)."""
    if name == "cifar10":
        return write_cifar10(root, **kw)
    return write_mnist(root, "MNIST" if name == "mnist" else "FashionMNIST", **kw)


def rows(x: torch.Tensor) -> set[bytes]:
    return {r.numpy().tobytes() for r in x}


# ---------------------------------------------------------------- reading and splitting
@pytest.mark.parametrize("name, fmt", [("cifar10", "str keys"), ("cifar10", "bytes keys"),
                                       ("mnist", "plain"), ("mnist", "gz"),
                                       ("fashion_mnist", "plain"), ("fashion_mnist", "gz")])
def test_a_task_reads_its_files_splits_and_standardizes(name, fmt, tmp_path):
    kw = {"str_keys": fmt == "str keys"} if name == "cifar10" else {"gz": fmt == "gz"}
    x, y, x_test, y_test = write(name, tmp_path, **kw)
    task = nas.get_task(name, root=tmp_path, config=QUICK)
    s = task.splits
    assert isinstance(task, nas.Task) and task.objective == ("val_acc", "max")
    assert task.in_shape == x.shape[1:] == ((3, 32, 32) if name == "cifar10" else (1, 28, 28))
    assert task.n_out == 10 and s.sizes == (N_TRAIN - 6, 6, N_TEST)  # val 10% of train
    assert s.x_train.dtype == torch.float32 and s.y_train.dtype == torch.int64
    # standardized per channel with the training split's statistics
    dims = (0, 2, 3)
    assert torch.allclose(s.x_train.mean(dims), torch.zeros(x.shape[1]), atol=1e-5)
    assert torch.allclose(s.x_train.std(dims), torch.ones(x.shape[1]), atol=1e-5)
    # oracle: undoing the standardization gives the files' bytes at the seeded split
    train, val, _ = split_indices(N_TRAIN, 0.1, 0, seed=0)
    scale = task.std.view(1, -1, 1, 1), task.mean.view(1, -1, 1, 1)
    for xs, ys, raw_x, raw_y in ((s.x_train, s.y_train, x[train], y[train]),
                                 (s.x_val, s.y_val, x[val], y[val]),
                                 (s.x_test, s.y_test, x_test, y_test)):
        pixels = (xs * scale[0] + scale[1]) * 255
        assert torch.allclose(pixels, torch.from_numpy(raw_x).float(), atol=1e-3)
        assert torch.equal(ys, torch.from_numpy(raw_y))


def test_splits_are_disjoint_reproducible_and_train_size_subsets(tmp_path):
    *_, x_test, y_test = write("cifar10", tmp_path)
    task = nas.get_task("cifar10", root=tmp_path)
    s = task.splits
    assert not rows(s.x_train) & rows(s.x_val)
    assert len(rows(s.x_train) | rows(s.x_val)) == N_TRAIN
    again = nas.get_task("cifar10", root=tmp_path).splits
    assert torch.equal(again.x_val, s.x_val) and torch.equal(again.y_train, s.y_train)
    other = nas.get_task("cifar10", root=tmp_path, split_seed=1).splits
    assert rows(other.x_val) != rows(s.x_val)
    # train_size draws a subset of the training images; validation stays the same
    full = nas.get_task("cifar10", root=tmp_path, val_size=10)
    small = nas.get_task("cifar10", root=tmp_path, train_size=20, val_size=10)
    assert small.splits.sizes == (20, 10, N_TEST)
    assert pixels(small, small.splits.x_val) == pixels(full, full.splits.x_val)
    assert set(pixels(small, small.splits.x_train)) < set(pixels(full, full.splits.x_train))
    # test_size draws a subset of the official test split, kept in file order
    part = nas.get_task("cifar10", root=tmp_path, test_size=8)
    assert part.splits.sizes == (N_TRAIN - 6, 6, 8)
    files = [r.tobytes() for r in x_test]
    at = [files.index(r) for r in pixels(part, part.splits.x_test)]
    assert at == sorted(at) and torch.equal(part.splits.y_test, torch.from_numpy(y_test[at]))


def pixels(task, x: torch.Tensor) -> list[bytes]:
    """The images ``x`` of ``task`` as the files' bytes (standardization undone)."""
    raw = (x * task.std.view(1, -1, 1, 1) + task.mean.view(1, -1, 1, 1)) * 255
    return [r.numpy().tobytes() for r in raw.round().to(torch.uint8)]


def test_options_after_the_colon_match_keyword_arguments(tmp_path):
    write("mnist", tmp_path, gz=True)
    by_text = nas.get_task(f"mnist:root={tmp_path},train_size=30,val_size=0.25,split_seed=3")
    by_kwargs = nas.get_task("mnist", root=str(tmp_path), train_size=30, val_size=0.25,
                             split_seed=3)
    assert by_text.splits.sizes == (30, 15, N_TEST)
    assert nas.get_task(f"mnist:{tmp_path},test_size=5").splits.sizes[2] == 5
    assert torch.equal(by_text.splits.x_val, by_kwargs.splits.x_val)
    assert torch.equal(by_text.splits.x_train, by_kwargs.splits.x_train)
    bare = nas.get_task(f"mnist:{tmp_path}")  # a bare item is the data root
    assert bare.splits.sizes == (N_TRAIN - 6, 6, N_TEST)
    assert nas.get_task(f"mnist:{tmp_path},train_size=all").splits.sizes == bare.splits.sizes
    with pytest.raises(ValueError, match="unknown image task option 'trainsize'.*train_size"):
        nas.get_task(f"mnist:{tmp_path},trainsize=5")
    with pytest.raises(ValueError, match="download=maybe: write true or false"):
        nas.get_task(f"mnist:{tmp_path},download=maybe")
    with pytest.raises(ValueError, match="split_seed given twice"):
        nas.get_task(f"mnist:{tmp_path},split_seed=1", split_seed=2)


def test_the_data_root_comes_from_the_option_then_nas_data_then_the_cache(tmp_path,
                                                                         monkeypatch):
    write("fashion_mnist", tmp_path)
    monkeypatch.setenv("NAS_DATA", str(tmp_path))
    assert nas.get_task("fashion_mnist").splits.sizes == (N_TRAIN - 6, 6, N_TEST)
    assert data_root() == tmp_path and data_root("~/d") == Path.home() / "d"
    monkeypatch.delenv("NAS_DATA")
    assert data_root() == Path.home() / ".cache" / "nas-toolkit" / "data"


def test_corrupt_files_name_themselves(tmp_path):
    write("mnist", tmp_path)
    bad = tmp_path / "MNIST/raw/t10k-labels-idx1-ubyte"
    bad.write_bytes(bad.read_bytes()[:-3])
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte is truncated"):
        nas.get_task("mnist", root=tmp_path)
    bad.write_bytes(b"\x01\x02\x03")
    with pytest.raises(ValueError, match="bad header"):
        read_idx(bad)
    write_idx(bad, np.zeros(N_TEST - 1, np.uint8))  # one label short of the images
    with pytest.raises(ValueError, match="do not match"):
        nas.get_task("mnist", root=tmp_path)


class RunsCode:
    """Pickles as a call to ``os.getcwd``: any callable a CIFAR batch must not run."""

    def __reduce__(self):
        return os.getcwd, ()


@pytest.mark.parametrize("payload, message", [
    ({"data": RunsCode(), "labels": []}, r"refusing to load \w+\.getcwd"),
    ([1, 2, 3], "holds a list, not a dict"),
    ({"labels": [0]}, "no 'data' and 'labels'"),
])
def test_a_cifar_batch_holds_only_arrays_and_lists(payload, message, tmp_path):
    write("cifar10", tmp_path)
    bad = tmp_path / "cifar-10-batches-py/test_batch"
    bad.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(ValueError, match=message) as info:
        nas.get_task("cifar10", root=tmp_path)
    assert "test_batch" in str(info.value)


# ---------------------------------------------------------------- missing files, downloads
class FakeTorchvision:
    """Stands in for torchvision.datasets: records each dataset built, and either writes the
    stand-in files (a download that works) or raises ``error`` (one that does not)."""

    def __init__(self, monkeypatch, error: Exception | None = None):
        self.calls, self.error = [], error
        datasets = types.ModuleType("torchvision.datasets")
        for cls, name in (("CIFAR10", "cifar10"), ("MNIST", "mnist"),
                          ("FashionMNIST", "fashion_mnist")):
            setattr(datasets, cls, self.dataset(name))
        module = types.ModuleType("torchvision")
        module.datasets = datasets
        monkeypatch.setitem(sys.modules, "torchvision", module)
        monkeypatch.setitem(sys.modules, "torchvision.datasets", datasets)

    def dataset(self, name):
        def build(root, train=True, download=False):
            self.calls.append((name, root, train, download))
            if self.error is not None:
                raise self.error
            if download:
                write(name, root)

        return build


@pytest.mark.parametrize("name", NAMES)
def test_missing_files_say_where_they_go_and_never_touch_the_network(name, tmp_path,
                                                                     monkeypatch):
    fake = FakeTorchvision(monkeypatch)
    with pytest.raises(DatasetNotFound) as info:
        nas.get_task(name, root=tmp_path)
    text = str(info.value)
    folder = tmp_path / FOLDERS[name]
    assert str(folder) in text and f"--task {name}:download=true" in text
    assert "nas-toolkit[vision]" in text and ("https://" in text or "http://" in text)
    files = ["test_batch", "data_batch_5"] if name == "cifar10" else \
        ["train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    assert all(f in text for f in files)
    assert fake.calls == []
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, ValueError)


def test_only_the_missing_files_are_named(tmp_path):
    write("cifar10", tmp_path)
    (tmp_path / "cifar-10-batches-py/data_batch_3").unlink()
    with pytest.raises(DatasetNotFound, match=r"lacks data_batch_3\. "):
        nas.get_task("cifar10", root=tmp_path)


@pytest.mark.parametrize("name", NAMES)
def test_download_when_asked_fetches_once_then_reads(name, tmp_path, monkeypatch):
    fake = FakeTorchvision(monkeypatch)
    task = nas.get_task(f"{name}:download=true,root={tmp_path}")
    assert task.splits.sizes == (N_TRAIN - 6, 6, N_TEST)
    assert fake.calls == [(name, str(tmp_path), True, True), (name, str(tmp_path), False, True)]
    nas.get_task(name, root=tmp_path, download=True)  # files there: no second download
    assert len(fake.calls) == 2


def test_download_without_torchvision_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)
    with pytest.raises(ImportError, match=r"pip install 'nas-toolkit\[vision\]'"):
        nas.get_task("cifar10", root=tmp_path, download=True)
    write("cifar10", tmp_path)  # with the files in place, download=True needs nothing
    assert nas.get_task("cifar10", root=tmp_path, download=True).n_out == 10


def test_a_failed_download_says_what_to_do_offline(tmp_path, monkeypatch):
    offline = urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    fake = FakeTorchvision(monkeypatch, error=offline)
    with pytest.raises(DatasetNotFound) as info:
        nas.get_task("mnist", root=tmp_path, download=True)
    text = str(info.value)
    assert "downloading MNIST" in text and "URLError" in text and "name resolution" in text
    assert str(tmp_path / "MNIST/raw") in text and "https://ossci-datasets" in text
    assert info.value.__cause__ is offline and len(fake.calls) == 1


def test_the_cli_shows_the_message_and_exits_2(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_DATA", str(tmp_path))
    res = CliRunner().invoke(app, ["check", "cnn", "--task", "cifar10"], terminal_width=400)
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert "CIFAR-10 is not on disk" in text and "download=true" in text


# ---------------------------------------------------------------- training
@pytest.mark.parametrize("name", NAMES)
def test_a_cnn_sample_trains_with_finite_metrics(name, tmp_path):
    write(name, tmp_path)
    task = nas.get_task(name, root=tmp_path, config=QUICK)
    space = nas.get_space("cnn", in_shape=task.in_shape, n_out=task.n_out)
    result = task.evaluate(space.build(space.sample(0)), budget="4steps")
    assert result.ok, result.error
    assert result.metrics["steps"] == 4
    for key in ("val_acc", "val_loss", "test_acc", "test_loss", "params", "flops"):
        value = {**result.objectives, **result.metrics}[key]
        assert math.isfinite(value), (key, value)


def test_augmented_training_is_reproducible_and_leaves_the_splits_alone(tmp_path):
    write("cifar10", tmp_path)
    task = nas.get_task("cifar10", root=tmp_path, augment=True, config=QUICK)
    plain = nas.get_task("cifar10", root=tmp_path, config=QUICK)
    data = task.splits_on(torch.device("cpu"))
    assert isinstance(data.x_train, AugmentedImages) and torch.equal(data.x_val, task.splits.x_val)
    assert isinstance(task.splits.x_train, torch.Tensor)  # proxies see the plain images
    space = nas.get_space("cnn", in_shape=task.in_shape, n_out=task.n_out)
    graph = space.build(space.sample(1))
    a, b = (task.evaluate(graph, budget="4steps", seed=3) for _ in range(2))
    assert a.ok and a.objectives == b.objectives and a.metrics["val_loss"] == b.metrics["val_loss"]
    c = plain.evaluate(graph, budget="4steps", seed=3)
    assert c.metrics["val_loss"] != a.metrics["val_loss"]  # the training batches differed


def transforms_of(image: torch.Tensor, source: torch.Tensor, pad: int) -> set[tuple]:
    """Every (dy, dx, flipped) for which ``image`` is that crop of ``source`` zero-padded
    by ``pad`` (mirrored when flipped)."""
    padded = torch.nn.functional.pad(source, (pad,) * 4)
    h, w = source.shape[-2:]
    crops = {(dy, dx): padded[:, dy:dy + h, dx:dx + w] for dy in range(2 * pad + 1)
             for dx in range(2 * pad + 1)}
    return {(dy, dx, f) for (dy, dx), c in crops.items() for f in (False, True)
            if torch.equal(image, c.flip(-1) if f else c)}


def test_shift_and_flip_returns_shifted_or_mirrored_crops():
    torch.manual_seed(0)
    x = torch.randn(64, 3, 8, 8)
    out = shift_and_flip(x, 2, flip=True)
    assert out.shape == x.shape
    found = [transforms_of(out[i], x[i], 2) for i in range(len(x))]
    assert all(len(t) == 1 for t in found), "each image is exactly one shifted crop"
    seen = set().union(*found)
    assert len({(dy, dx) for dy, dx, _ in seen}) > 10 and {f for *_, f in seen} == {False, True}
    out = shift_and_flip(x, 2, flip=False)
    assert all(not f for i in range(len(x)) for *_, f in transforms_of(out[i], x[i], 2))
    assert torch.equal(shift_and_flip(x, 0, flip=False), x)
