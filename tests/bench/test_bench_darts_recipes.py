"""bench/darts_recipes.py: each recipe's random cells trained with K seeds (through the
benchmark's cache) and split into the cells' spread and one training's noise. Oracles:
a stand-in training whose spread and noise are known per recipe; one real tiny run
whose saved numbers are what bench/darts_noise.py computes from the cache's rows."""

from __future__ import annotations

import json
import zlib

import pytest
from bench_helpers import load_bench

recipes = load_bench("darts_recipes")


def test_a_recipe_is_steps_channels_cells_and_bad_ones_say_how_to_write_it():
    assert recipes.parse_recipe("200x8x3") == {"steps": 200, "channels": 8, "cells": 3}
    with pytest.raises(SystemExit, match="STEPSxCHANNELSxCELLS"):
        recipes.parse_recipe("200x8")
    with pytest.raises(SystemExit, match=">= 1"):
        recipes.parse_recipe("0x8x1")
    with pytest.raises(SystemExit):
        recipes.main(["--recipes", "2x2x1", "--train-seeds", "1"])


def test_a_recipe_whose_cells_differ_more_than_its_noise_is_the_more_reliable(
        tmp_path, monkeypatch):
    def train(task, space, decisions, steps, seed, device):
        arch = recipes.bench.to_arch_string(decisions)
        cell = zlib.crc32(arch.encode()) % 7 / 7  # a fixed quality per cell
        spread = 0.03 if steps == 20 else 0.0  # only the 20-step recipe tells cells apart
        acc = 0.9 + spread * cell + 0.002 * (seed % 2) if steps > 5 else 0.1  # 5: at chance
        return {"arch": arch, "val_acc": acc, "test_acc": acc, "parameter_free": 0,
                "time_s": 0.0, "error": None}

    monkeypatch.setattr(recipes.bench, "train", train)
    rows = recipes.main(["--task", "digits", "--recipes", "10x2x1", "20x2x1", "5x2x1",
                         "--random", "12", "--train-seeds", "3",
                         "--cache", str(tmp_path / "cache.json"), "--out", str(tmp_path)])
    flat, spread, chance = rows
    assert flat["tau"] == 0 and flat["reliability_one"] == 0
    assert spread["reliability_one"] > 0.9 and spread["val_test_corr"] == pytest.approx(1)
    # the better half, picked on the first seed and split on the others, still differs
    assert flat["upper_reliability_one"] == 0 and spread["upper_reliability_one"] > 0.9
    assert chance["failed_to_learn"] == 12 and chance["tau"] is None  # reported, no split
    saved = json.loads((tmp_path / "darts_recipes.json").read_text())
    assert [r["recipe"] for r in saved["recipes"]] == ["10x2x1", "20x2x1", "5x2x1"]
    text = (tmp_path / "darts_recipes.md").read_text()
    assert "| 20x2x1 | 20 | 2 | 1 |" in text and "| 5x2x1 | 5 | 2 | 1 | 0.100 | 12 | - |" in text


def test_a_real_tiny_run_saves_what_darts_noise_computes_from_the_cache(tmp_path):
    cache = tmp_path / "cache.json"
    (row,) = recipes.main(["--task", "digits", "--recipes", "60x4x1", "--random", "3",
                           "--train-seeds", "2", "--cache", str(cache),
                           "--out", str(tmp_path)])
    rows = json.loads(cache.read_text())
    assert len(rows) == 6 and all("|60steps|4ch|1cells|seed" in k for k in rows)
    cells: dict[str, list] = {}
    for key, r in rows.items():
        cells.setdefault(r["arch"], []).append((key.rsplit("seed", 1)[1], r))
    random = [{"arch": a, "error": None, "test_acc": 0.0,
               "per_seed": [{"seed": s, "test_acc": r["test_acc"], "val_acc": r["val_acc"]}
                            for s, r in sorted(v)]} for a, v in cells.items()]
    want = recipes.noise.analyse({"runs": [{"task": "digits", "random": random}]}, "digits")
    for key in ("tau", "sigma", "mean", "failed_to_learn"):
        assert row[key] == pytest.approx(want[key])
    assert row["upper_tau"] is None  # two seeds: none left once the pick's seed is set aside
