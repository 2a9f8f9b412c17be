"""The ``arrays`` task: every kind of own data becomes the same splits as a hand-made
reference, survives its ``.npz`` round trip, and bad data fails in one line up front."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import nas
from evaluators import DataTask, choose_space, split_indices
from evaluators import own_data as own_data_module
from evaluators.recipe import TrainConfig

QUICK = TrainConfig(latency_runs=2)


def blobs(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four features; the label is whether the first two sum above zero."""
    x = np.random.default_rng(seed).normal(size=(n, 4)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64)


def standardized(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    """The reference standardization, by hand: the training rows' mean and std."""
    mean, std = x[train].mean(0), x[train].std(0)
    return (x - mean) / np.where(std > 1e-8, std, 1.0)


# ---------------------------------------------------------------- each input kind
def test_a_pair_of_arrays_is_split_and_standardized_as_by_hand():
    x, y = blobs()
    task = nas.get_task("arrays", data=(x, y))
    train, val, test = split_indices(len(x), 0.15, 0.15, seed=0)
    ref = standardized(x, train)
    assert task.kind == "classification" and task.n_out == 2 and task.in_shape == (4,)
    np.testing.assert_allclose(task.splits.x_val.numpy(), ref[val], rtol=1e-5, atol=1e-5)
    assert task.splits.y_test.tolist() == y[test].tolist()
    assert "classification with 2 classes" in task.summary()


def test_tensors_give_the_same_task_as_arrays():
    x, y = blobs()
    a = nas.get_task("arrays", data=(x, y))
    b = nas.get_task("arrays", data=(torch.as_tensor(x), torch.as_tensor(y)))
    for name in ("x_train", "y_train", "x_val", "y_test"):
        assert torch.equal(getattr(a.splits, name), getattr(b.splits, name))


def test_float_targets_are_regression_and_predictions_undo_the_scaling():
    x, _ = blobs()
    y = 3.0 * x[:, 0] + 10.0  # (N,): predictions come back (N,) in these units
    task = nas.get_task("arrays", data=(x, y))
    assert task.kind == "regression" and task.n_out == 1
    # the standardized training targets, read back as predictions, are the raw targets
    train = split_indices(len(x), 0.15, 0.15, seed=0)[0]
    np.testing.assert_allclose(task.predictions(task.splits.y_train), y[train], rtol=1e-5)


class ListDataset(torch.utils.data.Dataset):
    """A map-style Dataset of (tensor, int) items, as users write them."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return torch.as_tensor(self.x[i]), int(self.y[i])


def test_a_dataset_is_read_item_by_item():
    x, y = blobs()
    a = nas.get_task("arrays", data=ListDataset(x, y))
    b = nas.get_task("arrays", data=(x, y))
    assert torch.equal(a.splits.x_train, b.splits.x_train)
    assert torch.equal(a.splits.y_val, b.splits.y_val)
    assert "a Dataset" in a.summary()


def test_a_given_validation_dataset_is_the_validation_split():
    x, y = blobs(100)
    xv, yv = blobs(30, seed=1)
    task = nas.get_task("arrays", data=(ListDataset(x, y), ListDataset(xv, yv)),
                        standardize=False)
    assert torch.equal(task.splits.x_val, torch.as_tensor(xv))
    assert task.splits.y_val.tolist() == yv.tolist()
    assert sum(task.splits.sizes) == 130 and len(task.splits.x_val) == 30


def test_a_dataframe_with_a_text_target():
    x, y = blobs()
    df = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "label": np.where(y == 1, "up", "down")})
    task = nas.get_task("arrays", data=df, target="label")
    assert task.classes.tolist() == ["down", "up"] and task.in_shape == (2,)
    assert task.features == ["a", "b"]
    # new rows come in as DataFrames too, prepared like the training rows
    train = split_indices(len(x), 0.15, 0.15, seed=0)[0]
    np.testing.assert_allclose(task.prepare(df.iloc[train]).numpy(),
                               task.splits.x_train.numpy(), rtol=1e-5, atol=1e-5)


def write_images(root, sizes=None, mode="L") -> dict[str, list[np.ndarray]]:
    """Two classes of 3 small images each, pixel values known; returns them by class."""
    rng = np.random.default_rng(0)
    out: dict[str, list[np.ndarray]] = {}
    for c in ("cat", "dog"):
        (root / c).mkdir(parents=True)
        for i in range(3):
            h, w = (sizes or {}).get((c, i), (6, 5))
            shape = (h, w) if mode == "L" else (h, w, 3)
            px = rng.integers(0, 256, shape, dtype=np.uint8)
            Image.fromarray(px, mode=mode).save(root / c / f"{i}.png")
            out.setdefault(c, []).append(px)
    return out


def test_an_image_folder_holds_one_class_per_subfolder(tmp_path):
    written = write_images(tmp_path / "imgs")
    x, y, _, _, _ = own_data_module.load_data(tmp_path / "imgs")
    assert x.shape == (6, 1, 6, 5) and x.dtype == np.uint8
    assert y.tolist() == ["cat"] * 3 + ["dog"] * 3
    assert np.array_equal(x[4, 0], written["dog"][1])  # sorted classes, then files
    task = nas.get_task("arrays", data=str(tmp_path / "imgs"), val_size=2, test_size=1)
    assert task.in_shape == (1, 6, 5) and task.auto_space[0] == "cnn"


def test_colour_images_come_channels_first(tmp_path):
    written = write_images(tmp_path / "rgb", mode="RGB")
    x, _, _, _, _ = own_data_module.load_data(tmp_path / "rgb")
    assert x.shape == (6, 3, 6, 5)
    assert np.array_equal(x[0].transpose(1, 2, 0), written["cat"][0])


def test_token_ids_are_kept_as_integers():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 30, (80, 12))
    task = nas.get_task("arrays", data=(x, x[:, 0] % 2))
    assert task.in_shape == nas.TensorSpec((12,), "tokens", vocab=int(x.max()) + 1)
    assert task.splits.x_train.dtype == torch.int64
    assert task.auto_space[0] == "transformer"
    feats = nas.get_task("arrays", data=(x, x[:, 0] % 2), inputs="features")
    assert feats.in_shape == (12,) and feats.splits.x_train.dtype == torch.float32


class TextDataset(torch.utils.data.Dataset):
    """Items whose inputs are not numbers (a transform to tensors is missing)."""

    def __len__(self):
        return 2

    def __getitem__(self, i):
        return f"sample {i}", i


# ---------------------------------------------------------------- the stored file
@pytest.mark.parametrize("kind", ["pair", "dataframe", "datasets"])
def test_save_and_rebuild_from_the_npz_gives_the_same_task(tmp_path, kind):
    x, y = blobs()
    data = {"pair": (x, y.astype(str)),
            "dataframe": pd.DataFrame({"a": x[:, 0], "b": x[:, 2], "t": x[:, 1] * 2.0}),
            "datasets": (ListDataset(x[:90], y[:90]), ListDataset(x[90:], y[90:]))}[kind]
    task = nas.get_task("arrays", data=data, target="t" if kind == "dataframe" else None)
    options = task.save(tmp_path / "d.npz")
    with np.load(tmp_path / "d.npz", allow_pickle=False) as f:  # no pickle needed
        assert set(f) == {"x", "y", "train", "val", "test"}
    again = nas.get_task(f"arrays:{tmp_path / 'd.npz'}", **options)
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert torch.equal(getattr(task.splits, name), getattr(again.splits, name)), name
    assert again.kind == task.kind and again.n_out == task.n_out


def test_data_too_large_for_a_run_folder_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setattr(own_data_module, "MAX_BYTES", 1000)
    x, y = blobs()
    with pytest.raises(ValueError, match="numpy.savez"):
        nas.get_task("arrays", data=ListDataset(x, y))
    with pytest.raises(ValueError, match="arrays:FILE.npz"):
        nas.get_task("arrays", data=(x, y)).save(tmp_path / "d.npz")


# ---------------------------------------------------------------- bad data, in one line
def bad_cases(tmp_path) -> dict:
    x, y = blobs()
    nan = x.copy()
    nan[3, 1] = np.nan
    inf = x.copy()
    inf[0, 0] = np.inf
    (tmp_path / "empty").mkdir()
    (tmp_path / "sizes" / "a").mkdir(parents=True)
    (tmp_path / "sizes" / "b").mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "sizes" / "a" / "0.png")
    Image.fromarray(np.zeros((5, 4), np.uint8)).save(tmp_path / "sizes" / "b" / "0.png")
    df = pd.DataFrame({"a": x[:, 0], "label": y})
    return {
        "NaN values": ({"data": (nan, y)}, "NaN or infinite"),
        "infinite values": ({"data": (inf, y)}, "NaN or infinite"),
        "mismatched lengths": ({"data": (x, y[:-1])}, "120 samples but y has 119"),
        "a single class": ({"data": (x, np.zeros(len(x), int))}, "single class"),
        "a missing target column": ({"data": df, "target": "lable"}, "did you mean label"),
        "no target column named": ({"data": df}, "target=COLUMN"),
        "an empty folder": ({"data": str(tmp_path / "empty")}, "has no images"),
        "images of two sizes": ({"data": str(tmp_path / "sizes")}, "resize them"),
        "text inputs as arrays": ({"data": [("a text", 0), ("another", 1)]}, "not numbers"),
        "text inputs in a Dataset": ({"data": TextDataset()}, "transform"),
        "a target that is NaN": ({"data": (x, np.where(y, np.nan, 1.0))}, "y has NaN"),
        "an unreadable kind of data": ({"data": 42}, "must be"),
    }


@pytest.mark.parametrize("case", ["NaN values", "infinite values", "mismatched lengths",
                                  "a single class", "a missing target column",
                                  "no target column named", "an empty folder",
                                  "images of two sizes", "text inputs as arrays",
                                  "text inputs in a Dataset",
                                  "a target that is NaN", "an unreadable kind of data"])
def test_bad_data_fails_in_one_line(tmp_path, case):
    kwargs, match = bad_cases(tmp_path)[case]
    with pytest.raises((ValueError, TypeError)) as info:
        nas.get_task("arrays", **kwargs)
    assert match in str(info.value) and "\n" not in str(info.value)


# ---------------------------------------------------------------- space="auto"
@pytest.mark.parametrize("shape,expected", [
    ((20, 3, 28, 28), "cnn"), ((20, 3, 64, 64), "resnet"), ((20, 3, 128, 160), "mobilenet"),
    ((20, 2, 50), "sequence"), ((50, 5), "mlp")])
def test_the_space_follows_the_shape(shape, expected):
    name, reason = choose_space(np.zeros(shape, np.float32))
    assert name == expected and reason


def test_ordered_columns_are_a_signal_and_shuffled_ones_a_table():
    rng = np.random.default_rng(0)
    walk = rng.normal(size=(300, 40)).cumsum(axis=1)  # neighbours move together
    assert choose_space(walk)[0] == "sequence"
    assert choose_space(rng.normal(size=(300, 40)))[0] == "mlp"  # independent columns
    assert choose_space(np.zeros((5, 3), np.int64), tokens=True)[0] == "transformer"
    assert choose_space(np.zeros((5, 3)), graph=True)[0] == "gnn"


def test_the_task_trains_in_a_few_steps():
    x, y = blobs(200)
    task = DataTask((x, y), config=QUICK)
    space = nas.get_space("mlp", task.in_shape, task.n_out)
    result = task.evaluate(space.build(space.sample(0)),
                           budget="30steps", device="cpu")
    assert result.ok and 0.0 <= result.objectives["val_acc"] <= 1.0
