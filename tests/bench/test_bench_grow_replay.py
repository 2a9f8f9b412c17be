"""bench/grow_replay.py rebuilds a recorded winner from its lineage text: the rebuilt
graph is the candidate the search made (same fingerprint), for chained candidates of
every edit kind the growth benchmark uses; a text that fits no site is an error naming
the edit; the retrain result goes into a copy of the record."""

from __future__ import annotations

import json
import random

import pytest
import torch
from bench_helpers import load_bench

from nas import GraphSpace, Traced, compile_graph
from search_spaces.reference import mnist1d_paper_cnn

replay = load_bench("grow_replay")
GROW = ("normalize", "widen_all", "deepen_block", "widen", "deepen", "skip", "change",
        "insert", "narrow", "branch", "remove", "remove_block")


def candidates(n: int, seed: int = 0):
    """``n`` chained candidates of the paper's CNN (mutants of mutants)."""
    graph = mnist1d_paper_cnn()
    torch.manual_seed(0)
    sp = GraphSpace(Traced(graph, dict(compile_graph(graph).state_dict())), edits=GROW,
                    max_edits=12, chain=True)
    rng, decisions, out = random.Random(seed), None, []
    while len(out) < n:
        decisions = sp.sample(rng) if decisions is None else sp.mutate(decisions, rng)
        child, decisions, error = sp.try_resolve(decisions)
        assert error is None
        out.append(child)
    return out


def test_rebuilt_from_the_lineage_text_is_the_searched_graph():
    seen = 0
    for child in candidates(24):
        edits = child.meta["lineage"]["edits"]
        rebuilt = replay.rebuild(edits)
        assert rebuilt.fingerprint() == child.fingerprint(), edits
        # node for node in the same order: a fresh initialization draws in that order
        assert {**rebuilt.to_dict(), "meta": {}} == {**child.to_dict(), "meta": {}}
        seen = max(seen, len(edits))
    assert seen >= 6  # the chains grew; not only one-edit candidates were checked


def test_no_edits_is_the_seed():
    assert replay.rebuild([]).fingerprint() == mnist1d_paper_cnn().fingerprint()


@pytest.mark.parametrize("text, match", [
    ("widen conv9 2.0", r"edit 0 'widen conv9 2.0': no widen site fits"),
    ("grow conv1", r"unknown kind 'grow'"),
])
def test_a_text_no_site_describes_is_an_error_naming_it(text, match):
    with pytest.raises(ValueError, match=match):
        replay.rebuild([text])


def test_main_writes_retrain_test_and_checks_the_parameter_count(tmp_path, monkeypatch):
    trained = []
    monkeypatch.setattr(replay, "train_graph", lambda graph, budget, seed: (
        trained.append((graph.fingerprint(), budget, seed)) or 0.97 - seed / 100))
    best = {"number": 3, "edits": ["insert conv1->relu1 dropout"], "params": 5210.0,
            "retrain_test": 0.5}
    record = {"runs": [{"arm": "inherit", "seed": 0, "best": best},
                       {"arm": "scratch", "seed": 0, "best": dict(best, number=4)}]}
    path = tmp_path / "grow.json"
    path.write_text(json.dumps(record))
    out = replay.main([str(path), "--arms", "inherit", "--retrain", "20steps",
                       "--train-seeds", "0,2", "--out", str(tmp_path / "out.json")])
    assert [r["best"]["retrain_test"] for r in out["runs"]] == [0.97, 0.5]
    assert out["runs"][0]["best"]["retrain_seeds"] == {"0": 0.97, "2": 0.95}
    fp = replay.rebuild(best["edits"]).fingerprint()
    assert trained == [(fp, "20steps", 0), (fp, "20steps", 2)]
    assert json.loads((tmp_path / "out.json").read_text()) == out

    wrong = dict(record, runs=[{"arm": "inherit", "seed": 0, "best": dict(best, params=6000)}])
    path.write_text(json.dumps(wrong))
    with pytest.raises(ValueError, match="rebuilt with 5,210 parameters, recorded 6,000"):
        replay.main([str(path), "--out", str(tmp_path / "out.json")])
