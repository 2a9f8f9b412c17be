"""bench/darts_noise.py: the random-effects split of the random cells' accuracies and the
chance a search's cell clears the 90th percentile. Oracles: synthetic cells with a known
true spread and noise, noiseless and spreadless limits, the committed digits run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from bench_helpers import BENCH, load_bench

noise = load_bench("darts_noise")


def _run(acc: np.ndarray, val: np.ndarray | None = None) -> dict:
    val = acc if val is None else val
    cells = [{"arch": f"|c{i}|", "error": None, "test_acc": float(a.mean()),
              "per_seed": [{"seed": s, "test_acc": float(a[s]), "val_acc": float(v[s])}
                           for s in range(len(a))]} for i, (a, v) in enumerate(zip(acc, val))]
    return {"runs": [{"task": "toy", "random": cells}]}


def test_the_split_recovers_a_known_true_spread_and_noise():
    rng = np.random.default_rng(0)
    true = 0.9 + 0.004 * rng.standard_normal(4000)
    acc = true[:, None] + 0.006 * rng.standard_normal((4000, 3))
    c = noise.analyse(_run(acc), "toy")
    assert c["tau"] == pytest.approx(0.004, rel=0.05)
    assert c["sigma"] == pytest.approx(0.006, rel=0.05)
    one = 0.004**2 / (0.004**2 + 0.006**2)
    assert c["reliability_one"] == pytest.approx(one, abs=0.03)
    assert c["reliability_mean"] == pytest.approx(3 * one / (1 + 2 * one), abs=0.03)


def test_without_noise_only_cells_truly_above_the_p90_pass():
    acc = np.repeat(np.linspace(0.9, 0.99, 50)[:, None], 2, axis=1)  # no seed noise
    c = noise.analyse(_run(acc), "toy")
    assert c["sigma"] == 0 and c["reliability_mean"] == 1.0
    chances = {q["quantile"]: q["one_seed"] for q in c["chances"]}
    assert chances[0.5] == 0.0 and chances[0.99] == 1.0


def test_pure_noise_has_no_reliability_and_chances_rise_with_the_quantile():
    rng = np.random.default_rng(1)
    acc = 0.9 + 0.005 * rng.standard_normal((300, 3))
    c = noise.analyse(_run(acc), "toy")
    assert c["reliability_one"] < 0.05
    ones = [q["one_seed"] for q in c["chances"]]
    assert ones == sorted(ones)
    assert all(q["three_seeds"] == pytest.approx(q["one_seed"] ** 3) for q in c["chances"])


def test_cells_at_chance_are_left_out_and_one_seed_runs_are_refused():
    acc = np.vstack([np.full((2, 2), 0.1), 0.9 + 0.01 * np.eye(2)])
    assert noise.analyse(_run(acc), "toy")["failed_to_learn"] == 2
    one = {"runs": [{"task": "toy", "random": [{"arch": "|a|", "error": None,
                                                "test_acc": 0.9}]}]}
    with pytest.raises(SystemExit, match="--train-seeds 2"):
        noise.analyse(one, "toy")
    with pytest.raises(SystemExit, match="no task 'cifar'"):
        noise.analyse(one, "cifar")


def test_the_committed_digits_numbers_are_what_the_script_computes():
    run = json.loads((BENCH / "results" / "darts_seeds3.json").read_text())
    saved = json.loads((BENCH / "results" / "darts_noise.json").read_text())
    got = noise.analyse(run, "digits")
    assert set(got) == set(saved) and got["task"] == saved["task"] == "digits"
    for key in ("tau", "sigma", "reliability_one", "reliability_mean", "p90", "val_test_corr"):
        assert got[key] == pytest.approx(saved[key], abs=1e-9)
    for a, b in zip(got["chances"], saved["chances"], strict=True):
        assert a == pytest.approx(b, abs=1e-9)
