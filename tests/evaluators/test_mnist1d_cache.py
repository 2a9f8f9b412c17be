"""MNIST-1D is generated once and cached on disk: the cache gives the same arrays, and a
corrupt or unwritable cache falls back to generating them."""

from __future__ import annotations

import numpy as np
import pytest

import evaluators.mnist1d as m


@pytest.fixture(scope="module")
def fresh():
    """The arrays straight from the generator."""
    from mnist1d.data import get_dataset_args, make_dataset

    d = make_dataset(get_dataset_args())
    return tuple(d[k] for k in m.KEYS)


def _same(a, b) -> bool:
    return all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_cached_arrays_equal_freshly_generated_ones(tmp_path, monkeypatch, fresh):
    monkeypatch.setenv("NAS_DATA", str(tmp_path))
    path = m.mnist1d_cache_path()
    assert path.parent == tmp_path and not path.exists()
    first = m.cached_mnist1d()  # generates and writes
    assert path.exists() and _same(first, fresh)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left

    import mnist1d.data

    def no_generation(*a, **k):
        raise AssertionError("regenerated although the cache is valid")

    monkeypatch.setattr(mnist1d.data, "make_dataset", no_generation)
    again = m.cached_mnist1d()  # read from the file
    assert _same(again, fresh)
    x, y, x_test, y_test = again
    assert x.shape == (4000, 40) and x_test.shape == (1000, 40)
    assert set(np.unique(y)) == set(range(10))


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated"])
def test_a_corrupt_cache_file_is_regenerated_and_rewritten(tmp_path, fresh, content):
    path = m.mnist1d_cache_path(tmp_path)
    path.write_bytes(content)
    assert _same(m.cached_mnist1d(tmp_path), fresh)
    with np.load(path, allow_pickle=False) as f:  # the file was replaced by a good one
        assert _same(tuple(f[k] for k in m.KEYS), fresh)


def test_a_cache_with_wrong_arrays_is_regenerated(tmp_path, fresh):
    path = m.mnist1d_cache_path(tmp_path)
    np.savez(path, x=np.zeros((3, 40)), y=np.zeros(2, dtype=np.int64),
             x_test=np.zeros((1, 40)), y_test=np.zeros(1, dtype=np.int64))
    assert _same(m.cached_mnist1d(tmp_path), fresh)


def test_an_unwritable_cache_folder_still_gives_the_arrays(tmp_path, fresh):
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache folder cannot be created below a file")
    assert _same(m.cached_mnist1d(blocker / "data"), fresh)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
