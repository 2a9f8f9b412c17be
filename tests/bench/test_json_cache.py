"""bench/_json_cache.py: rows computed once, reused by a rerun, merged between two runs
sharing the file, failures computed again unless kept."""

from __future__ import annotations

import json

from bench_helpers import load_bench

JsonCache = load_bench("_json_cache").JsonCache


def counter():
    calls = []

    def compute(value, error=None):
        def run():
            calls.append(value)
            return {"value": value, "error": error}
        return run
    return calls, compute


def test_a_row_is_computed_once_and_reused_by_a_rerun(tmp_path):
    calls, compute = counter()
    path = tmp_path / "rows.json"
    first = JsonCache(path)
    assert first.get_or_compute("a", compute(1)) == ({"value": 1, "error": None}, False)
    assert first.get_or_compute("a", compute(2)) == ({"value": 1, "error": None}, True)
    rerun = JsonCache(path)  # a new process: read from the file
    assert "a" in rerun and rerun.get_or_compute("a", compute(3))[0]["value"] == 1
    assert calls == [1] and (first.hits, first.misses) == (1, 1)
    assert json.loads(path.read_text()) == {"a": {"value": 1, "error": None}}


def test_two_runs_sharing_a_file_keep_each_others_rows(tmp_path):
    calls, compute = counter()
    path = tmp_path / "rows.json"
    one, two = JsonCache(path), JsonCache(path)  # both opened before either wrote
    one.get_or_compute("a", compute(1))
    two.get_or_compute("b", compute(2))
    assert two.get_or_compute("a", compute(9))[0]["value"] == 1  # one's row, not computed
    assert calls == [1, 2]
    assert sorted(json.loads(path.read_text())) == ["a", "b"]
    assert not list(tmp_path.glob("*.tmp"))  # written through a replaced temporary file


def test_failures_are_computed_again_unless_kept(tmp_path):
    calls, compute = counter()
    cache = JsonCache(tmp_path / "rows.json")
    cache.get_or_compute("x", compute(1, error="diverged"))
    cache.get_or_compute("x", compute(2, error="diverged"))
    assert calls == [1, 2] and not (tmp_path / "rows.json").exists()
    kept = JsonCache(tmp_path / "kept.json", keep_failures=True)
    kept.get_or_compute("x", compute(3, error="diverged"))
    assert kept.get_or_compute("x", compute(4))[0] == {"value": 3, "error": "diverged"}


def test_without_a_path_it_caches_in_memory_only(tmp_path):
    calls, compute = counter()
    cache = JsonCache(None)
    cache.get_or_compute("a", compute(1))
    cache.get_or_compute("a", compute(2))
    assert calls == [1] and not list(tmp_path.iterdir())
